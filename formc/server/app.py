"""The HTTP server: a machine + a store URL -> a Sanic app speaking Rasa's REST channel and HTTP API.

`create_app(...)` builds one app (no module-level app, so tests and Sanic's worker processes
each get their own) from the blueprints: rest (the REST channel), conversations (the
conversation API), model_api (status, parse, PUT /model, domain) and the /chat page; CORS and
error rendering come from middleware, turns run in `turns.Conversations`.
`serve_command(args)` is `formc serve`.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import sys
from typing import Any, Iterable, Optional, Union

from sanic import Sanic

from .. import __version__
from ..stores import StoreError, open_store
from .channels import add_channels, push
from .chatpage import register_chat_routes
from .conversations import conversation_api
from .history_routes import refuse_without_model, reloaded_model
from .http import Settings
from .metrics import Metrics, instrument, metrics_api
from .middleware import add_cors, on_error
from .model_api import follow_model, freeze_heap, load_machine, model_api
from .openapi import openapi_api
from .rest import rest_channel
from .turns import Bot, Conversations
from ..stores.base import parse_retention

log = logging.getLogger("formc.server")
#: As Rasa's SQL tracker store with dialect sqlite: a file in the server's working directory.
DEFAULT_STORE = "sqlite:///formc.db"
_app_ids = itertools.count(1)


def parse_size(text: Union[str, int]) -> int:
    """'1MB' / '512kb' / '2000' -> bytes."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)\s*", str(text), re.I)
    if not m:
        raise ValueError(f"size {text!r} not understood; use e.g. 1MB, 512KB or 100000")
    unit = m.group(2).lower().rstrip("b").rstrip("i")
    return int(float(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit])


def create_app(machine: Any, store_url: str = DEFAULT_STORE, auth_token: Optional[str] = None,
               cors: Iterable[str] = (), endpoints: Optional[str] = None,
               max_body: Union[str, int] = "1MB", debug: bool = False, trace_limit: int = 20,
               reminder_interval: float = 1.0, workers: int = 1, channels: Iterable[Any] = (),
               models: Optional[dict] = None) -> Sanic:
    """One Sanic app serving `machine` (a Machine, a .fsm path or a bot directory)."""
    loaded, model_path = load_machine(machine)
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
    app.ctx.settings = Settings(store_url, auth_token, tuple(cors or ()), endpoints)
    app.ctx.conversations = Conversations(store, bot, debug)
    app.ctx.store = store
    app.ctx.store_url = store_url
    _add_lifecycle(app, reminder_interval)
    add_cors(app)
    app.register_middleware(refuse_without_model, "request")    # after DELETE /model
    app.register_middleware(reloaded_model, "response")
    app.error_handler.add(Exception, on_error)
    for blueprint in (model_api(), rest_channel(), conversation_api()):
        app.blueprint(blueprint)
    register_chat_routes(app, lambda: app.ctx.conversations.bot.machine, auth_token)
    add_channels(app, channels)
    app.ctx.metrics = Metrics()
    instrument(app.ctx.conversations, app.ctx.metrics)
    app.blueprint(metrics_api())
    app.blueprint(openapi_api())
    app.ctx.conversations.on_push = lambda sender, session, messages: push(
        app, sender, session, messages)
    app.ctx.models = models
    return app


def _add_lifecycle(app: Sanic, reminder_interval: float) -> None:
    """Open the store before serving, a background tick per worker, drain turns on stop."""
    @app.before_server_start
    async def _open(app_):
        await app_.ctx.store.open()
        freeze_heap()
        app_.ctx.ticker = asyncio.ensure_future(_tick(app_, reminder_interval))
        if app_.ctx.models:   # endpoints.yml models: pull from the model server (model_pull)
            from .model_pull import pull_loop
            app_.ctx.puller = asyncio.ensure_future(pull_loop(app_, app_.ctx.models))

    @app.before_server_stop
    async def _stop(app_):
        for task in (getattr(app_.ctx, "ticker", None), getattr(app_.ctx, "puller", None)):
            if task:
                task.cancel()
        await app_.ctx.conversations.drain()

    @app.after_server_stop
    async def _close(app_):
        await app_.ctx.conversations.drain()
        await app_.ctx.store.close()


async def _tick(app: Sanic, interval: float) -> None:
    """Background work per worker: due reminders, model swaps by other workers, expiry."""
    while True:
        await asyncio.sleep(interval)
        try:
            await app.ctx.conversations.fire_due()
            await follow_model(app)
            await app.ctx.store.purge_expired()
        except asyncio.CancelledError:
            raise
        except StoreError as e:   # an outage: one line per tick, the next tick tries again
            log.error("background tick: store unavailable: %s", e)
        except Exception:
            log.exception("background tick failed")


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


