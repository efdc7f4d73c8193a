"""Helpers for the channel tests: the bundled restaurant bot compiled once, a credentials file,
a real HTTP receiver for the callback channel, and a python-socketio client session."""
from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.shared_paths import ROOT

RESTAURANT = os.path.join(ROOT, "examples", "restaurant")
_BUILT: dict = {}


def restaurant_fsm(tmp_dir: str) -> str:
    if _BUILT.get("fsm") and os.path.exists(_BUILT["fsm"]):
        return _BUILT["fsm"]
    from formc.api import compile_project
    from formc.artifact import dump_machine
    machine, diagnostics = compile_project(RESTAURANT)
    assert machine is not None, [d.render() for d in diagnostics]
    out = os.path.join(tmp_dir, "restaurant.fsm")
    dump_machine(machine, out, root=RESTAURANT)
    _BUILT["fsm"] = out
    return out


def write(path, text: str) -> str:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return str(path)


class Receiver:
    """A real HTTP server on 127.0.0.1 collecting the JSON bodies POSTed to it; `delay`
    seconds before answering, `status` as the answer."""

    def __init__(self, delay: float = 0.0, status: int = 200) -> None:
        self.bodies: list = []
        self.queries: list = []
        self.delay, self.status = delay, status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size) or b"null")
                time.sleep(outer.delay)
                outer.bodies.append(body)
                outer.queries.append(self.path)
                self.send_response(outer.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, seconds: float = 15) -> list:
        deadline = time.time() + seconds
        while len(self.bodies) < count and time.time() < deadline:
            time.sleep(0.05)
        return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Raw:
    """A frame sent as it is (not wrapped into {"message": ..., "session_id": ...})."""

    def __init__(self, value) -> None:
        self.value = value


async def socket_turns(base: str, turns: list, session_id: str | None = "s-1",
                       user_evt: str = "user_uttered", bot_evt: str = "bot_uttered",
                       path: str = "/socket.io", transports=("websocket",), settle: float = 0.6,
                       metadata=None) -> dict:
    """Connect a python-socketio client, ask for a session, send each text and collect what
    the server emits (waiting `settle` s of quiet after each message)."""
    import socketio
    sio = socketio.AsyncClient(reconnection=False)
    got: dict = {"confirm": [], "bot": [], "per_turn": []}
    last = [time.monotonic()]

    @sio.on("session_confirm")
    async def confirm(data):
        got["confirm"].append(data)

    @sio.on(bot_evt)
    async def bot(data):
        got["bot"].append(data)
        last[0] = time.monotonic()

    await sio.connect(base, socketio_path=path, transports=list(transports), wait_timeout=10)
    got["sid"] = sio.get_sid()
    await sio.emit("session_request", {"session_id": session_id})
    await asyncio.sleep(0.3)
    for text in turns:
        before = len(got["bot"])
        frame = {"message": text, "session_id": session_id} if isinstance(text, str) else text
        frame = frame.value if isinstance(frame, Raw) else frame
        if metadata is not None and isinstance(text, str):
            frame["metadata"] = metadata
        await sio.emit(user_evt, frame)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if len(got["bot"]) > before and time.monotonic() - last[0] > settle:
                break
            if not isinstance(text, str) and time.monotonic() - last[0] > settle + 0.5:
                break
        got["per_turn"].append(got["bot"][before:])
    await sio.disconnect()
    return got
