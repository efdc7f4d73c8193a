"""Rasa's socketio channel (SocketIOInput) on the server's own Sanic app with python-socketio:
`session_request` -> `session_confirm`, the user's `user_message_evt` -> a turn -> the bot's
messages emitted as `bot_message_evt`, shaped as Rasa's SocketIOOutput shapes them."""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Optional

from sanic import Sanic, response

from ..errors import MAX_TEXT_CHARS   # the HTTP routes' bound on a message text

log = logging.getLogger("formc.channels")


def _split(text: Any) -> list[str]:
    return str(text).strip().split("\n\n")


def _with_buttons(text: Any, buttons: list) -> list[dict]:
    """Text parts, the buttons as quick_replies on the last one (SocketIOOutput)."""
    parts: list[dict] = [{"text": part, "quick_replies": []} for part in _split(text or "")]
    parts[-1]["quick_replies"] = [{"content_type": "text", "title": b.get("title"),
                                   "payload": b.get("payload")}
                                  for b in buttons if isinstance(b, dict)]
    return parts


def socket_messages(bot: dict) -> list[tuple[str, Any]]:
    """One bot message -> [(kind, data)] in Rasa's order; kind 'custom' carries the custom
    payload, which Rasa passes to emit() as keyword arguments."""
    out: list[tuple[str, Any]] = []
    text, image, attachment = bot.get("text"), bot.get("image"), bot.get("attachment")
    if attachment == image:   # formc copies the image into attachment; Rasa's message has one
        attachment = None
    if bot.get("quick_replies") or bot.get("buttons"):
        out += [("message", m) for m in _with_buttons(text, bot.get("quick_replies") or bot["buttons"])]
    elif text:
        out += [("message", {"text": part}) for part in _split(text)]
    if bot.get("custom"):
        out.append(("custom", bot["custom"]))
    if image:
        out.append(("message", {"attachment": {"type": "image", "payload": {"src": image}}}))
    if attachment:
        out.append(("message", {"attachment": attachment}))
    for element in bot.get("elements") or ():
        out.append(("message", {"attachment": {"type": "template", "payload": {
            "template_type": "generic", "elements": element}}}))
    return out


class SocketIOChannel:
    name = "socketio"
    collecting = False

    def __init__(self, app: Sanic, options: dict) -> None:
        import socketio
        self.app = app
        self.user_evt = options["user_message_evt"]
        self.bot_evt = options["bot_message_evt"]
        self.namespace = options.get("namespace")
        self.persistence = bool(options.get("session_persistence"))
        self.metadata_key = options.get("metadata_key") or "metadata"
        path = "/" + str(options.get("socketio_path") or "/socket.io").strip("/")
        self.path = path
        # cors_allowed_origins=[]: as Rasa, leave CORS to the app's own CORS handling.
        self.sio = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins=[],
                                        max_http_buffer_size=app.config.REQUEST_MAX_SIZE,
                                        logger=False, engineio_logger=False)
        self.sio.attach(app, path)

        async def health(request):   # Rasa answers {"status": "ok"} at /webhooks/socketio/
            return response.json({"status": "ok"})
        app.add_route(health, "/webhooks/socketio", methods=["GET"], strict_slashes=False,
                      name="formc_socketio_health")
        self._register()

    def _register(self) -> None:
        sio, ns = self.sio, self.namespace

        @sio.on("connect", namespace=ns)
        async def connect(sid, environ, auth=None):
            return True

        @sio.on("session_request", namespace=ns)
        async def session_request(sid, data=None):
            data = data if isinstance(data, dict) else {}
            if not data.get("session_id") or not isinstance(data["session_id"], str):
                data["session_id"] = uuid.uuid4().hex
            if self.persistence:
                await sio.enter_room(sid, data["session_id"], namespace=ns)
            await sio.emit("session_confirm", data["session_id"], room=sid, namespace=ns)

        @sio.on(self.user_evt, namespace=ns)
        async def user_message(sid, data=None):
            await self.on_message(sid, data)

    def _bad_frame(self, sid: str, problem: str) -> None:
        log.warning(json.dumps({"channel": "socketio", "sid": sid, "error": problem}))

    async def on_message(self, sid: str, data: Any) -> None:
        if not isinstance(data, dict):
            return self._bad_frame(sid, f"'{self.user_evt}' needs an object with 'message', "
                                        f"got {type(data).__name__}; ignored")
        sender = sid
        if self.persistence:
            sender = data.get("session_id")
            if not sender or not isinstance(sender, str):
                return self._bad_frame(sid, "a message without a valid session_id was received "
                                            "(send session_request first); ignored")
        text = data.get("message", "")
        if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
            return self._bad_frame(sid, "'message' must be a string of at most "
                                        f"{MAX_TEXT_CHARS} characters; ignored")
        metadata = self._metadata(sid, data.get(self.metadata_key, {}))

        async def step(bot, session):
            return await bot.agent.handle_message(session, sender, text.strip(), metadata=metadata,
                                                  input_channel="socketio")
        try:
            result = await self.app.ctx.conversations.run(sender, "message", step)
        except Exception as e:   # e.g. the store is down: the client hears nothing, as in Rasa
            return self._bad_frame(sid, f"turn of {sender!r} failed: {type(e).__name__}: {e}")
        await self.push(sender, result.messages)

    def _metadata(self, sid: str, metadata: Any) -> Optional[dict]:
        if isinstance(metadata, str):   # Rasa accepts metadata as a JSON string too
            try:
                metadata = json.loads(metadata)
            except ValueError:
                self._bad_frame(sid, "metadata is a string but not JSON; dropped")
                return {}
        return metadata if isinstance(metadata, dict) else {}

    async def push(self, recipient: str, messages: list) -> None:
        for bot in messages or ():
            for kind, data in socket_messages(bot):
                if kind == "message":
                    await self.sio.emit(self.bot_evt, data, room=recipient, namespace=self.namespace)
                    continue
                # Rasa: emit(bot_message_evt, **custom): `data` is what the client receives;
                # any other key (but room/namespace) makes Rasa's emit fail, and formc skips it.
                extra = set(data) - {"data", "room", "namespace"} if isinstance(data, dict) else {"?"}
                if extra:
                    self._bad_frame(recipient, "custom payload for socketio must be "
                                    f"{{'data': ...}} (Rasa emits its keys as arguments); "
                                    f"unexpected {sorted(extra)}; not sent")
                    continue
                await self.sio.emit(self.bot_evt, data.get("data"),
                                    room=data.get("room") or recipient,
                                    namespace=data.get("namespace") or self.namespace)

    async def close(self) -> None:
        return None
