"""Reminders scheduled by a custom action survive a server restart and fire through the agent."""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support.serve_helpers import FormcServer, http, say

DOMAIN = """
version: "3.1"
intents: [greet, remind_me, EXTERNAL_ping]
responses:
  utter_greet:
  - text: "hello"
  utter_ping:
  - text: "ping!"
actions: [action_set_reminder]
"""
NLU = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello
    - hey there
- intent: remind_me
  examples: |
    - remind me later
    - set a reminder
    - ping me in a bit
"""
RULES = """
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: remind
  steps:
  - intent: remind_me
  - action: action_set_reminder
- rule: ping
  steps:
  - intent: EXTERNAL_ping
  - action: utter_ping
"""
CONFIG = """
recipe: default.v1
language: en
pipeline:
- name: WhitespaceTokenizer
- name: KeywordIntentClassifier
policies:
- name: RulePolicy
"""


class ActionServer(BaseHTTPRequestHandler):
    """A real action server: action_set_reminder schedules EXTERNAL_ping 2 s from now."""
    calls: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ActionServer.calls.append(body["next_action"])
        when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
        reply = {"events": [{"event": "reminder", "intent": "EXTERNAL_ping", "name": "ping1",
                             "date_time": when.isoformat(), "entities": None,
                             "kill_on_user_msg": False}],
                 "responses": [{"text": "I will ping you."}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def action_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ActionServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def reminder_bot(tmp_path, action_server):
    from formc.artifact import dump_machine
    from formc.api import compile_project
    bot = tmp_path / "bot"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text(DOMAIN)
    (bot / "config.yml").write_text(CONFIG)
    (bot / "data" / "nlu.yml").write_text(NLU)
    (bot / "data" / "rules.yml").write_text(RULES)
    machine, diagnostics = compile_project(str(bot))
    assert machine is not None, [d.render() for d in diagnostics]
    dump_machine(machine, str(tmp_path / "bot.fsm"), root=str(bot))
    (tmp_path / "endpoints.yml").write_text(f"action_endpoint:\n  url: {action_server}\n")
    return str(tmp_path / "bot.fsm"), str(tmp_path / "endpoints.yml")


def test_pending_reminder_fires_after_a_restart(reminder_bot, tmp_path):
    fsm, endpoints = reminder_bot
    args = ("--store", f"sqlite:///{tmp_path}/rem.db", "--endpoints", endpoints)
    server = FormcServer(fsm, *args, cwd=str(tmp_path))
    try:
        replies = say(server, "rem", "remind me later")
        assert [r["text"] for r in replies] == ["I will ping you."]
        assert ActionServer.calls[-1] == "action_set_reminder"
    finally:
        assert server.stop() == 0                    # down before the reminder is due
    time.sleep(2.2)
    server = FormcServer(fsm, *args, cwd=str(tmp_path))
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            tracker = http("GET", server.url("/conversations/rem/tracker"))[2]
            texts = [(e["event"], e.get("text")) for e in tracker["events"]]
            if ("bot", "ping!") in texts:
                break
            time.sleep(0.2)
        assert ("user", "EXTERNAL: EXTERNAL_ping") in texts
        assert ("bot", "ping!") in texts             # delivered nowhere on REST, but kept
        # fired once: a later turn does not fire it again
        say(server, "rem", "hi")
        tracker = http("GET", server.url("/conversations/rem/tracker"))[2]
        assert [e.get("text") for e in tracker["events"]].count("ping!") == 1
        trace = http("GET", server.url("/conversations/rem/trace"))[2]
        assert "reminder" in [t["kind"] for t in trace["turns"]]
    finally:
        server.stop()
