"""Rasa's REST channel: POST /webhooks/rest/webhook {sender, message} -> the bot's messages."""

from __future__ import annotations

from sanic import Blueprint

from .errors import field, parse_user_message
from .http import json_response, rest_messages, route_methods


def rest_channel() -> Blueprint:
    bp = Blueprint("formc_rest")

    @bp.route("/webhooks/rest", methods=route_methods("GET"), strict_slashes=False)
    async def rest_health(request):
        return json_response({"status": "ok"})

    @bp.route("/webhooks/rest/webhook", methods=route_methods("POST"), strict_slashes=False)
    async def webhook(request):
        body, sender, text = parse_user_message(request.body)
        metadata = field(body, "metadata", (dict,))
        channel = field(body, "input_channel", (str,), default="rest") or "rest"

        async def step(bot, session):
            return await bot.agent.handle_message(session, sender, text.strip(), metadata=metadata,
                                                  input_channel=channel)

        result = await request.app.ctx.conversations.run(sender, "message", step)
        return json_response(rest_messages(result.messages, sender))

    return bp
