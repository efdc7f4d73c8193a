"""GET /openapi.json describes the whole HTTP API: every route of a server with every channel is
documented, and real answers (chosen calls, then a bounded hypothesis run of generated bodies, as
schemathesis would) have a documented status and match the documented schema."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from jsonschema import Draft202012Validator

from support.channels_support import Receiver, restaurant_fsm, write
from support.serve_helpers import FormcServer, http

TOKEN = "t0k"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("openapi")
    fsm = restaurant_fsm(str(tmp))
    receiver = Receiver()
    creds = write(tmp / "credentials.yml", f"rest:\nsocketio:\n  session_persistence: true\n"
                  f"callback:\n  url: {receiver.url}\n")
    server = FormcServer(fsm, "--credentials", creds, "--store", "memory://", "--auth-token", TOKEN,
                         cwd=str(tmp))
    status, _, doc = http("GET", server.url("/openapi.json"))
    assert status == 200 and doc["openapi"].startswith("3.")
    yield server, doc
    server.stop()
    receiver.close()


def _operation(doc: dict, method: str, path: str) -> tuple[str, dict]:
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\{[a-z_]+\\}", "[^?]+", re.escape(template)) + "$"
        if re.match(pattern, path.split("?")[0]) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def check(server, doc, method: str, path: str, body=None, raw=None) -> int:
    status, headers, answer = http(method, server.url(path), body, raw=raw)
    template, op = _operation(doc, method, path)
    assert str(status) in op["responses"], f"{method} {template}: undocumented status {status}: {answer}"
    content = op["responses"][str(status)].get("content", {})
    ctype = headers.get("Content-Type", "").split(";")[0]
    assert not content or ctype in content, f"{method} {template} {status}: {ctype} not in {list(content)}"
    schema = content.get(ctype, {}).get("schema")
    if schema and ctype == "application/json":
        validator = Draft202012Validator({**schema, "components": doc["components"]})
        errors = [e.message for e in validator.iter_errors(answer)]
        assert not errors, f"{method} {template} {status}: {errors[:3]} in {answer}"
    return status


def test_every_route_of_the_server_is_documented(served, tmp_path):
    from formc.reader.deploy import read_credentials
    from formc.server.app import create_app
    from formc.server.openapi import openapi_document
    server, doc = served
    creds = write(tmp_path / "c.yml", "socketio:\ncallback:\n  url: http://127.0.0.1:9/x\n")
    app = create_app(restaurant_fsm(str(tmp_path)), store_url="memory://",
                     channels=read_credentials(creds))
    documented = openapi_document(app)["paths"]
    for route in app.router.routes:
        path = "/" + re.sub(r"<([a-z_]+)(:[a-z]+)?>", r"{\1}", route.path)
        methods = set(route.methods) - {"OPTIONS", "HEAD"}
        if not methods:
            continue
        item = documented.get(path) or documented.get(path + "/") or documented.get(path.rstrip("/"))
        assert item is not None, f"route {path} is not documented"
        assert methods <= {m.upper() for m in item}, (path, methods, list(item))
    assert documented.keys() == doc["paths"].keys()


def test_real_answers_match_the_document(served):
    server, doc = served
    t = f"token={TOKEN}"
    calls = [("GET", "/", None), ("GET", "/version", None), ("GET", f"/status?{t}", None),
             ("GET", "/status", None), ("GET", f"/domain?{t}", None), ("GET", "/metrics", None),
             ("POST", f"/model/parse?{t}", {"text": "a table for 4"}),
             ("POST", f"/model/parse?{t}", {"nope": 1}),
             ("POST", f"/webhooks/rest/webhook?{t}", {"sender": "o", "message": "hi"}),
             ("POST", f"/webhooks/rest/webhook?{t}", {"sender": "o"}),
             ("GET", f"/conversations/o/tracker?{t}", None),
             ("GET", f"/conversations/o/tracker?{t}&include_events=bogus", None),
             ("GET", f"/conversations/o/trace?{t}", None),
             ("GET", f"/conversations/nobody/trace?{t}", None),
             ("GET", f"/conversations/o/story?{t}", None),
             ("POST", f"/conversations/o/messages?{t}", {"text": "hello", "sender": "user"}),
             ("POST", f"/conversations/o/trigger_intent?{t}", {"name": "greet"}),
             ("POST", f"/conversations/o/trigger_intent?{t}&output_channel=callback", {"name": "greet"}),
             ("POST", f"/conversations/o/trigger_intent?{t}", {"name": "no_such_intent"}),
             ("POST", f"/conversations/o/predict?{t}", None),
             ("POST", f"/conversations/o/execute?{t}", {"name": "utter_greet"}),
             ("POST", f"/conversations/o/tracker/events?{t}", [{"event": "slot", "name": "cuisine",
                                                                "value": "indian"}]),
             ("POST", f"/conversations/o/tracker/events?{t}", [{"event": 5}]),
             ("PUT", f"/model?{t}", {"model_file": "/nonexistent.fsm"}),
             ("GET", "/webhooks/rest", None), ("GET", "/webhooks/socketio", None),
             ("GET", "/webhooks/callback/", None),
             ("POST", "/webhooks/callback/webhook", {"sender": "cb", "message": "hi"}),
             ("GET", f"/chat?{t}", None), ("GET", f"/chat/graph.json?{t}", None),
             ("GET", "/chat/graph.json", None)]
    seen = {check(server, doc, m, p, b) for m, p, b in calls}
    assert {200, 400, 401, 404} <= seen


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
BODY = st.one_of(JSONISH, st.fixed_dictionaries(
    {"sender": st.text(max_size=10), "message": st.text(max_size=30)}, optional={"metadata": JSONISH}),
    st.fixed_dictionaries({"text": st.text(max_size=30)}, optional={"sender": st.text(max_size=5)}),
    st.fixed_dictionaries({"name": st.text(max_size=12)}, optional={"entities": JSONISH}))
TARGETS = ["/webhooks/rest/webhook", "/model/parse", "/conversations/g/messages",
           "/conversations/g/trigger_intent", "/conversations/g/tracker/events",
           "/conversations/g/execute", "/webhooks/callback/webhook"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(target=st.sampled_from(TARGETS), body=BODY)
def test_generated_bodies_get_documented_answers(served, target, body):
    server, doc = served
    status = check(server, doc, "POST", f"{target}?token={TOKEN}", body)
    assert status < 500