def _beside_bot(machine: str, given: Optional[str], name: str) -> Optional[str]:
    """A --credentials/--endpoints flag, or the bot directory's own file (as `rasa run`)."""
    if given:
        return given
    candidate = os.path.join(machine, name)
    return candidate if os.path.isdir(machine) and os.path.isfile(candidate) else None


def resolve_deployment(args) -> dict:
    """Flags + credentials.yml + endpoints.yml -> create_app's deployment arguments and the
    startup notes; flags win over the files. Raises FormcError (file:line) or OSError."""
    from ..reader.deploy import Deployment, read_credentials_with_notes, read_deployment
    credentials = _beside_bot(args.machine, getattr(args, "credentials", None), "credentials.yml")
    endpoints = _beside_bot(args.machine, args.endpoints, "endpoints.yml")
    channels, notes = read_credentials_with_notes(credentials) if credentials else ([], [])
    deployment = read_deployment(endpoints) if endpoints else Deployment()
    store_url = args.store or deployment.store_url or DEFAULT_STORE
    if getattr(args, "record_exp", None):
        store_url += ("&" if "?" in store_url else "?") + f"record_exp={args.record_exp}"
    notes += deployment.notes
    if args.store and deployment.store_url:
        notes.append(f"--store {args.store.split('?')[0]} wins over tracker_store in {endpoints}")
    if credentials:
        names = ", ".join(["rest"] + [c.name for c in channels if c.name != "rest"])
        notes.append(f"channels from {credentials}: {names}")
    return {"store_url": store_url, "endpoints": endpoints, "channels": channels,
            "models": deployment.models, "notes": notes}


def serve_command(args) -> int:
    """`formc serve`: validate everything in the main process, then serve: in this process, or
    in `--workers N` forked processes (formc.server.workers)."""
    from ..errors import FormcError
    from .workers import bind_listener, run_workers

    workers = max(1, int(getattr(args, "workers", 1) or 1))
    try:
        parse_size(args.max_body)
        retain = parse_retention(getattr(args, "keep_events", "all"))   # --keep-events
    except ValueError as e:
        print(f"formc serve: {e}", file=sys.stderr)
        return 2
    _setup_logging(args.debug)
    try:
        deploy = resolve_deployment(args)
        app = create_app(args.machine, store_url=deploy["store_url"], auth_token=args.auth_token,
                         cors=tuple(args.cors or ()), endpoints=deploy["endpoints"],
                         max_body=args.max_body, debug=args.debug, workers=workers,
                         channels=deploy["channels"], models=deploy["models"])
        app.ctx.model_dir = getattr(args, "model_dir", None)   # PUT /model loads only below it
        app.ctx.store.retain = retain
        asyncio.run(_check_store(app.ctx.store))
    except FormcError as e:
        print("\n".join(d.render() for d in e.diagnostics), file=sys.stderr)
        return 1
    except (StoreError, OSError) as e:
        print(f"formc serve: {e}", file=sys.stderr)
        return 1
    try:   # bound before anything is announced: an address in use is a one-line error
        sock = bind_listener(args.host, args.port, reuse_port=workers > 1)
    except OSError as e:
        print(f"formc serve: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    _announce(args, deploy, app, workers)

    def serve(sock) -> None:
        app.run(sock=sock, single_process=True, access_log=False, motd=False, debug=False)
    if workers == 1:
        serve(sock)
        return 0
    sock.close()   # each worker binds its own SO_REUSEPORT socket
    freeze_heap()   # the forked workers start out sharing the loaded machine's pages
    return run_workers(serve, args.host, args.port, workers)


def _announce(args, deploy: dict, app: Sanic, workers: int) -> None:
    store = deploy["store_url"].split("?")[0]
    if store.startswith("sqlite:///"):
        store = "sqlite:///" + os.path.abspath(store[len("sqlite:///"):])
    for note in deploy["notes"] + startup_warnings(app):
        print(f"formc serve: {note}", file=sys.stderr)
    print(f"formc {__version__}: serving {args.machine} on http://{args.host}:{args.port} "
          f"(store {store}, {workers} worker(s))", file=sys.stderr, flush=True)


def startup_warnings(app: Sanic) -> list[str]:
    """One line when the action server is unreachable and the bot has custom actions."""
    from .probes import action_server_warning
    line = action_server_warning(app.ctx.conversations.bot)
    return [line] if line else []


async def _check_store(store) -> None:
    await store.open()
    await store.close()
