"""`formc serve` over real HTTP on 127.0.0.1: every endpoint, auth, CORS and every bad-input case."""
from __future__ import annotations

import concurrent.futures
import json
import socket

import pytest

from support.serve_helpers import FormcServer, build_restaurant_fsm, http, say, user_texts

GREETING = "Hello! I can help you book a table. Just tell me you are looking for a restaurant."
ERROR_KEYS = {"version", "status", "message", "reason", "details", "help", "code"}


@pytest.fixture(scope="module")
def fsm(tmp_path_factory):
    return build_restaurant_fsm(str(tmp_path_factory.mktemp("bot")))


@pytest.fixture(scope="module")
def open_server(fsm, tmp_path_factory):
    """No token, no CORS: the chat endpoints only."""
    d = tmp_path_factory.mktemp("open")
    server = FormcServer(fsm, "--store", f"sqlite:///{d}/conv.db", "--debug", cwd=str(d))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin_server(fsm, tmp_path_factory):
    d = tmp_path_factory.mktemp("admin")
    server = FormcServer(fsm, "--store", "memory://", "--auth-token", "s3cret",
                         "--cors", "https://app.example", "--cors", "https://other.example",
                         "--max-body", "4KB", cwd=str(d))
    yield server
    server.stop()


def assert_error(status, body, code, *words):
    assert status == code, body
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, body
    assert body["status"] == "failure" and body["code"] == code and body["version"] == "3.6.21"
    for w in words:
        assert w.lower() in body["message"].lower() + str(body["help"]).lower(), body


# ------------------------------------------------------------------------ chat endpoints

def test_root_version_status_and_rest_health(open_server):
    status, _, body = http("GET", open_server.url("/"))
    assert (status, body) == (200, "Hello from Rasa: 3.6.21")
    status, _, body = http("GET", open_server.url("/version"))
    assert status == 200 and body["version"] == "3.6.21"
    assert body["minimum_compatible_version"] == "3.5.0" and "formc" in body
    status, _, body = http("GET", open_server.url("/status"))
    assert status == 200 and body["model_file"].endswith("restaurant.fsm")
    assert body["model_id"] and body["num_active_training_jobs"] == 0
    assert http("GET", open_server.url("/webhooks/rest/"))[2] == {"status": "ok"}
    assert http("GET", open_server.url("/webhooks/rest"))[2] == {"status": "ok"}


def test_webhook_runs_the_form_and_keeps_metadata(open_server):
    replies = say(open_server, "happy", "hi", metadata={"locale": "de"})
    assert replies == [{"recipient_id": "happy", "text": GREETING}]
    assert say(open_server, "happy", "i am looking for a restaurant")[0]["text"] == \
        "Which cuisine would you like?"
    assert say(open_server, "happy", "italian")[0]["text"] == "For how many people should I book?"
    status, _, tracker = http("GET", open_server.url("/conversations/happy/tracker"))
    assert status == 200 and tracker["sender_id"] == "happy"
    assert tracker["slots"]["cuisine"] == "italian"
    assert tracker["active_loop"]["name"] == "restaurant_form"
    users = [e for e in tracker["events"] if e["event"] == "user"]
    assert [u["text"] for u in users] == ["hi", "i am looking for a restaurant", "italian"]
    assert users[0]["metadata"].get("locale") == "de"
    assert users[0]["input_channel"] == "rest"


def test_sender_defaults_and_input_channel(open_server):
    status, _, body = http("POST", open_server.url("/webhooks/rest/webhook"), {"message": "hi"})
    assert status == 200 and body[0]["recipient_id"] == "default"
    say(open_server, "chan", "hi", input_channel="web")
    tracker = http("GET", open_server.url("/conversations/chan/tracker"))[2]
    assert tracker["latest_input_channel"] == "web"


def test_conversation_ids_may_contain_slashes_and_unicode(open_server):
    sender = "team/a b/ü"
    say(open_server, sender, "hi")
    from urllib.parse import quote
    status, _, tracker = http("GET", open_server.url(f"/conversations/{quote(sender)}/tracker"))
    assert status == 200 and tracker["sender_id"] == sender and user_texts(tracker) == ["hi"]


