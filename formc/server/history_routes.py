"""The conversation routes over the whole event log: GET /story, POST /execute, PUT
/tracker/events (replace), the `until` of GET tracker; and DELETE /model (unload)."""

from __future__ import annotations

from typing import Any, Optional

from sanic import response

from ..runtime.history import execute, replaced, replayed, with_full_history
from ..runtime.story_export import conversation_story
from .channels import external_output
from .errors import ApiError, bad_request, field, parse_json_object, parse_posted_events
from .http import checked_id, guard, include_events, json_response, rest_messages
from .turns import next_fire

API_HELP = "https://rasa.com/docs/rasa/user-guide/configuring-http-api/"
NO_MODEL = ("No agent loaded. To continue processing, a model of a trained agent needs to be "
            "loaded.")


def float_arg(request, key: str) -> Optional[float]:
    """Rasa's float_arg: a number, else None (Rasa ignores a value it cannot read)."""
    raw = request.args.get(key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value else None          # NaN compares with nothing


def bool_arg(request, key: str, default: bool = False) -> bool:
    return str(request.args.get(key, default)).lower() == "true"


async def whole_session(request, bot: Any, session: Any, sender_id: str, until: Optional[float]) -> Any:
    """The session with the store's whole event log (read only here, never by a turn); with
    `until`, rebuilt from the events up to that time."""
    store = request.app.ctx.store
    log = await store.full_log(sender_id) if await store.load(sender_id) is not None else []
    if until is not None:
        if not log and not session.started:
            log = bot.agent.tracker_state(session, "ALL", sender_id=sender_id)["events"]
        session = replayed(bot.agent, sender_id, log, until)
        session.started = True        # shown as it was then: no session start added
        return session
    return with_full_history(session, log)


async def tracker_answer(request, bot: Any, session: Any, sender_id: str, include: str) -> dict:
    """GET tracker: the whole history; with `until`, the tracker as it was then (Rasa's live
    tracker travelled back, not one read from its store)."""
    until = float_arg(request, "until")
    session = await whole_session(request, bot, session, sender_id, until)
    return bot.agent.tracker_state(session, include, sender_id=sender_id, reloaded=until is None)


async def _existing(request, sender_id: str) -> None:
    """Rasa's ensure_conversation_exists."""
    if await request.app.ctx.store.load(sender_id) is None:
        raise ApiError(404, "Not found", "Conversation ID not found.")


def add_history_routes(bp, route) -> Any:
    """Registers the routes on the conversation blueprint (`route(path, *methods)` adds the
    CORS preflight; PUT /tracker/events shares POST's); returns the blueprint."""
    add_unload_route(bp)

    @route("/story", "GET")
    async def story(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=False)
        until, all_sessions = float_arg(request, "until"), bool_arg(request, "all_sessions")
        await _existing(request, conversation_id)
        bot, session = await request.app.ctx.conversations.load_session(conversation_id)
        log = await request.app.ctx.store.full_log(conversation_id)
        text = conversation_story(bot.machine.domain, conversation_id, log or session.events(),
                                  all_sessions=all_sessions, until=until)
        return response.text(text)

    @route("/execute", "POST")
    async def execute_action(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        body = parse_json_object(request.body, '{"name": "utter_greet"}')
        name = body.get("name")
        if not name:
            raise ApiError(400, "BadRequest", "Name of the action not provided in request body.",
                           {"parameter": "name", "in": "body"})
        if not isinstance(name, str):
            raise bad_request("`name` must be a string.", parameter="name", **{"in": "body"})
        policy = field(body, "policy", (str,), default=None)
        confidence = field(body, "confidence", (int, float), default=None)
        events_mode = include_events(request)
        await _existing(request, conversation_id)
        conv = request.app.ctx.conversations
        if name not in _action_names(conv.bot.machine.domain):
            raise ApiError(404, "NotFound", f"The action {name!r} is not in the domain.", {"action": name})
        before: list = [None]
        latest: list = [None]

        async def step(bot, session):
            latest[0] = getattr(session, "latest_input_channel", None)
            # Rasa logs an executed action with `confidence or 0.0`
            before[0], result = await execute(bot.agent, session, conversation_id, name, policy,
                                              float(confidence or 0.0))
            return result

        result = await conv.run(conversation_id, "execute", step)
        collect = await external_output(request, conversation_id, latest[0], result.messages)
        # Rasa answers with the tracker it read before running the action
        answer = {"tracker": conv.bot.agent.tracker_state(before[0], events_mode)}
        if collect:
            answer["messages"] = rest_messages(result.messages, conversation_id)
        return json_response(answer)

    @bp.route("/conversations/<conversation_id:path>/tracker/events", methods=["PUT"],
              strict_slashes=False)
    async def replace_events(request, conversation_id):
        conversation_id = checked_id(request, conversation_id, admin=True)
        events_mode = include_events(request)
        posted = parse_posted_events(request.body, '[{"event": "action", "name": "action_listen"}]')
        conv = request.app.ctx.conversations
        session = replaced(conv.bot.agent, conversation_id, posted)
        async with conv.store.conversation(conversation_id) as stored:
            record = {"session": session.to_json(raw_states=True, history=False),
                      "model": conv.bot.machine.digest}
            stored.write(record, next_fire(session), live=session,
                         append={"events": session.events()}, reset=True)
        return json_response(conv.bot.agent.tracker_state(session, events_mode))

    return bp


def _action_names(domain: Any) -> set:
    from ..model import DEFAULT_ACTIONS
    return {*DEFAULT_ACTIONS, *(r.name for r in domain.responses), *(a.name for a in domain.actions),
            *(f.name for f in domain.forms), *getattr(domain, "e2e_actions", ())}


# ------------------------------------------------------------------------- DELETE /model
def add_unload_route(bp) -> None:
    """DELETE /model: the server keeps running without a model; every route that needs one
    answers 409 (as Rasa's ensure_loaded_agent) until PUT /model loads one."""

    @bp.route("/model", methods=["DELETE"], strict_slashes=False)   # OPTIONS: PUT /model's
    async def unload_model(request):
        guard(request, admin=True)
        request.app.ctx.model_unloaded = True
        return response.empty(status=204)


FREE_WITHOUT_MODEL = {("GET", "/"), ("GET", "/version"), ("PUT", "/model"), ("DELETE", "/model")}


async def refuse_without_model(request) -> Any:
    """Request middleware: after DELETE /model only the routes Rasa serves without an agent."""
    if not getattr(request.app.ctx, "model_unloaded", False) or request.method == "OPTIONS":
        return None
    if (request.method, request.path.rstrip("/") or "/") in FREE_WITHOUT_MODEL:
        return None
    raise ApiError(409, "Conflict", NO_MODEL, help=API_HELP)


async def reloaded_model(request, resp) -> None:
    """Response middleware: a model loaded by PUT /model ends the unloaded state."""
    if request.method == "PUT" and request.path.rstrip("/") == "/model" and resp.status == 204:
        request.app.ctx.model_unloaded = False
