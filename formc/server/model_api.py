"""The bot and its model: /, /version, /status, /domain, /model/parse, PUT /model (and the swap
of the served machine that PUT /model and the other workers' follow-up share)."""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from typing import Any

from sanic import Blueprint, response

from .. import __version__
from ..api import load
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


def load_machine(machine: Any) -> tuple[Any, str]:
    """A Machine as given, or one loaded from a .fsm path / compiled from a bot directory."""
    if not isinstance(machine, (str, os.PathLike)):
        return machine, getattr(machine, "name", "<machine>")
    path = os.fspath(machine)
    return load(path), path


def swap_model(app, path: str, by: str = "") -> Any:
    """Serve the machine at `path` from now on (raises FormcError when it does not load)."""
    loaded, path = load_machine(path)
    app.ctx.conversations.bot = Bot(loaded, path, app.ctx.settings.endpoints)
    freeze_heap()
    log.info(json.dumps({"event": "model_loaded", "path": path, **({"by": by} if by else {})}))
    return loaded


async def follow_model(app) -> None:
    """Another worker swapped the model (PUT /model): load the same one here."""
    raw = await app.ctx.store.get_meta("model")
    if not raw:
        return
    wanted = json.loads(raw)
    bot = app.ctx.conversations.bot
    if wanted.get("at", 0) > bot.loaded_at and wanted.get("digest") != bot.machine.digest:
        swap_model(app, wanted["path"], by="another worker")


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
        if not os.path.exists(path):
            raise bad_request(f"model_file {path!r} does not exist on the server.", field="model_file")
        try:
            loaded = swap_model(request.app, path)
        except FormcError as e:
            raise bad_request(f"model_file {path!r} could not be loaded: {e}",
                              field="model_file") from None
        await request.app.ctx.store.set_meta("model", json.dumps(
            {"path": os.path.abspath(path), "digest": loaded.digest, "at": time.time()}))
        return response.empty(status=204)

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
