"""Input/output channels beside the REST channel, built from credentials.yml: socketio, callback.

`add_channels(app, channels)` registers each channel's routes on the app and keeps the channel
objects on app.ctx.channels (name -> channel); `push(app, sender_id, session, messages)`
delivers messages the user did not ask for (reminders, external events) through the channel the
user last wrote on, as Rasa sends them to the output channel of the conversation.
"""
from __future__ import annotations

from typing import Any, Iterable

from sanic import Sanic


def add_channels(app: Sanic, channels: Iterable[Any]) -> None:
    from .callback import CallbackChannel
    from .socketio import SocketIOChannel
    built: dict = {}
    for spec in channels:
        if spec.name == "socketio":
            built["socketio"] = SocketIOChannel(app, spec.options)
        elif spec.name == "callback":
            built["callback"] = CallbackChannel(app, spec.options)
    app.ctx.channels = built

    @app.after_server_stop
    async def _close_channels(app_):
        for channel in app_.ctx.channels.values():
            await channel.close()


async def push(app: Sanic, sender_id: str, session: Any, messages: list) -> bool:
    """Send `messages` through the conversation's latest input channel, if it can push;
    False when nobody was there to send them to (REST: the messages stay in the tracker)."""
    channel = getattr(app.ctx, "channels", {}).get(_user_channel(session))
    if channel is None or not messages:
        return False
    await channel.push(sender_id, messages)
    return True


def _user_channel(session: Any) -> Any:
    """The channel the user last wrote on: a reminder's own (external) user event has none,
    and Rasa sends the reminder's messages to the channel that scheduled it."""
    name = getattr(session, "latest_input_channel", None)
    if name or session is None:
        return name
    for event in reversed(session.events()):
        if event.get("event") == "user" and event.get("input_channel"):
            return event["input_channel"]
    return None


async def external_output(request: Any, sender_id: str, latest: Any, messages: list) -> dict:
    """Rasa's `?output_channel=NAME|latest` of trigger_intent: push the messages through that
    channel; {"messages": ...} for the HTTP answer unless that channel does not collect them
    (socketio: Rasa's answer then has no `messages`; REST and callback collect)."""
    from ..http import rest_messages
    wanted = request.args.get("output_channel")
    if wanted == "latest":
        wanted = latest
    channel = getattr(request.app.ctx, "channels", {}).get(wanted)
    if channel is not None:
        await channel.push(sender_id, messages)
        if not channel.collecting:
            return {}
    return {"messages": rest_messages(messages, sender_id)}
