"""The HTTP server: a machine + a store URL -> a Sanic app speaking Rasa's REST channel and HTTP API.

`create_app(...)` builds one app (no module-level app, so tests and Sanic's worker processes
each get their own); `serve_command(args)` is `formc serve`. Routes, auth, CORS and error
rendering live here; turns run in `server_turns.Conversations`, errors are shaped by
`server_errors`.
"""
from __future__ import annotations

import asyncio
import gc
import hmac
import itertools
import json
import logging
import os
import re
import sys
import time
from typing import Any, Iterable, Optional, Union
from urllib.parse import unquote

from sanic import Sanic, response
from sanic.exceptions import SanicException

from .. import __version__
from ..api import load
from ..model import RASA_VERSION
from .errors import (MIN_COMPATIBLE_VERSION, ApiError, bad_request,
                            error_body, event_problem, field, parse_json_object, parse_json_value)
from ..stores import StoreError, open_store
from .turns import Bot, Conversations

log = logging.getLogger("formc.server")
_app_ids = itertools.count(1)
INCLUDE_EVENTS = ("AFTER_RESTART", "ALL", "APPLIED", "NONE")
ADMIN_HINT = ("Start the server with --auth-token TOKEN and pass ?token=TOKEN to use the "
              "endpoints that change conversations or the model.")


