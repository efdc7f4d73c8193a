"""The bot and its model: /, /version, /status, /domain, /model/parse, PUT /model (and the swap
of the served machine that PUT /model and the other workers' follow-up share)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import stat
import time
from typing import Any, Optional

from sanic import Blueprint, response

from .. import __version__
from ..artifact import load_machine as read_fsm
from ..errors import FormcError
from ..model import RASA_VERSION
from .errors import MIN_COMPATIBLE_VERSION, ApiError, bad_request, field, parse_json_object
from .http import guard, json_response, route_methods
from .turns import Bot

log = logging.getLogger("formc.server")


def freeze_heap() -> None:
    """Move everything loaded so far (the machine's NLU tables, Sanic, jinja2) out of the
    garbage collector's reach: a full collection over those tables costs ~10 ms, which a
    turn would otherwise pay every few dozen requests."""
    gc.collect()
    gc.freeze()


def _load(path: str) -> Any:
    """A .fsm file, or a bot directory compiled on the fly: the compiler (reader, NLU training,
    scipy) is imported only then, so serving a .fsm starts fast and small."""
    if os.path.isdir(path):
        from ..api import load
        return load(path)
    return read_fsm(path)


def load_machine(machine: Any) -> tuple[Any, str]:
    """A Machine as given, or one loaded from a .fsm path / compiled from a bot directory."""
    if not isinstance(machine, (str, os.PathLike)):
        return machine, getattr(machine, "name", "<machine>")
    path = os.fspath(machine)
    return _load(path), path


MAX_MODEL_BYTES = int(os.environ.get("FORMC_MAX_MODEL_BYTES", 512 * 1024 * 1024))


class ModelRefused(Exception):
    """PUT /model's file cannot be served (not a regular file, too big, damaged, ...)."""


def model_path(path: str, model_dir: Optional[str]) -> str:
    """The real path of a model to load: a regular file (.fsm) or a bot directory, inside
    `model_dir` when the server was started with --model-dir. Never opens the path, so a FIFO
    or a device cannot block the server."""
    real = os.path.realpath(path)
    if model_dir:
        root = os.path.realpath(model_dir)
        if os.path.commonpath([root, real]) != root:
            raise ModelRefused(f"model_file {path!r} is outside the server's --model-dir {model_dir}.")
    try:
        st = os.stat(real)
    except OSError as e:
        raise ModelRefused(f"model_file {path!r} does not exist on the server ({e.strerror}).") from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise ModelRefused(f"model_file {path!r} is not a regular file or a bot directory.")
    if stat.S_ISREG(st.st_mode) and st.st_size > MAX_MODEL_BYTES:
        raise ModelRefused(f"model_file {path!r} is {st.st_size:,} bytes; the server loads models "
                           f"of at most {MAX_MODEL_BYTES:,} bytes (FORMC_MAX_MODEL_BYTES).")
    return real


def _read_model(real: str) -> bytes:
    """The file's bytes, re-checked on the open descriptor (the path may have been swapped)."""
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelRefused(f"model_file {real!r} is not a regular file.")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_MODEL_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_MODEL_BYTES:
        raise ModelRefused(f"model_file {real!r} is over {MAX_MODEL_BYTES:,} bytes.")
    return data


def build_bot(path: str, endpoints: Optional[str], model_dir: Optional[str] = None) -> Bot:
    """Load (or compile) and check a model, ready to serve; runs in a worker thread. A .fsm
    must carry a matching artifact digest; the NLU is built and tried before it is served."""
    real, machine = checked_machine(path, model_dir)
    return Bot(machine, real, endpoints)


def checked_machine(path: str, model_dir: Optional[str] = None) -> tuple[str, Any]:
    """(real path, Machine) of a model file or bot directory, checked as build_bot says."""
    from ..artifact import artifact_digest, loads_machine
    real = model_path(path, model_dir)
    if os.path.isdir(real):
        machine = _load(real)
    else:
        data = _read_model(real)
        state = artifact_digest(data)
        if state != "ok":
            raise ModelRefused(f"model_file {path!r} could not be loaded: " + (
                "it was changed or cut after it was compiled (artifact digest mismatch)."
                if state == "mismatch" else "it has no artifact digest (not a machine file, "
                "or one written before formc kept it); recompile it with `formc compile`."))
        machine = loads_machine(data, path)
    return real, machine


async def swap_model(app, path: str, by: str = "") -> Any:
    """Serve the model at `path` from now on. Loading runs in a worker thread, one swap at a
    time; the old model keeps answering until the new one is proven (raises ModelRefused or
    FormcError, and then nothing changes)."""
    lock = getattr(app.ctx, "model_lock", None)
    if lock is None:
        lock = app.ctx.model_lock = asyncio.Lock()
    async with lock:
        bot = await asyncio.to_thread(build_bot, path, app.ctx.settings.endpoints,
                                      getattr(app.ctx, "model_dir", None))
        app.ctx.conversations.bot = bot
    freeze_heap()
    log.info(json.dumps({"event": "model_loaded", "path": bot.path, **({"by": by} if by else {})}))
    return bot.machine


async def follow_model(app) -> None:
    """Another worker swapped the model (PUT /model): load the same one here."""
    raw = await app.ctx.store.get_meta("model")
    if not raw:
        return
    wanted = json.loads(raw)
    bot = app.ctx.conversations.bot
    if wanted.get("at", 0) > bot.loaded_at and wanted.get("digest") != bot.machine.digest:
        await swap_model(app, wanted["path"], by="another worker")


def model_api() -> Blueprint:
    bp = Blueprint("formc_model")

    def route(path: str, *methods: str):
        return bp.route(path, methods=route_methods(*methods), strict_slashes=False)

    @route("/", "GET")
    async def root(request):
        return response.text(f"Hello from Rasa: {RASA_VERSION}")

    @route("/version", "GET")
    async def version(request):
        return json_response({"version": RASA_VERSION,
                              "minimum_compatible_version": MIN_COMPATIBLE_VERSION,
                              "formc": __version__})

    @route("/status", "GET")
    async def status(request):
        guard(request, admin=False)
        bot = request.app.ctx.conversations.bot
        store = request.app.ctx.settings.store_url.split("://")[0]
        return json_response({"model_file": bot.path, "model_id": bot.machine.digest,
                              "num_active_training_jobs": 0,
                              "formc": {"version": __version__, "bot": bot.machine.name,
                                        "store": store}})

    @route("/model/parse", "POST")
    async def parse(request):
        guard(request, admin=False)
        body = parse_json_object(request.body, '{"text": "hello"}')
        text = field(body, "text", (str,), required=True)
        return json_response(request.app.ctx.conversations.bot.machine.nlu.parse(text))

    @route("/model", "PUT")
    async def put_model(request):
        guard(request, admin=True)
        body = parse_json_object(request.body, '{"model_file": "bot.fsm"}')
        path = field(body, "model_file", (str,), required=True)
        if not path or "\0" in path:
            raise bad_request("model_file is not a usable path.", field="model_file")
        try:
            loaded = await swap_model(request.app, path)
        except ModelRefused as e:
            raise bad_request(str(e), field="model_file") from None
        except (FormcError, OSError, ValueError) as e:
            raise bad_request(f"model_file {path!r} could not be loaded: {e}",
                              field="model_file") from None
        await request.app.ctx.store.set_meta("model", json.dumps(
            {"path": request.app.ctx.conversations.bot.path, "digest": loaded.digest,
             "at": time.time()}))
        return response.empty(status=204)

    @route("/model/test/intents", "POST")
    async def test_intents(request):
        guard(request, admin=False)
        return json_response(await _test_intents(request))

    @route("/domain", "GET")
    async def domain(request):
        guard(request, admin=False)
        return _domain_response(request)

    return bp


def _domain_response(request):
    from ..runtime.tracker import domain_dict

    accept = request.headers.get("accept", "application/json")
    data = domain_dict(request.app.ctx.conversations.bot.machine.domain)
    if "yaml" in accept:
        import yaml
        return response.text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                             content_type="application/x-yaml")
    if "json" in accept or "*/*" in accept:
        return json_response(data)
    raise ApiError(406, "NotAcceptable", "Accept application/json or application/x-yaml.")