def test_tracker_include_events(open_server):
    say(open_server, "inc", "hi")
    base = "/conversations/inc/tracker?include_events="
    all_ = http("GET", open_server.url(base + "ALL"))[2]
    assert [e["event"] for e in all_["events"]][:2] == ["action", "session_started"]
    assert http("GET", open_server.url(base + "none"))[2]["events"] is None
    assert http("GET", open_server.url(base + "applied"))[2]["events"]
    status, _, body = http("GET", open_server.url(base + "SOME"))
    assert_error(status, body, 400, "include_events")


def test_tracker_of_an_unknown_conversation_shows_the_session_start(open_server):
    status, _, tracker = http("GET", open_server.url("/conversations/never-seen/tracker"))
    assert status == 200 and tracker["sender_id"] == "never-seen"
    assert user_texts(tracker) == []


def test_trace_lists_the_last_turns(open_server):
    for text in ("hi", "i am looking for a restaurant", "thai"):
        say(open_server, "traced", text)
    status, _, body = http("GET", open_server.url("/conversations/traced/trace"))
    assert status == 200 and len(body["turns"]) == 3
    turn = body["turns"][-1]
    assert turn["kind"] == "message" and turn["trace"] is not None
    assert set(turn["ms"]) >= {"lock_and_load", "agent"}
    assert len(http("GET", open_server.url("/conversations/traced/trace?limit=1"))[2]["turns"]) == 1
    status, _, body = http("GET", open_server.url("/conversations/nobody/trace"))
    assert_error(status, body, 404, "nobody")
    status, _, body = http("GET", open_server.url("/conversations/traced/trace?limit=x"))
    assert_error(status, body, 400, "limit")


def test_model_parse(open_server):
    status, _, body = http("POST", open_server.url("/model/parse"), {"text": "hi"})
    assert status == 200 and body["text"] == "hi" and body["intent"]["name"] == "greet"
    assert isinstance(body["entities"], list)


def test_domain_json_yaml_and_not_acceptable(open_server):
    status, _, body = http("GET", open_server.url("/domain"), headers={"Accept": "application/json"})
    assert status == 200 and isinstance(body, dict) and body
    status, headers, text = http("GET", open_server.url("/domain"),
                                 headers={"Accept": "application/x-yaml"})
    assert status == 200 and "yaml" in headers["Content-Type"] and "restaurant_form" in text
    status, _, body = http("GET", open_server.url("/domain"), headers={"Accept": "text/csv"})
    assert_error(status, body, 406, "accept")


def test_logs_one_json_line_per_turn(open_server):
    say(open_server, "logged", "hi")
    lines = [json.loads(l) for l in open_server.output().splitlines()
             if l.startswith("{") and '"logged"' in l]
    assert lines and lines[-1]["intent"] == "greet" and "utter_greet" in lines[-1]["actions"]
    assert lines[-1]["ms"] >= 0 and "stages_ms" in lines[-1]    # --debug adds the stages


def test_concurrent_messages_of_one_sender_are_all_kept(open_server):
    texts = [f"message {i}" for i in range(24)]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda t: say(open_server, "busy", t), texts))
    tracker = http("GET", open_server.url("/conversations/busy/tracker?include_events=ALL"))[2]
    assert sorted(user_texts(tracker)) == sorted(texts)


# ------------------------------------------------------------------------ auth

@pytest.mark.parametrize("method,path,body", [
    ("POST", "/conversations/x/messages", {"text": "hi"}),
    ("POST", "/conversations/x/trigger_intent", {"name": "greet"}),
    ("PUT", "/model", {"model_file": "x.fsm"}),
    ("POST", "/conversations/x/tracker/events", {"event": "slot", "name": "cuisine", "value": "x"}),
    ("POST", "/conversations/x/predict", None),
])
def test_admin_endpoints_refused_without_a_token(open_server, method, path, body):
    status, _, err = http(method, open_server.url(path), body)
    assert_error(status, err, 403, "--auth-token")
    assert err["reason"] == "NotAuthorized"


