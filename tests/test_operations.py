"""Operating formc serve: GET /metrics, endpoints.yml `models:` pulled from a real HTTP model
server (ETag / If-None-Match, a swap that keeps the conversation, garbage / huge / non-.fsm
bodies refused with one log line), and the startup line for an unreachable action server."""
from __future__ import annotations

import gzip
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support.channels_support import RESTAURANT, restaurant_fsm, write
from support.serve_helpers import FormcServer, free_port, http

ASK_CUISINE = "What kind of food would you like?"


@pytest.fixture(scope="module")
def fsm(tmp_path_factory):
    return restaurant_fsm(str(tmp_path_factory.mktemp("bot")))


def _sample(text: str, name: str, labels: str = "") -> float:
    for line in text.splitlines():
        if line.startswith(name + (labels and "{") ) and (not labels or labels in line):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_messages_turns_stages_and_active_conversations(fsm, tmp_path):
    server = FormcServer(fsm, "--store", f"sqlite:///{tmp_path}/m.db", cwd=str(tmp_path))
    try:
        for sender, text in (("m1", "hi"), ("m2", "hi"), ("m1", "I am looking for a restaurant")):
            assert http("POST", server.url("/webhooks/rest/webhook"),
                        {"sender": sender, "message": text})[0] == 200
        status, headers, body = http("GET", server.url("/metrics"))
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert _sample(body, "formc_messages_total", 'channel="rest"') == 3
        assert _sample(body, "formc_turns_total", 'kind="message",outcome="ok"') == 3
        assert _sample(body, "formc_turn_stage_seconds_count", 'stage="agent"') == 3
        assert _sample(body, "formc_turn_stage_seconds_count", 'stage="lock_and_load"') == 3
        assert _sample(body, "formc_active_conversations", "") == 2
        assert "formc_store_errors_total 0.0" in body
        assert "# TYPE formc_action_server_calls_total counter" in body
    finally:
        server.stop()


class ModelServer:
    """A real HTTP model server: serves `self.body` with `self.etag`, answers 304 when the
    client's If-None-Match matches; records the If-None-Match headers it saw."""

    def __init__(self, body: bytes, etag: str) -> None:
        self.body, self.etag, self.seen = body, etag, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.seen.append(self.headers.get("If-None-Match"))
                if self.headers.get("If-None-Match") == outer.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", outer.etag)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/models/bot.fsm"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, body: bytes, etag: str) -> None:
        self.body, self.etag = body, etag

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _changed_bot(tmp_path) -> bytes:
    """The restaurant bot with another question for the cuisine, compiled to .fsm bytes."""
    from formc.api import compile_project
    from formc.artifact import dump_machine
    bot = tmp_path / "restaurant2"
    shutil.copytree(RESTAURANT, bot)
    domain = (bot / "domain.yml").read_text()
    (bot / "domain.yml").write_text(domain.replace(ASK_CUISINE, "Which cuisine, then?"))
    machine, diagnostics = compile_project(str(bot))
    assert machine is not None, diagnostics
    out = tmp_path / "v2.fsm"
    dump_machine(machine, str(out), root=str(bot))
    return out.read_bytes()


def _wait_for_model(server, digest_before: str, seconds: float = 30) -> str:
    deadline = time.time() + seconds
    while time.time() < deadline:
        model_id = http("GET", server.url("/status"))[2]["model_id"]
        if model_id != digest_before:
            return model_id
        time.sleep(0.2)
    raise AssertionError("the pulled model was not swapped in:\n" + server.output()[-2000:])


def test_models_are_pulled_with_etags_and_swapped_without_dropping_the_conversation(fsm, tmp_path):
    with open(fsm, "rb") as f:
        v1 = f.read()
    v2 = _changed_bot(tmp_path)
    models = ModelServer(v1, '"v1"')
    endpoints = write(tmp_path / "endpoints.yml",
                      f"models:\n  url: {models.url}\n  wait_time_between_pulls: 1\n")
    server = FormcServer(fsm, "--endpoints", endpoints, "--store", f"sqlite:///{tmp_path}/p.db",
                         cwd=str(tmp_path), env={"FORMC_MAX_MODEL_BYTES": str(len(v2) + 1000)})
    try:
        say = lambda text: http("POST", server.url("/webhooks/rest/webhook"),
                                {"sender": "pull", "message": text})[2]
        assert say("I am looking for a restaurant")[-1]["text"] == ASK_CUISINE
        before = http("GET", server.url("/status"))[2]["model_id"]
        deadline = time.time() + 10
        while '"v1"' not in models.seen and time.time() < deadline:
            time.sleep(0.1)
        assert '"v1"' in models.seen          # later pulls ask If-None-Match: the ETag
        models.serve(v2, '"v2"')
        after = _wait_for_model(server, before)
        assert after != before
        # The form goes on on the new machine with what was said before (no conversation lost).
        assert say("italian please")[-1]["text"].startswith("How many people")
        assert http("GET", server.url("/conversations/pull/tracker"))[2]["slots"]["cuisine"] == "italian"
        # Bad bodies: each refused with one line, the v2 machine keeps serving.
        bad = [(b"garbage, not json", "not JSON"), (gzip.compress(b"rasa model"), "a gzip archive"),
               (b"{" + b" " * (len(v2) + 2000) + b"}", "is over"),
               (b'{"format": "something-else"}', "the pulled model was refused")]
        for i, (body, line) in enumerate(bad):
            models.serve(body, f'"bad{i}"')
            server.wait_for_output(line, seconds=20)
        assert http("GET", server.url("/status"))[2]["model_id"] == after
        assert say("4")[0]["text"]
    finally:
        server.stop()
        models.close()


def test_unreachable_action_server_is_one_startup_line(tmp_path):
    bot = tmp_path / "bot"
    shutil.copytree(RESTAURANT, bot)
    domain = (bot / "domain.yml").read_text()
    assert "\nactions:" not in domain
    (bot / "domain.yml").write_text(domain + "\nactions:\n  - action_check_table\n  - action_call_me\n")
    port = free_port()
    (bot / "endpoints.yml").write_text(f"action_endpoint:\n  url: http://127.0.0.1:{port}/webhook\n")
    server = FormcServer(str(bot), "--store", "memory://", cwd=str(tmp_path))
    try:
        assert (f"the action server http://127.0.0.1:{port}/webhook is not reachable"
                in server.output())
        assert "2 custom action(s) will fail until it is" in server.output()
    finally:
        server.stop()