def parse_size(text: Union[str, int]) -> int:
    """'1MB' / '512kb' / '2000' -> bytes."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)\s*", str(text), re.I)
    if not m:
        raise ValueError(f"size {text!r} not understood; use e.g. 1MB, 512KB or 100000")
    unit = m.group(2).lower().rstrip("b").rstrip("i")
    return int(float(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit])


def _load_machine(machine: Any) -> tuple[Any, str]:
    if not isinstance(machine, (str, os.PathLike)):
        return machine, getattr(machine, "name", "<machine>")
    path = os.fspath(machine)
    return load(path), path


def _json(data: Any, status: int = 200, headers: Optional[dict] = None):
    return response.json(data, status=status, headers=headers, ensure_ascii=False)


def create_app(machine: Any, store_url: str = "sqlite:///formc.db", auth_token: Optional[str] = None,
               cors: Iterable[str] = (), endpoints: Optional[str] = None,
               max_body: Union[str, int] = "1MB", debug: bool = False, trace_limit: int = 20,
               reminder_interval: float = 1.0, workers: int = 1) -> Sanic:
    """One Sanic app serving `machine` (a Machine, a .fsm path or a bot directory)."""
    loaded, model_path = _load_machine(machine)
    bot = Bot(loaded, model_path, endpoints)
    store = open_store(store_url, keep={"events": bot.agent.history_limit, "trace": trace_limit})
    if workers > 1 and not store.shared:
        raise StoreError(f"the store {store_url} lives inside one process and cannot be shared "
                         f"by {workers} workers; use sqlite:///FILE or redis://HOST:PORT/DB")
    # Sanic's worker processes look the app up by the primary's name: the first app of a
    # process is always "formc"; further ones (tests building several apps) get a suffix.
    name = "formc" if "formc" not in Sanic._app_registry else f"formc_{next(_app_ids)}"
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = parse_size(max_body)
    app.config.ACCESS_LOG = False
    app.config.MOTD = False
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 5.0   # turns take milliseconds; do not hang a stop
    app.config.FALLBACK_ERROR_FORMAT = "json"
    origins = tuple(cors or ())
    conv = Conversations(store, bot, debug)
    app.ctx.conversations = conv
    app.ctx.store = store
    app.ctx.store_url = store_url

    # ------------------------------------------------------------ lifecycle

    @app.before_server_start
    async def _open(app_):
        await store.open()
        _freeze_heap()
        app_.ctx.ticker = asyncio.ensure_future(_tick(app_))

    @app.before_server_stop
    async def _stop(app_):
        ticker = getattr(app_.ctx, "ticker", None)
        if ticker:
            ticker.cancel()
        await conv.drain()

    @app.after_server_stop
    async def _close(app_):
        await conv.drain()
        await store.close()

    async def _tick(app_):
        """Background work per worker: due reminders, model swaps by other workers, expiry."""
        while True:
            await asyncio.sleep(reminder_interval)
            try:
                await conv.fire_due()
                await _follow_model()
                await store.purge_expired()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background tick failed")

    async def _follow_model():
        raw = await store.get_meta("model")
        if not raw:
            return
        wanted = json.loads(raw)
        bot = conv.bot
        if wanted.get("at", 0) > bot.loaded_at and wanted.get("digest") != bot.machine.digest:
            loaded_, path_ = _load_machine(wanted["path"])
            conv.bot = Bot(loaded_, path_, endpoints)
            _freeze_heap()
            log.info(json.dumps({"event": "model_loaded", "path": path_, "by": "another worker"}))

    # ------------------------------------------------------------ auth, CORS, errors

    def guard(request, admin: bool) -> None:
        if auth_token is not None:
            given = request.args.get("token")
            if given is None or not hmac.compare_digest(given.encode(), auth_token.encode()):
                raise ApiError(401, "NotAuthenticated",
                               "User is not authenticated: pass the server's token as ?token=.",
                               help="The server was started with --auth-token.")
        elif admin:
            raise ApiError(403, "NotAuthorized",
                           "This endpoint changes conversations or the model and is disabled "
                           "because the server runs without an auth token.", help=ADMIN_HINT)

    def checked_id(request, conversation_id: str, admin: bool) -> str:
        """A conversation route's id, once the request may use the route (Sanic leaves path
        parameters quoted)."""
        guard(request, admin)
        return unquote(conversation_id)

    def cors_headers(request) -> dict:
        if not origins:
            return {}
        origin = request.headers.get("origin")
        if "*" in origins:
            return {"Access-Control-Allow-Origin": "*"}
        if origin and origin in origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                    "Access-Control-Allow-Credentials": "true"}
        return {}

    @app.on_request
    async def _preflight(request):
        if request.method != "OPTIONS":
            return None
        if not origins:
            return _json(error_body(405, "MethodNotAllowed", "OPTIONS is only answered when the "
                                    "server is started with --cors ORIGIN."), status=405)
        headers = cors_headers(request)
        headers.update({
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": request.headers.get(
                "access-control-request-headers", "Content-Type, Authorization"),
            "Access-Control-Max-Age": "600"})
        return response.empty(status=204, headers=headers)

    @app.on_response
    async def _cors(request, resp):
        if origins and request.method != "OPTIONS":
            for k, v in cors_headers(request).items():
                resp.headers[k] = v

    def on_error(request, exc):
        if isinstance(exc, ApiError):
            body = error_body(exc.status, exc.reason, exc.message, exc.details, exc.help)
            status = exc.status
        elif isinstance(exc, SanicException) and exc.status_code < 500:
            status = exc.status_code
            reason = type(exc).__name__
            message = str(exc) or reason
            if status == 404:
                message = f"No route for {request.method} {request.path}. {message}"
            elif status == 413:
                message = (f"The request body is larger than the server's limit of "
                           f"{app.config.REQUEST_MAX_SIZE:,} bytes (formc serve --max-body).")
            body = error_body(status, reason, message)
        elif isinstance(exc, StoreError):
            log.error("store error: %s", exc)
            status = 503
            body = error_body(503, "StoreUnavailable", str(exc))
        else:
            log.exception("bug while handling %s %s", request.method, request.path,
                          exc_info=exc)
            status = 500
            body = error_body(500, "InternalError", f"Internal error ({type(exc).__name__}); "
                              "the conversation was not changed. See the server log.")
        return _json(body, status=status, headers=cors_headers(request) if request else None)

    app.error_handler.add(Exception, on_error)

    def route(path: str, *methods: str):
        return app.route(path, methods=[*methods, "OPTIONS"], strict_slashes=False)

    # ------------------------------------------------------------ chat endpoints

    @route("/", "GET")
    async def root(request):
        return response.text(f"Hello from Rasa: {RASA_VERSION}")

    @route("/version", "GET")
    async def version(request):
        return _json({"version": RASA_VERSION, "minimum_compatible_version": MIN_COMPATIBLE_VERSION,
                      "formc": __version__})

    @route("/status", "GET")
    async def status(request):
        guard(request, admin=False)
        bot = conv.bot
        return _json({"model_file": bot.path, "model_id": bot.machine.digest,
                      "num_active_training_jobs": 0,
                      "formc": {"version": __version__, "bot": bot.machine.name,
                                "store": store_url.split("://")[0]}})

    @route("/webhooks/rest", "GET")
    async def rest_health(request):
        return _json({"status": "ok"})

    @route("/webhooks/rest/webhook", "POST")
    async def webhook(request):
        body = parse_json_object(request.body, '{"sender": "user-1", "message": "hello"}')
        sender = field(body, "sender", (str, int), default="default")
        sender = str(sender)
        if not sender:
            raise bad_request("The field 'sender' is empty; give the conversation id.", field="sender")
        text = field(body, "message", (str,), required=True)
        metadata = field(body, "metadata", (dict,))
        channel = field(body, "input_channel", (str,), default="rest") or "rest"

        async def step(bot, session):
            return await bot.agent.handle_message(session, sender, text.strip(), metadata=metadata,
                                                  input_channel=channel)

        result = await conv.run(sender, "message", step)
        return _json(_rest_messages(result.messages, sender))

    # ------------------------------------------------------------ HTTP API

    def include_events(request) -> str:
        value = (request.args.get("include_events") or "AFTER_RESTART").upper()
        if value not in INCLUDE_EVENTS:
            raise bad_request(f"include_events={request.args.get('include_events')!r} is not one of "
                              f"{', '.join(INCLUDE_EVENTS)}.", parameter="include_events")
        return value

    @route("/conversations/<conversation_id:path>/tracker", "GET")
    async def tracker(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=False)
        events = include_events(request)
        bot, session = await conv.load_session(conversation_id)
        return _json(bot.agent.tracker_state(session, events, sender_id=conversation_id))

    @route("/conversations/<conversation_id:path>/trace", "GET")
    async def trace(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=False)
        traces = await conv.traces(conversation_id)
        if traces is None:
            raise ApiError(404, "NotFound", f"No stored conversation {conversation_id!r}.")
        limit = request.args.get("limit")
        if limit is not None:
            if not limit.isdigit():
                raise bad_request(f"limit={limit!r} is not a non-negative integer.", parameter="limit")
            traces = traces[-int(limit):] if int(limit) else []
        return _json({"sender_id": conversation_id, "turns": traces})

    @route("/conversations/<conversation_id:path>/messages", "POST")
    async def add_message(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        events = include_events(request)
        body = parse_json_object(request.body, '{"text": "hello", "sender": "user"}')
        text = field(body, "text", (str,), required=True)
        author = field(body, "sender", (str,), default=None)
        if author != "user":   # Rasa's own check and message (`sender` is required)
            raise bad_request("Currently, only user messages can be passed to this endpoint. "
                              f"Messages of sender '{author}' cannot be handled.",
                              parameter="sender", **{"in": "body"})
        parse_data = field(body, "parse_data", (dict,))

        async def step(bot, session):
            return bot.agent.add_user_message_only(session, conversation_id, text,
                                                   parse_data=parse_data)

        result = await conv.run(conversation_id, "add_message", step)
        return _json(conv.bot.agent.tracker_state(result.session, events, reloaded=False))

    @route("/conversations/<conversation_id:path>/trigger_intent", "POST")
    async def trigger_intent(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        events = include_events(request)
        body = parse_json_object(request.body, '{"name": "EXTERNAL_reminder", "entities": {}}')
        name = field(body, "name", (str,), required=True)
        entities = field(body, "entities", (dict, list), default=None)
        if name not in conv.bot.machine.domain.intent_names():
            raise ApiError(404, "NotFound", f"The intent {name!r} is not in the domain.",
                           {"intent": name})

        async def step(bot, session):
            return await bot.agent.trigger_intent(session, conversation_id, name, entities)

        result = await conv.run(conversation_id, "trigger_intent", step)
        # Only the REST (collecting) output channel exists here, so messages are always returned.
        tracker = conv.bot.agent.tracker_state(result.session, events, reloaded=False)
        return _json({"tracker": tracker,
                      "messages": _rest_messages(result.messages, conversation_id)})

    @route("/conversations/<conversation_id:path>/tracker/events", "POST")
    async def append_events(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        events_mode = include_events(request)
        posted = parse_json_value(request.body, '[{"event": "slot", "name": "x", "value": 1}]')
        posted = posted if isinstance(posted, list) else [posted]
        for i, ev in enumerate(posted):
            problem = event_problem(ev)
            if problem:
                raise bad_request(f"Event {i} {problem}.", event=i)

        async def step(bot, session):
            return bot.agent.append_events(session, conversation_id, posted)

        result = await conv.run(conversation_id, "append_events", step)
        return _json(conv.bot.agent.tracker_state(result.session, events_mode))

    @route("/conversations/<conversation_id:path>/predict", "POST")
    async def predict(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        events_mode = include_events(request)
        bot, session = await conv.load_session(conversation_id)
        if not session.started:
            raise ApiError(404, "NotFound", f"No conversation with id {conversation_id!r}.",
                           {"conversation_id": conversation_id})
        return _json({**bot.agent.predict_next(session, conversation_id),
                      "tracker": bot.agent.tracker_state(session, events_mode)})

    @route("/model/parse", "POST")
    async def parse(request):
        guard(request, admin=False)
        body = parse_json_object(request.body, '{"text": "hello"}')
        text = field(body, "text", (str,), required=True)
        return _json(conv.bot.machine.nlu.parse(text))

    @route("/model", "PUT")
    async def put_model(request):
        guard(request, admin=True)
        body = parse_json_object(request.body, '{"model_file": "bot.fsm"}')
        path = field(body, "model_file", (str,), required=True)
        if not os.path.exists(path):
            raise bad_request(f"model_file {path!r} does not exist on the server.", field="model_file")
        from ..errors import FormcError
        try:
            loaded_, path_ = _load_machine(path)
        except FormcError as e:
            raise bad_request(f"model_file {path!r} could not be loaded: {e}",
                              field="model_file") from None
        conv.bot = Bot(loaded_, path_, endpoints)
        _freeze_heap()
        await store.set_meta("model", json.dumps({"path": os.path.abspath(path_),
                                                  "digest": loaded_.digest, "at": time.time()}))
        log.info(json.dumps({"event": "model_loaded", "path": path_}))
        return response.empty(status=204)

    @route("/domain", "GET")
    async def domain(request):
        guard(request, admin=False)
        accept = request.headers.get("accept", "application/json")
        data = _domain_dict(conv.bot.machine)
        if "yaml" in accept:
            import yaml
            return response.text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                                 content_type="application/x-yaml")
        if "json" in accept or "*/*" in accept:
            return _json(data)
        raise ApiError(406, "NotAcceptable", "Accept application/json or application/x-yaml.")

    from .chatpage import register_chat_routes   # /chat: the browser page (formc/chatpage.py)
    register_chat_routes(app, lambda: conv.bot.machine, auth_token)
    return app


def _freeze_heap() -> None:
    """Move everything loaded so far (the machine's NLU tables, Sanic, jinja2) out of the
    garbage collector's reach: a full collection over those tables costs ~10 ms, which a
    turn would otherwise pay every few dozen requests."""
    gc.collect()
    gc.freeze()


def _rest_messages(messages: list, recipient_id: str) -> list:
    from ..runtime.responses import to_rest_messages
    out: list = []
    for message in messages or ():
        out.extend(to_rest_messages(message, recipient_id))
    return out


def _domain_dict(machine: Any) -> dict:
    from ..runtime.tracker import domain_dict
    return domain_dict(machine.domain)


# ---------------------------------------------------------------- formc serve

def _setup_logging(debug: bool) -> None:
    root = logging.getLogger("formc")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
        root.propagate = False
    # One JSON line per turn by default; FORMC_LOG_TURNS=0 silences them (errors still show).
    quiet = os.environ.get("FORMC_LOG_TURNS", "1") == "0" and not debug
    root.setLevel(logging.WARNING if quiet else logging.INFO)


def serve_command(args) -> int:
    """`formc serve`: validate everything in the main process, then serve: in this process, or
    in `--workers N` forked processes (formc.server.workers)."""
    from .workers import bind_listener, run_workers

    store_url = args.store
    if getattr(args, "record_exp", None):
        store_url += ("&" if "?" in store_url else "?") + f"record_exp={args.record_exp}"
    workers = max(1, int(getattr(args, "workers", 1) or 1))
    try:
        parse_size(args.max_body)
    except ValueError as e:
        print(f"formc serve: {e}", file=sys.stderr)
        return 2
    _setup_logging(args.debug)
    try:
        app = create_app(args.machine, store_url=store_url, auth_token=args.auth_token,
                         cors=tuple(args.cors or ()), endpoints=args.endpoints,
                         max_body=args.max_body, debug=args.debug, workers=workers)
        asyncio.run(_check_store(app.ctx.store))
    except (StoreError, OSError) as e:
        print(f"formc serve: {e}", file=sys.stderr)
        return 1
    try:   # bound before anything is announced: an address in use is a one-line error
        sock = bind_listener(args.host, args.port, reuse_port=workers > 1)
    except OSError as e:
        print(f"formc serve: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    print(f"formc {__version__}: serving {args.machine} on http://{args.host}:{args.port} "
          f"(store {store_url.split('?')[0]}, {workers} worker(s))", file=sys.stderr, flush=True)

    def serve(sock) -> None:
        app.run(sock=sock, single_process=True, access_log=False, motd=False, debug=False)
    if workers == 1:
        serve(sock)
        return 0
    sock.close()   # each worker binds its own SO_REUSEPORT socket
    _freeze_heap()   # the forked workers start out sharing the loaded machine's pages
    return run_workers(serve, args.host, args.port, workers)


async def _check_store(store) -> None:
    await store.open()
    await store.close()