def test_token_guards_the_api_but_not_the_channel(admin_server):
    assert http("GET", admin_server.url("/version"))[0] == 200
    assert http("GET", admin_server.url("/"))[0] == 200
    assert say(admin_server, "tok", "hi")[0]["text"] == GREETING
    for path in ("/status", "/conversations/tok/tracker", "/domain"):
        status, _, err = http("GET", admin_server.url(path))
        assert_error(status, err, 401, "token")
        assert err["reason"] == "NotAuthenticated"
        status, _, err = http("GET", admin_server.url(path + "?token=wrong"))
        assert status == 401
        assert http("GET", admin_server.url(path + "?token=s3cret"))[0] == 200
    status, _, err = http("POST", admin_server.url("/model/parse"), {"text": "hi"})
    assert status == 401


def test_add_message_runs_no_action(admin_server):
    url = admin_server.url("/conversations/added/messages?token=s3cret")
    status, _, tracker = http("POST", url, {"text": "hi", "sender": "user"})
    assert status == 200 and user_texts(tracker) == ["hi"]
    assert not [e for e in tracker["events"] if e["event"] == "bot"]
    status, _, err = http("POST", url, {"text": "hi", "sender": "bot"})
    assert_error(status, err, 400, "sender")
    status, _, err = http("POST", url, {"sender": "user"})
    assert_error(status, err, 400, "text")


def test_trigger_intent(admin_server):
    url = admin_server.url("/conversations/trig/trigger_intent?token=s3cret&output_channel=rest")
    status, _, body = http("POST", url, {"name": "greet", "entities": {}})
    assert status == 200 and set(body) == {"tracker", "messages"}
    assert body["messages"] == [{"recipient_id": "trig", "text": GREETING}]
    users = [e for e in body["tracker"]["events"] if e["event"] == "user"]
    assert users[-1]["text"] == "EXTERNAL: greet"
    status, _, err = http("POST", url, {"name": "no_such_intent"})
    assert_error(status, err, 404, "no_such_intent")
    status, _, err = http("POST", url, {"entities": {}})
    assert_error(status, err, 400, "name")


def test_put_model_loads_another_machine(admin_server, fsm, tmp_path):
    url = admin_server.url("/model?token=s3cret")
    before = http("GET", admin_server.url("/status?token=s3cret"))[2]
    copy = tmp_path / "copy.fsm"
    with open(fsm, "rb") as handle:
        copy.write_bytes(handle.read())
    status, _, body = http("PUT", url, {"model_file": str(copy)})
    assert status == 204, body
    after = http("GET", admin_server.url("/status?token=s3cret"))[2]
    assert after["model_file"] == str(copy) and after["model_id"] == before["model_id"]
    assert say(admin_server, "after-swap", "hi")[0]["text"] == GREETING
    status, _, err = http("PUT", url, {"model_file": str(tmp_path / "missing.fsm")})
    assert_error(status, err, 400, "does not exist")
    bad = tmp_path / "bad.fsm"
    bad.write_text("{not an fsm")
    status, _, err = http("PUT", url, {"model_file": str(bad)})
    assert_error(status, err, 400, "could not be loaded")


# ------------------------------------------------------------------------ CORS