async def _test_intents(request) -> dict:
    """POST /model/test/intents (model_test.py): the served model's NLU, or ?model=PATH's (a
    .fsm or bot directory, checked and bounded as PUT /model's; loaded for this request only)."""
    from .model_test import evaluate_request, read_examples
    for option, why in (("cross_validation_folds", "run `formc nlu-eval --folds N` instead"),
                        ("callback_url", "the report is the answer to this request")):
        if request.args.get(option):
            raise bad_request(f"?{option} is not supported by formc serve: {why}.",
                              parameter=option, **{"in": "query"})
    # a large YAML body takes a while to read: off the event loop
    examples = await asyncio.to_thread(read_examples, request.body,
                                       request.headers.get("content-type", ""))
    machine = request.app.ctx.conversations.bot.machine
    path = request.args.get("model")
    if path:
        if "\0" in path:
            raise bad_request("model is not a usable path.", parameter="model")
        try:
            _real, machine = await asyncio.to_thread(checked_machine, path,
                                                     getattr(request.app.ctx, "model_dir", None))
        except ModelRefused as e:
            raise bad_request(str(e), parameter="model") from None
        except (FormcError, OSError, ValueError) as e:
            raise bad_request(f"model {path!r} could not be loaded: {e}", parameter="model") from None
    return await evaluate_request(machine.nlu, examples)
