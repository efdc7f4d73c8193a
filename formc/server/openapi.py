"""GET /openapi.json: an OpenAPI 3.1 document of the server's whole HTTP API (Rasa's routes,
formc's own, and the routes of the channels this server was started with)."""
from __future__ import annotations

from typing import Any

from sanic import Blueprint

from .. import __version__

OBJ = {"type": "object"}
STR = {"type": "string"}
ID = {"name": "conversation_id", "in": "path", "required": True, "schema": STR}
TOKEN = {"name": "token", "in": "query", "required": False, "schema": STR,
         "description": "the server's --auth-token (required when it was started with one)"}
INCLUDE = {"name": "include_events", "in": "query", "required": False,
           "schema": {"enum": ["AFTER_RESTART", "ALL", "APPLIED", "NONE"]}}
OUTPUT = {"name": "output_channel", "in": "query", "required": False, "schema": STR,
          "description": "latest, socketio or callback: push the messages there too"}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["status", "message", "reason", "code"],
              "properties": {"version": STR, "status": {"const": "failure"}, "message": STR,
                             "reason": STR, "details": OBJ, "help": {"type": ["string", "null"]},
                             "code": {"type": "integer"}}},
    "Version": {"type": "object", "required": ["version", "minimum_compatible_version"],
                "properties": {"version": STR, "minimum_compatible_version": STR}},
    "Status": {"type": "object", "required": ["model_file", "model_id", "num_active_training_jobs"],
               "properties": {"model_file": STR, "model_id": STR,
                              "num_active_training_jobs": {"type": "integer"}, "formc": OBJ}},
    "BotMessage": {"type": "object", "required": ["recipient_id"],
                   "properties": {"recipient_id": STR, "text": STR, "buttons": {"type": "array"},
                                  "image": STR, "attachment": {}, "custom": {}}},
    "Event": {"type": "object", "required": ["event"], "properties": {"event": STR,
                                                                       "timestamp": {"type": ["number", "null"]}}},
    "Tracker": {"type": "object", "required": ["sender_id", "slots", "latest_message", "events",
                                               "paused", "latest_action_name"],
                "properties": {"sender_id": STR, "slots": OBJ, "latest_message": OBJ,
                               "latest_event_time": {"type": ["number", "null"]},
                               "followup_action": {"type": ["string", "null"]},
                               "paused": {"type": "boolean"},
                               "events": {"type": ["array", "null"],
                                          "items": {"$ref": "#/components/schemas/Event"}},
                               "latest_input_channel": {"type": ["string", "null"]},
                               "active_loop": OBJ, "latest_action": OBJ,
                               "latest_action_name": {"type": ["string", "null"]}}},
    "Parse": {"type": "object", "required": ["text", "intent", "entities"],
              "properties": {"text": STR, "intent": OBJ, "entities": {"type": "array"},
                             "intent_ranking": {"type": "array"}}},
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _text(kind: str, description: str = "OK") -> dict:
    return {"description": description, "content": {kind: {"schema": STR}}}


def _errors(*codes: int) -> dict:
    return {str(c): _json(_ref("Error"), "error") for c in codes}


