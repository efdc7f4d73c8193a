"""Rasa's conversation API: /conversations/{id}/tracker (whole history, `until`), /trace,
/messages, /trigger_intent, /tracker/events (POST appends, PUT replaces), /predict, /story,
/execute; and DELETE /model."""

from __future__ import annotations

from sanic import Blueprint

from .channels import external_output
from .errors import ApiError, bad_request, field, parse_json_object, parse_posted_events
from .http import checked_id, include_events, json_response, route_methods
from .history_routes import add_history_routes, tracker_answer

ID = "/conversations/<conversation_id:path>"


def conversation_api() -> Blueprint:
    bp = Blueprint("formc_conversations")

    def route(path: str, *methods: str):
        return bp.route(ID + path, methods=route_methods(*methods), strict_slashes=False)

    @route("/tracker", "GET")
    async def tracker(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=False)
        events = include_events(request)
        bot, session = await request.app.ctx.conversations.load_session(conversation_id)
        return json_response(await tracker_answer(request, bot, session, conversation_id, events))

    @route("/trace", "GET")
    async def trace(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=False)
        traces = await request.app.ctx.conversations.traces(conversation_id)
        if traces is None:
            raise ApiError(404, "NotFound", f"No stored conversation {conversation_id!r}.")
        limit = request.args.get("limit")
        if limit is not None:
            if not limit.isdigit():
                raise bad_request(f"limit={limit!r} is not a non-negative integer.", parameter="limit")
            traces = traces[-int(limit):] if int(limit) else []
        return json_response({"sender_id": conversation_id, "turns": traces})

    @route("/messages", "POST")
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

        conv = request.app.ctx.conversations
        result = await conv.run(conversation_id, "add_message", step)
        return json_response(conv.bot.agent.tracker_state(result.session, events, reloaded=False))

    @route("/trigger_intent", "POST")
    async def trigger_intent(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        events = include_events(request)
        body = parse_json_object(request.body, '{"name": "EXTERNAL_reminder", "entities": {}}')
        name = field(body, "name", (str,), required=True)
        entities = field(body, "entities", (dict, list), default=None)
        conv = request.app.ctx.conversations
        if name not in conv.bot.machine.domain.intent_names():
            raise ApiError(404, "NotFound", f"The intent {name!r} is not in the domain.",
                           {"intent": name})

        latest: list = [None]   # the channel the user last wrote on, for ?output_channel=latest
        async def step(bot, session):
            latest[0] = getattr(session, "latest_input_channel", None)
            return await bot.agent.trigger_intent(session, conversation_id, name, entities)

        result = await conv.run(conversation_id, "trigger_intent", step)
        tracker = conv.bot.agent.tracker_state(result.session, events, reloaded=False)
        # ?output_channel= (server.channels): {"messages": [...]} unless socketio took them
        return json_response({"tracker": tracker, **await external_output(
            request, conversation_id, latest[0], result.messages)})

    @route("/tracker/events", "POST")
    async def append_events(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        events_mode = include_events(request)
        posted = parse_posted_events(request.body, '[{"event": "slot", "name": "x", "value": 1}]')

        async def step(bot, session):
            return bot.agent.append_events(session, conversation_id, posted)

        conv = request.app.ctx.conversations
        result = await conv.run(conversation_id, "append_events", step)
        return json_response(conv.bot.agent.tracker_state(result.session, events_mode))

    @route("/predict", "POST")
    async def predict(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        events_mode = include_events(request)
        bot, session = await request.app.ctx.conversations.load_session(conversation_id)
        if not session.started:
            raise ApiError(404, "NotFound", f"No conversation with id {conversation_id!r}.",
                           {"conversation_id": conversation_id})
        return json_response({**bot.agent.predict_next(session, conversation_id),
                              "tracker": bot.agent.tracker_state(session, events_mode)})

    return add_history_routes(bp, route)     # story, execute, PUT events, DELETE /model