def test_cors_headers_and_preflight(admin_server, open_server):
    origin = {"Origin": "https://app.example"}
    _, headers, _ = http("GET", admin_server.url("/version"), headers=origin)
    assert headers.get("Access-Control-Allow-Origin") == "https://app.example"
    _, headers, _ = http("GET", admin_server.url("/version"), headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers
    status, headers, _ = http("OPTIONS", admin_server.url("/webhooks/rest/webhook"), headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "content-type"
    # errors carry CORS headers too, so browsers can read them
    _, headers, _ = http("GET", admin_server.url("/status"), headers=origin)
    assert headers.get("Access-Control-Allow-Origin") == "https://app.example"
    # without --cors: no CORS headers at all, preflight refused
    _, headers, _ = http("GET", open_server.url("/version"), headers=origin)
    assert not [h for h in headers if h.lower().startswith("access-control")]
    status, _, err = http("OPTIONS", open_server.url("/webhooks/rest/webhook"), headers=origin)
    assert_error(status, err, 405, "--cors")


# ------------------------------------------------------------------------ bad input

WEBHOOK = "/webhooks/rest/webhook"


@pytest.mark.parametrize("raw,words", [
    (b"", ("empty",)),
    (b"   ", ("empty",)),
    (b"{\"sender\": \"a\", ", ("not valid json", "line 1")),
    (b"\xff\xfe", ("utf-8",)),
    (b"[1, 2]", ("a list", "json object")),
    (b"\"hello\"", ("a string",)),
    (b"null", ("null",)),
    (b"{\"sender\": \"a\"}", ("'message'", "required")),
    (b"{\"sender\": \"a\", \"message\": 5}", ("'message'", "a number", "a string")),
    (b"{\"sender\": \"a\", \"message\": null}", ("'message'",)),
    (b"{\"sender\": [1], \"message\": \"hi\"}", ("'sender'", "a list")),
    (b"{\"sender\": \"\", \"message\": \"hi\"}", ("'sender'", "empty")),
    (b"{\"sender\": \"a\", \"message\": \"hi\", \"metadata\": \"x\"}", ("'metadata'", "an object")),
    (b"{\"sender\": \"a\", \"message\": \"hi\", \"input_channel\": 3}", ("'input_channel'",)),
    (b"{\"sender\": true, \"message\": \"hi\"}", ("'sender'", "a boolean")),
])
def test_bad_webhook_bodies_are_400_with_a_reason(open_server, raw, words):
    status, _, body = http("POST", open_server.url(WEBHOOK), raw=raw)
    assert_error(status, body, 400, *words)
    assert body["reason"] == "BadRequest"


def test_bad_api_bodies(admin_server):
    status, _, body = http("POST", admin_server.url("/model/parse?token=s3cret"), {"text": 1})
    assert_error(status, body, 400, "'text'")
    status, _, body = http("PUT", admin_server.url("/model?token=s3cret"), raw=b"{")
    assert_error(status, body, 400, "json")
    url = admin_server.url("/conversations/x/trigger_intent?token=s3cret")
    status, _, body = http("POST", url, {"name": "greet", "entities": "cuisine"})
    assert_error(status, body, 400, "'entities'")


def test_oversize_body_is_413(admin_server):
    big = json.dumps({"sender": "big", "message": "x" * 8000}).encode()
    status, _, body = http("POST", admin_server.url(WEBHOOK), raw=big)
    assert_error(status, body, 413, "limit", "--max-body")
    assert say(admin_server, "small", "hi")       # the worker is alive and well


def test_unknown_routes_and_methods(open_server):
    status, _, body = http("GET", open_server.url("/no/such/thing"))
    assert_error(status, body, 404, "/no/such/thing")
    status, _, body = http("GET", open_server.url(WEBHOOK))
    assert_error(status, body, 405)
    status, _, body = http("DELETE", open_server.url("/version"))
    assert_error(status, body, 405)


def test_garbage_on_the_socket_does_not_kill_the_server(open_server):
    with socket.create_connection(("127.0.0.1", open_server.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01garbage that is not http\r\n\r\n")
        try:
            s.recv(1000)
        except OSError:
            pass
    with socket.create_connection(("127.0.0.1", open_server.port), timeout=5) as s:
        s.sendall(b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        s.shutdown(socket.SHUT_WR)               # body cut short, then the client leaves
        try:
            s.recv(1000)
        except OSError:
            pass
    assert say(open_server, "after-garbage", "hi")[0]["text"] == GREETING
    assert "Traceback" not in open_server.output()