def _op(summary: str, ok: dict, errors=(400,), params=(), body: dict | None = None) -> dict:
    op: dict = {"summary": summary, "parameters": list(params),
                "responses": {"200": ok, **_errors(*errors)}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _body(required: list, **props: Any) -> dict:
    return {"type": "object", "required": required, "properties": props}


def _conversation_paths() -> dict:
    tracker = _json(_ref("Tracker"))
    c = "/conversations/{conversation_id}"
    return {
        c + "/tracker": {"get": _op("The conversation's tracker", tracker, (400, 401, 503),
                                    [ID, TOKEN, INCLUDE, {"name": "until", "in": "query",
                                                          "schema": {"type": "number"}}])},
        c + "/tracker/events": {
            "post": _op("Append events", tracker, (400, 401, 403, 503), [ID, TOKEN, INCLUDE],
                        {"oneOf": [_ref("Event"), {"type": "array", "items": _ref("Event")}]}),
            "put": _op("Replace the events", tracker, (400, 401, 403, 503), [ID, TOKEN, INCLUDE],
                       {"type": "array", "items": _ref("Event")})},
        c + "/messages": {"post": _op("Add a user message without running the bot", tracker,
                                      (400, 401, 403, 503), [ID, TOKEN, INCLUDE],
                                      _body(["text", "sender"], text=STR, sender=STR, parse_data=OBJ))},
        c + "/trigger_intent": {"post": _op(
            "Trigger an intent (external event)",
            _json(_body(["tracker"], tracker=_ref("Tracker"),
                        messages={"type": "array", "items": _ref("BotMessage")})),
            (400, 401, 403, 404, 503), [ID, TOKEN, INCLUDE, OUTPUT],
            _body(["name"], name=STR, entities={"type": ["object", "array", "null"]}))},
        c + "/execute": {"post": _op(
            "Run an action", _json(_body(["tracker"], tracker=_ref("Tracker"),
                                         messages={"type": "array"})),
            (400, 401, 403, 404, 503), [ID, TOKEN, INCLUDE, OUTPUT],
            _body(["name"], name=STR, policy={"type": ["string", "null"]},
                  confidence={"type": ["number", "null"]}))},
        c + "/predict": {"post": _op("Scores of the next action", _json(
            _body(["scores", "tracker"], scores={"type": "array"}, policy={"type": ["string", "null"]},
                  confidence={"type": ["number", "null"]}, tracker=_ref("Tracker"))),
            (400, 401, 403, 404, 503), [ID, TOKEN, INCLUDE])},
        c + "/story": {"get": _op("The conversation as a Rasa story (YAML)", _text("text/plain"),
                                  (400, 401, 503), [ID, TOKEN])},
        c + "/trace": {"get": _op("formc: the per-turn traces", _json(
            _body(["sender_id", "turns"], sender_id=STR, turns={"type": "array"})),
            (400, 401, 404, 503), [ID, TOKEN, {"name": "limit", "in": "query", "schema": STR}])},
    }


def _paths(channels: dict) -> dict:
    paths = {
        "/": {"get": _op("Hello", _text("text/plain"), ())},
        "/version": {"get": _op("Versions", _json(_ref("Version")), ())},
        "/status": {"get": _op("The model served", _json(_ref("Status")), (401,), [TOKEN])},
        "/domain": {"get": _op("The domain", _json(OBJ), (401, 406), [TOKEN])},
        "/model/parse": {"post": _op("NLU parse of a text", _json(_ref("Parse")), (400, 401, 413),
                                     [TOKEN], _body(["text"], text=STR, message_id=STR))},
        "/model/test/intents": {"post": {**_op(
            "NLU evaluation of labelled examples (Rasa's intent/entity/response report)",
            _json(OBJ), (400, 401, 409, 413), [TOKEN, {"name": "model", "in": "query", "schema": STR}]),
            "requestBody": {"required": True, "content": {"application/x-yaml": {"schema": STR},
                                                          "application/json": {"schema": OBJ}}}}},
        "/model": {"put": _op("Serve another model", _text("text/plain", "loaded"),
                              (400, 401, 403, 404, 409, 500), [TOKEN],
                              _body([], model_file=STR, model_server=OBJ, remote_storage=STR)),
                   "delete": {"summary": "Unload the model", "parameters": [TOKEN],
                              "responses": {"204": {"description": "unloaded"}, **_errors(401, 403)}}},
        "/webhooks/rest": {"get": _op("REST channel health", _json(OBJ), ())},
        "/webhooks/rest/webhook": {"post": _op(
            "REST channel: a user message -> the bot's messages",
            _json({"type": "array", "items": _ref("BotMessage")}), (400, 413, 503), [TOKEN],
            _body(["message"], sender=STR, message=STR, metadata=OBJ))},
        "/metrics": {"get": _op("formc: Prometheus metrics", _text("text/plain"), ())},
        "/openapi.json": {"get": _op("formc: this document", _json(OBJ), ())},
        "/chat": {"get": _op("formc: the chat page", _text("text/html"), (401,), [TOKEN])},
        "/chat/graph.json": {"get": _op("formc: the machine for the chat page", _json(OBJ), (401,),
                                        [TOKEN])},
        "/chat/graph.svg": {"get": _op("formc: the machine drawn", _text("image/svg+xml"),
                                       (401, 404), [TOKEN])},
        "/chat/static/{name}": {"get": _op("formc: the chat page's files", _text("text/plain"),
                                           (401, 404), [TOKEN, {"name": "name", "in": "path",
                                                                "required": True, "schema": STR}])},
        **_conversation_paths(),
    }
    if "callback" in channels:
        paths["/webhooks/callback/"] = {"get": _op("callback channel health", _json(OBJ), ())}
        paths["/webhooks/callback/webhook"] = {"post": _op(
            "callback channel: the bot's messages are POSTed to the configured url",
            _text("text/plain", "success"), (400, 503), (), _body(["message"], sender=STR, message=STR))}
    if "socketio" in channels:
        paths["/webhooks/socketio"] = {"get": _op("socketio channel health", _json(OBJ), ())}
        paths[channels["socketio"].path + "/"] = {
            "get": _op("socket.io (engine.io polling / websocket upgrade)", _text("text/plain"), ()),
            "post": _op("socket.io (engine.io polling)", _text("text/plain"), ())}
    return paths


def openapi_document(app: Any) -> dict:
    return {"openapi": "3.1.0",
            "info": {"title": "formc serve: Rasa 3.6's HTTP API and channels", "version": __version__},
            "paths": _paths(getattr(app.ctx, "channels", {}) or {}),
            "components": {"schemas": SCHEMAS}}


def openapi_api() -> Blueprint:
    bp = Blueprint("formc_openapi")

    @bp.route("/openapi.json", methods=["GET"])
    async def document(request):
        from .http import json_response
        return json_response(openapi_document(request.app))

    return bp
