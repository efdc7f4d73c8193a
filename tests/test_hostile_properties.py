"""Issue 14, property-based: any JSON body on every route, and any event list on /tracker/events,
is answered by a real `formc serve` with a JSON body and a status below 500."""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from support.serve_helpers import FormcServer, http
from support.shared_paths import ROOT

pytestmark = pytest.mark.timeout(600)
TOKEN = "p"
ROUTES = [("POST", "/webhooks/rest/webhook"), ("POST", "/model/parse"), ("PUT", "/model"),
          ("POST", "/conversations/{id}/messages"), ("POST", "/conversations/{id}/trigger_intent"),
          ("POST", "/conversations/{id}/tracker/events"), ("POST", "/conversations/{id}/predict"),
          ("GET", "/conversations/{id}/tracker"), ("GET", "/conversations/{id}/trace"),
          ("GET", "/status"), ("GET", "/domain")]

text = st.one_of(st.text(max_size=40), st.sampled_from(["\ud800", "a" * 30 + "!", "greet", ""]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                    st.floats(allow_nan=False, allow_infinity=False), text)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)), max_leaves=12)
KINDS = ["user", "bot", "action", "slot", "entities", "reminder", "cancel_reminder", "followup",
         "active_loop", "loop_interrupted", "restart", "rewind", "undo", "session_started",
         "reset_slots", "pause", "resume", "user_featurization", "action_execution_rejected",
         "form", "form_validation", "agent", "export"]
FIELDS = ["name", "value", "text", "parse_data", "entities", "intent", "date_time", "timestamp",
          "metadata", "is_interrupted", "data", "policy", "confidence", "input_channel",
          "kill_on_user_msg", "validate", "use_text_for_featurization", "action_text"]
events = st.builds(lambda kind, extra: {"event": kind, **extra},
                   st.one_of(st.sampled_from(KINDS), values),
                   st.dictionaries(st.sampled_from(FIELDS), values, max_size=5))
bodies = st.one_of(values, st.dictionaries(st.sampled_from(
    ["sender", "message", "text", "metadata", "input_channel", "model_file", "name", "entities",
     "parse_data"]), values, max_size=5))
ids = st.one_of(st.sampled_from(["u1", "u%202", "%ED%A0%80", "..%2F", "x" * 300]),
                st.text(alphabet="abc-_", min_size=1, max_size=8))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("props"))
    server = FormcServer(os.path.join(ROOT, "examples", "hello"), "--store",
                         f"sqlite:///{tmp}/p.db", "--auth-token", TOKEN, cwd=tmp)
    yield server
    server.stop()


def answer_ok(status, body) -> None:
    assert status < 500, body
    assert isinstance(body, (dict, list)) or status == 204, body


SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


@SETTINGS
@given(route=st.sampled_from(ROUTES), conversation=ids, body=bodies)
def test_any_json_body_on_any_route(served, route, conversation, body):
    method, path = route
    url = served.url(path.replace("{id}", conversation) + f"?token={TOKEN}")
    raw = json.dumps(body).encode() if method != "GET" else None
    status, _, answer = http(method, url, raw=raw, timeout=30)
    answer_ok(status, answer)


@SETTINGS
@given(conversation=ids, posted=st.lists(events, min_size=1, max_size=5))
def test_any_event_list_then_a_message(served, conversation, posted):
    status, _, answer = http("POST", served.url(
        f"/conversations/{conversation}/tracker/events?token={TOKEN}"),
        raw=json.dumps(posted).encode(), timeout=30)
    answer_ok(status, answer)
    # whatever was accepted, the conversation keeps working
    status, _, answer = http("POST", served.url("/webhooks/rest/webhook"),
                             {"sender": conversation, "message": "hello"}, timeout=30)
    answer_ok(status, answer)
    status, _, answer = http("GET", served.url(
        f"/conversations/{conversation}/tracker?token={TOKEN}"), timeout=30)
    answer_ok(status, answer)
