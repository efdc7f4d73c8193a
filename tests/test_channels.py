"""credentials.yml channels of `formc serve`: socketio (a real python-socketio client over
127.0.0.1), callback (a real HTTP receiver), and the startup errors for channels formc does
not serve."""
from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from support.channels_support import Raw, Receiver, restaurant_fsm, socket_turns, write
from formc.errors import FormcError
from formc.reader.deploy import read_credentials
from formc.server.channels.socketio import socket_messages
from support.serve_helpers import PYTHON, FormcServer, http
from support.shared_paths import ROOT
from test_server_reminders import action_server, reminder_bot  # noqa: F401 - fixtures

ASK_CUISINE = "What kind of food would you like?"


@pytest.fixture(scope="module")
def fsm(tmp_path_factory):
    return restaurant_fsm(str(tmp_path_factory.mktemp("bot")))


@pytest.fixture(scope="module")
def sio_server(fsm, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sio")
    creds = write(tmp / "credentials.yml", "rest:\nsocketio:\n  user_message_evt: user_uttered\n"
                  "  bot_message_evt: bot_uttered\n  session_persistence: true\n")
    server = FormcServer(fsm, "--credentials", creds, "--store", "memory://", cwd=str(tmp))
    yield server
    server.stop()


# ---------------------------------------------------------------- socketio: Rasa's shapes

def test_socket_messages_are_shaped_as_rasas_socketio_output():
    buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert socket_messages({"text": "one\n\ntwo", "buttons": buttons}) == [
        ("message", {"text": "one", "quick_replies": []}),
        ("message", {"text": "two", "quick_replies": [
            {"content_type": "text", "title": "Yes", "payload": "/affirm"},
            {"content_type": "text", "title": "No", "payload": "/deny"}]})]
    assert socket_messages({"text": "a\n\nb"}) == [("message", {"text": "a"}),
                                                   ("message", {"text": "b"})]
    assert socket_messages({"text": "t", "image": "http://x/i.png", "attachment": "http://x/i.png"}) == [
        ("message", {"text": "t"}),
        ("message", {"attachment": {"type": "image", "payload": {"src": "http://x/i.png"}}})]
    assert socket_messages({"attachment": {"type": "video", "payload": {"src": "v"}}}) == [
        ("message", {"attachment": {"type": "video", "payload": {"src": "v"}}})]
    assert socket_messages({"custom": {"data": {"k": 1}}}) == [("custom", {"data": {"k": 1}})]
    assert socket_messages({"elements": [{"title": "e"}]}) == [
        ("message", {"attachment": {"type": "template", "payload": {
            "template_type": "generic", "elements": {"title": "e"}}}})]


# ---------------------------------------------------------------- socketio: live

@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_socketio_two_turns_with_quick_replies_and_session_persistence(sio_server, transport):
    sid = f"web-{transport}"
    got = asyncio.run(socket_turns(sio_server.base, ["hi", "I am looking for a restaurant"],
                                   session_id=sid, transports=(transport,),
                                   metadata={"page": "/menu"}))
    assert got["confirm"] == [sid]
    hello, form = got["per_turn"]
    assert hello and all(set(m) == {"text"} for m in hello)
    assert form[-1]["text"] == ASK_CUISINE
    assert [q["title"] for q in form[-1]["quick_replies"]] == ["Italian", "Indian", "Vegetarian"]
    assert form[-1]["quick_replies"][0]["content_type"] == "text"
    # The conversation is the session id (session_persistence), its channel socketio, and the
    # message metadata reached the tracker.
    status, _, tracker = http("GET", sio_server.url(f"/conversations/{sid}/tracker"))
    assert status == 200
    users = [e for e in tracker["events"] if e["event"] == "user"]
    assert [u["text"] for u in users] == ["hi", "I am looking for a restaurant"]
    assert {u["input_channel"] for u in users} == {"socketio"}
    assert users[0]["metadata"]["page"] == "/menu"   # beside Rasa's model_id, assistant_id
    assert tracker["latest_input_channel"] == "socketio"


def test_socketio_without_persistence_uses_the_socket_id(fsm, tmp_path):
    creds = write(tmp_path / "credentials.yml",
                  "socketio:\n  user_message_evt: say\n  bot_message_evt: answer\n"
                  "  socketio_path: /chat.io\n")
    server = FormcServer(fsm, "--credentials", creds, "--store", "memory://", cwd=str(tmp_path))
    try:
        got = asyncio.run(socket_turns(server.base, ["hi"], session_id=None, user_evt="say",
                                       bot_evt="answer", path="/chat.io"))
        assert len(got["confirm"]) == 1 and len(got["confirm"][0]) == 32   # a new uuid4 hex
        assert got["per_turn"][0]
        status, _, tracker = http("GET", server.url(f"/conversations/{got['sid']}/tracker"))
        assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == ["hi"]
        assert http("GET", server.url("/webhooks/socketio"))[2] == {"status": "ok"}
    finally:
        server.stop()


def test_malformed_socketio_frames_are_logged_and_the_server_goes_on(sio_server):
    bad = [Raw("not an object"), ["a", "list"], {"message": "no session"},
           {"message": 42, "session_id": "m"}, {"message": "x" * 10001, "session_id": "m"}]
    got = asyncio.run(socket_turns(sio_server.base, bad + ["hi"], session_id="m"))
    assert all(turn == [] for turn in got["per_turn"][:-1]), got["per_turn"]
    assert got["per_turn"][-1]   # still answering on the same socket
    # Garbage engine.io packets over plain HTTP: a 400, never a 500, and the server lives on.
    status, _, _ = http("POST", sio_server.url("/socket.io/?EIO=4&transport=polling&sid=nope"),
                        raw=b"\x00\xffgarbage", headers={"Content-Type": "text/plain"})
    assert 400 <= status < 500
    status, _, _ = http("GET", sio_server.url("/socket.io/?EIO=99&transport=carrier-pigeon"))
    assert 400 <= status < 500
    out = sio_server.output()
    assert "a message without a valid session_id was received" in out
    assert "'message' must be a string" in out
    assert http("POST", sio_server.url("/webhooks/rest/webhook"),
                {"sender": "after", "message": "hi"})[0] == 200


def test_socketio_metadata_given_as_a_json_string(sio_server):
    got = asyncio.run(socket_turns(sio_server.base, ["hi"], session_id="meta-str",
                                   metadata='{"lang": "en"}'))
    assert got["per_turn"][0]
    _, _, tracker = http("GET", sio_server.url("/conversations/meta-str/tracker"))
    assert [e["metadata"].get("lang") for e in tracker["events"] if e["event"] == "user"] == ["en"]


# ---------------------------------------------------------------- callback

def test_callback_channel_answers_success_and_posts_the_messages(fsm, tmp_path):
    receiver = Receiver()
    creds = write(tmp_path / "credentials.yml",
                  f"callback:\n  url: {receiver.url}\n  token: s3cret\n")
    server = FormcServer(fsm, "--credentials", creds, "--store", "memory://",
                         "--auth-token", "adm", cwd=str(tmp_path))
    try:
        assert http("GET", server.url("/webhooks/callback/"))[2] == {"status": "ok"}
        status, _, body = http("POST", server.url("/webhooks/callback/webhook"),
                               {"sender": "cb", "message": "I am looking for a restaurant"})
        assert (status, body) == (200, "success")
        posted = receiver.wait_for(1)
        assert posted[-1] == {"recipient_id": "cb", "text": ASK_CUISINE, "buttons": [
            {"title": "Italian", "payload": '/inform{"cuisine": "italian"}'},
            {"title": "Indian", "payload": '/inform{"cuisine": "indian"}'},
            {"title": "Vegetarian", "payload": '/inform{"cuisine": "vegetarian"}'}]}
        assert "token=s3cret" in receiver.queries[-1]
        # An external event for the latest channel (callback) is POSTed there as well, and, as
        # Rasa's collecting callback output, also returned in the answer.
        before = len(receiver.bodies)
        status, _, answer = http("POST", server.url(
            "/conversations/cb/trigger_intent?output_channel=latest&token=adm"),
            {"name": "greet"})
        assert status == 200 and answer["messages"]
        assert receiver.wait_for(before + len(answer["messages"]))[before:] == answer["messages"]
        _, _, tracker = http("GET", server.url("/conversations/cb/tracker?token=adm"))
        assert tracker["events"][3]["input_channel"] == "callback"
    finally:
        server.stop()
        receiver.close()


def test_callback_url_down_or_slow_never_holds_up_the_server(fsm, tmp_path):
    slow = Receiver(delay=3.0)
    creds = write(tmp_path / "credentials.yml",
                  f"callback:\n  url: {slow.url}\n  timeout: 0.5\n  retries: 1\n")
    server = FormcServer(fsm, "--credentials", creds, "--store", "memory://", cwd=str(tmp_path))
    try:
        t0 = time.monotonic()
        status, _, body = http("POST", server.url("/webhooks/callback/webhook"),
                               {"sender": "slow", "message": "hi"})
        assert (status, body) == (200, "success") and time.monotonic() - t0 < 2.5
        server.wait_for_output("not delivered to " + slow.url, seconds=15)
        assert "no answer within 0.5 s (tried 2 times)" in server.output()
        assert http("POST", server.url("/webhooks/callback/webhook"),
                    {"sender": "slow2", "message": "hi"})[2] == "success"
    finally:
        server.stop()
        slow.close()
    dead = f"http://127.0.0.1:{_closed_port()}/bot"
    creds = write(tmp_path / "credentials.yml", f"callback:\n  url: {dead}\n  retries: 2\n")
    server = FormcServer(fsm, "--credentials", creds, "--store", "memory://", cwd=str(tmp_path))
    try:
        assert http("POST", server.url("/webhooks/callback/webhook"),
                    {"sender": "down", "message": "hi"})[2] == "success"
        server.wait_for_output(f"not delivered to {dead}: ClientConnectorError", seconds=15)
        assert server.output().count("not delivered") == 1   # one line per fault
        assert http("POST", server.url("/webhooks/callback/webhook"), raw=b"{not json")[0] == 400
    finally:
        server.stop()


def _closed_port() -> int:
    from support.serve_helpers import free_port
    return free_port()


# ---------------------------------------------------------------- credentials.yml mistakes

@pytest.mark.parametrize("text, line, code, message", [
    ("rest:\nfacebook:\n  verify: x\n", 2, "F801", "channel 'facebook' is one of Rasa's connectors"),
    ("rest:\n\naddons.custom.MyChannel:\n  x: 1\n", 3, "F801", "is a Python class path: formc "
                                                              "does not import user code"),
    ("socketio:\n  session_persistence: maybe\n", 2, "F802", "'session_persistence' must be bool"),
    ("callback:\n  token: t\n", 2, "F802", "callback channel needs 'url'"),
    ("socketio:\n  jwt_key: k\n", 2, "F802", "'jwt_key' (JWT-authenticated sockets) is not supported"),
    ("callback:\n  url: http://x\n  timeout: -1\n", 3, "F802", "'timeout' must be float"),
    ("slakc:\n", 1, "F801", "unknown channel 'slakc'"),
])
def test_credentials_mistakes_name_file_and_line(tmp_path, text, line, code, message):
    path = write(tmp_path / "credentials.yml", text)
    with pytest.raises(FormcError) as err:
        read_credentials(path)
    rendered = str(err.value)
    assert f"{path}:{line}:" in rendered and message in rendered and f"[{code}]" in rendered


def test_serve_refuses_to_start_on_an_unknown_channel(fsm, tmp_path):
    path = write(tmp_path / "credentials.yml", "rest:\nmy.module.Channel:\n")
    proc = subprocess.run([PYTHON, "-m", "formc", "serve", fsm, "--credentials", path,
                           "--store", "memory://"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 1
    assert f"{path}:2:1: error" in proc.stderr and "F801" in proc.stderr


# ---------------------------------------------------------------- reminders reach the user

def test_reminders_are_pushed_through_the_users_channel(reminder_bot, tmp_path):
    fsm, endpoints = reminder_bot
    receiver = Receiver()
    creds = write(tmp_path / "credentials.yml",
                  f"socketio:\n  session_persistence: true\ncallback:\n  url: {receiver.url}\n")
    server = FormcServer(fsm, "--credentials", creds, "--endpoints", endpoints, "--store",
                         f"sqlite:///{tmp_path}/r.db", cwd=str(tmp_path))
    try:
        assert http("POST", server.url("/webhooks/callback/webhook"),
                    {"sender": "cb-rem", "message": "remind me later"})[2] == "success"
        texts = [b["text"] for b in receiver.wait_for(2, seconds=20)]
        assert texts == ["I will ping you.", "ping!"]             # the reminder, 2 s later
        assert {b["recipient_id"] for b in receiver.bodies} == {"cb-rem"}
        got = asyncio.run(socket_turns(server.base, ["remind me later"], session_id="sio-rem",
                                       settle=4.0))
        assert [m["text"] for m in got["per_turn"][0]] == ["I will ping you.", "ping!"]
        metrics = http("GET", server.url("/metrics"))[2]
        assert 'formc_action_server_calls_total{outcome="ok"} 2.0' in metrics
        assert 'formc_messages_total{channel="socketio"} 1.0' in metrics
        assert 'formc_messages_total{channel="callback"} 1.0' in metrics
        assert 'formc_turns_total{kind="reminder",outcome="ok"} 2.0' in metrics
    finally:
        server.stop()
        receiver.close()


def test_a_real_bots_credentials_with_the_rasa_channel_start_with_a_note(tmp_path):
    from formc.reader.deploy import read_credentials_with_notes
    path = write(tmp_path / "credentials.yml",
                 "rest:\n\nrasa:\n  url: \"http://localhost:5002/api\"\nsocketio:\n")
    channels, notes = read_credentials_with_notes(path)
    assert [c.name for c in channels] == ["rest", "socketio"]
    assert notes == [f"{path}:3:1: channel 'rasa' (Rasa X / Rasa Enterprise) is not served by "
                     "formc; ignored"]
