"""endpoints.yml `models:` as Rasa's model server: GET url every wait_time_between_pulls seconds
with If-None-Match: <last ETag>; 304/204 -> nothing new; 200 -> a .fsm swapped in (swap_model:
checked first, conversations kept). Every body is bounded in size and time; a bad one is one
log line and the current machine keeps serving."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from typing import Any, Optional

from .model_api import MAX_MODEL_BYTES, ModelRefused, swap_model

log = logging.getLogger("formc.server")
PULL_TIMEOUT = 60.0


def _problem(message: str, url: str) -> None:
    log.warning(json.dumps({"event": "model_pull", "url": url, "error": message}))


async def pull_loop(app: Any, models: dict) -> None:
    """Pull now, then every wait_time_between_pulls seconds (only once when it is null/0)."""
    etag: Optional[str] = None
    wait = models.get("wait_time_between_pulls")
    while True:
        try:
            etag = await pull_once(app, models, etag)
        except asyncio.CancelledError:
            raise
        except Exception as e:   # one line per fault; the loop goes on
            _problem(f"{type(e).__name__}: {e}", models["url"])
        if not wait:
            return
        await asyncio.sleep(float(wait))


async def _fetch(models: dict, etag: Optional[str]) -> tuple[int, Optional[str], bytes]:
    import aiohttp
    headers = {"If-None-Match": etag} if etag else {}
    params = {"token": str(models["token"])} if models.get("token") else {}
    timeout = aiohttp.ClientTimeout(total=PULL_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(models["url"], headers=headers, params=params) as resp:
            if resp.status != 200:
                return resp.status, resp.headers.get("ETag"), b""
            return 200, resp.headers.get("ETag"), await _bounded_body(resp)


async def _bounded_body(resp: Any) -> bytes:
    """The whole body, or its first MAX_MODEL_BYTES + 1 bytes (the caller refuses those)."""
    chunks, total = [], 0
    async for chunk in resp.content.iter_chunked(1 << 16):
        chunks.append(chunk)
        total += len(chunk)
        if total > MAX_MODEL_BYTES:
            break
    return b"".join(chunks)


async def pull_once(app: Any, models: dict, etag: Optional[str]) -> Optional[str]:
    """One pull; returns the ETag to send next time (unchanged when nothing was swapped in)."""
    url = models["url"]
    try:
        status, new_etag, body = await _fetch(models, etag)
    except (OSError, asyncio.TimeoutError) as e:
        _problem(f"model server not reachable: {type(e).__name__}: {e}", url)
        return etag
    if status in (204, 304):
        return etag
    if status != 200:
        _problem(f"model server answered HTTP {status}; keeping the current model", url)
        return etag
    if len(body) > MAX_MODEL_BYTES:
        _problem(f"model is over {MAX_MODEL_BYTES:,} bytes (FORMC_MAX_MODEL_BYTES); "
                 "keeping the current model", url)
        return etag
    if not body.lstrip()[:1] == b"{":
        kind = "a gzip archive (a Rasa model?)" if body[:2] == b"\x1f\x8b" else "not JSON"
        _problem(f"the model server sent {kind}, not a formc .fsm; keeping the current model", url)
        return etag
    await _swap_in(app, body, url)
    return new_etag


async def _swap_in(app: Any, body: bytes, url: str) -> None:
    folder = getattr(app.ctx, "pull_dir", None)
    if folder is None:
        folder = app.ctx.pull_dir = tempfile.mkdtemp(prefix="formc-models-")
    path = os.path.join(folder, "pulled.fsm")
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(body)
    os.replace(tmp, path)
    try:
        await swap_model(app, path, by="model server")
    except (ModelRefused, ValueError, KeyError, TypeError) as e:
        _problem(f"the pulled model was refused: {e}; keeping the current model", url)
    except Exception as e:   # FormcError and the loader's other refusals
        _problem(f"the pulled model was refused: {type(e).__name__}: {str(e)[:300]}; "
                 "keeping the current model", url)
