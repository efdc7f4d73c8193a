"""DucklingEntityExtractor: Rasa's request to a Duckling server (a real HTTP server on 127.0.0.1
standing in for Duckling, answering Duckling-shaped JSON), Rasa's entity dicts, a server that is
down, slow or answers badly, and formc's offline extraction of the configured dimensions."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from formc.api import compile_project
from formc.nlu import duckling as duckling_module

REFTIME = 1_764_864_000          # 2025-12-04T16:00:00Z, a Thursday
THREE = {"body": "3", "start": 7, "end": 8, "dim": "number", "latent": False,
         "value": {"value": 3, "type": "value"}}
TOMORROW = {"body": "tomorrow", "start": 17, "end": 25, "dim": "time", "latent": False,
            "value": {"values": [{"value": "2025-12-05T00:00:00.000-08:00", "grain": "day",
                                  "type": "value"}],
                      "value": "2025-12-05T00:00:00.000-08:00", "grain": "day", "type": "value"}}
NEXT_WEEK = {"body": "next week", "start": 0, "end": 9, "dim": "time", "latent": False,
             "value": {"type": "interval", "from": {"value": "2025-12-08T00:00:00.000-08:00",
                                                    "grain": "week"},
                       "to": {"value": "2025-12-15T00:00:00.000-08:00", "grain": "week"}}}


class FakeDuckling:
    """A Duckling stand-in: records each request, answers `answer` (or sleeps, or fails)."""

    def __init__(self):
        self.requests: list = []
        self.answer: object = [THREE, TOMORROW]
        self.status = 200
        self.delay = 0.0
        self.missing = 0          # bytes the answer announces but never sends
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "form": urllib.parse.parse_qs(body.decode("utf-8"))})
                time.sleep(fake.delay)
                raw = (fake.answer if isinstance(fake.answer, bytes)
                       else json.dumps(fake.answer).encode("utf-8"))
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw) + fake.missing))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakeDuckling()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_env_url(monkeypatch):
    monkeypatch.delenv("RASA_DUCKLING_HTTP_URL", raising=False)


DOMAIN = """version: "3.1"
intents: [book, greet]
entities: [number, time, email, city]
responses:
  utter_ok:
  - text: ok
"""
NLU = """version: "3.1"
nlu:
- intent: book
  examples: |
    - I need 2 tickets
    - book 3 seats for tomorrow
    - a table for four in [Paris](city)
- intent: greet
  examples: |
    - hello
    - hi there
- lookup: city
  examples: |
    - Paris
"""


def _nlu(tmp_path, component: str, regex_first: bool = True):
    """A compiled bot whose pipeline has `component` (a YAML mapping, one line per option)."""
    bot = tmp_path / "bot"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text(DOMAIN)
    (bot / "data" / "nlu.yml").write_text(NLU)
    regex = "- name: RegexEntityExtractor\n"
    duck = "- name: DucklingEntityExtractor\n" + "".join(f"  {line}\n" for line in component)
    (bot / "config.yml").write_text(
        "language: en\npipeline:\n- name: WhitespaceTokenizer\n- name: CountVectorsFeaturizer\n"
        "- name: LogisticRegressionClassifier\n" + (regex + duck if regex_first else duck + regex)
        + "policies:\n- name: RulePolicy\n")
    machine, diagnostics = compile_project(str(bot))
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    machine.nlu.duckling.clock = lambda: REFTIME + 0.75     # Rasa sends whole seconds
    return machine.nlu, diagnostics


# ------------------------------------------------------------------------------ server

def test_rasa_request_and_entities(tmp_path, fake):
    nlu, _ = _nlu(tmp_path, [f"url: {fake.url}/", "dimensions: [number, time]",
                             "locale: en_US", "timezone: Europe/Berlin"])
    parsed = nlu.parse("I need 3 tickets tomorrow")
    request = fake.requests[-1]
    assert request["path"] == "/parse"
    assert request["headers"]["Content-Type"] == \
        "application/x-www-form-urlencoded; charset=UTF-8"
    assert request["form"] == {"text": ["I need 3 tickets tomorrow"], "locale": ["en_US"],
                               "tz": ["Europe/Berlin"], "dims": ['["number", "time"]'],
                               "reftime": [str(REFTIME * 1000)]}
    assert parsed["entities"] == [
        {"start": 7, "end": 8, "text": "3", "value": 3, "confidence": 1.0,
         "additional_info": {"value": 3, "type": "value"}, "entity": "number",
         "extractor": "DucklingEntityExtractor"},
        {"start": 17, "end": 25, "text": "tomorrow", "value": "2025-12-05T00:00:00.000-08:00",
         "confidence": 1.0, "additional_info": TOMORROW["value"], "entity": "time",
         "extractor": "DucklingEntityExtractor"}]


def test_unset_options_are_left_out_and_dims_filter_the_answer(tmp_path, fake):
    fake.answer = [THREE, TOMORROW, NEXT_WEEK]
    nlu, _ = _nlu(tmp_path, [f"url: {fake.url}", "dimensions: [time]"])
    entities = nlu.parse("I need 3 tickets tomorrow")["entities"]
    assert set(fake.requests[-1]["form"]) == {"text", "dims", "reftime"}
    assert [e["entity"] for e in entities] == ["time", "time"]          # no number
    assert entities[1]["value"] == {"to": "2025-12-15T00:00:00.000-08:00",
                                    "from": "2025-12-08T00:00:00.000-08:00"}


def test_all_dimensions_without_a_list(tmp_path, fake):
    nlu, _ = _nlu(tmp_path, [f"url: {fake.url}"])
    entities = nlu.parse("I need 3 tickets tomorrow")["entities"]
    assert fake.requests[-1]["form"]["dims"] == ["null"]
    assert [e["entity"] for e in entities] == ["number", "time"]


def test_environment_url_wins(tmp_path, fake, monkeypatch):
    nlu, _ = _nlu(tmp_path, ["url: http://127.0.0.1:9", "dimensions: [number]"])
    monkeypatch.setenv("RASA_DUCKLING_HTTP_URL", fake.url)
    assert [e["value"] for e in nlu.parse("I need 3 tickets")["entities"]] == [3]
    assert len(fake.requests) == 1


def test_pipeline_order_places_duckling_entities(tmp_path, fake):
    fake.answer = [{"body": "four", "start": 12, "end": 16, "dim": "number", "latent": False,
                    "value": {"value": 4, "type": "value"}}]
    text = "a table for four in Paris"
    after, _ = _nlu(tmp_path / "a", [f"url: {fake.url}"], regex_first=True)
    before, _ = _nlu(tmp_path / "b", [f"url: {fake.url}"], regex_first=False)
    assert [e["entity"] for e in after.parse(text)["entities"]] == ["city", "number"]
    assert [e["entity"] for e in before.parse(text)["entities"]] == ["number", "city"]


# ------------------------------------------------------------------ a failing server

def _unused_port() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return port


def test_server_down_falls_back_to_offline_extraction(tmp_path, caplog):
    nlu, _ = _nlu(tmp_path, [f"url: http://127.0.0.1:{_unused_port()}",
                             "dimensions: [number, email]"])
    with caplog.at_level(logging.WARNING, logger="formc.nlu.duckling"):
        first = nlu.parse("I need 3 tickets, mail me at a.b@example.com")
        nlu.parse("I need 2 tickets")
    assert [(e["entity"], e["value"], e["extractor"]) for e in first["entities"]] == [
        ("number", 3, "DucklingEntityExtractor"), ("email", "a.b@example.com",
                                                  "DucklingEntityExtractor")]
    warnings = [r for r in caplog.records if r.name == "formc.nlu.duckling"]
    assert len(warnings) == 1                                 # once per outage
    assert "failed" in warnings[0].getMessage() and "number, email" in warnings[0].getMessage()


def test_server_down_without_offline_gives_no_entities(tmp_path, caplog):
    nlu, _ = _nlu(tmp_path, [f"url: http://127.0.0.1:{_unused_port()}", "formc_offline: false"])
    with caplog.at_level(logging.WARNING, logger="formc.nlu.duckling"):
        parsed = nlu.parse("I need 3 tickets")
    assert parsed["entities"] == [] and parsed["intent"]["name"] == "book"
    assert any("no Duckling entities" in r.getMessage() for r in caplog.records)


def test_slow_server_times_out_and_is_left_alone(tmp_path, fake):
    fake.delay = 1.5
    nlu, _ = _nlu(tmp_path, [f"url: {fake.url}", "timeout: 0.3", "dimensions: [number]"])
    start = time.perf_counter()
    first = nlu.parse("I need 3 tickets")
    took = time.perf_counter() - start
    start = time.perf_counter()
    second = nlu.parse("I need 2 tickets")
    again = time.perf_counter() - start
    assert 0.25 < took < 1.2, took
    assert again < 0.25, again                  # within RETRY_AFTER: the server is not asked
    assert len(fake.requests) == 1
    assert [e["value"] for e in first["entities"]] == [3]           # offline
    assert [e["value"] for e in second["entities"]] == [2]


@pytest.mark.parametrize("status,answer", [(500, b"oops"), (200, b"<html>"), (200, b'{"a": 1}')])
def test_bad_answers_never_fail_a_parse(tmp_path, fake, status, answer):
    fake.status, fake.answer = status, answer
    nlu, _ = _nlu(tmp_path, [f"url: {fake.url}", "dimensions: [number]", "formc_offline: false"])
    parsed = nlu.parse("I need 3 tickets")
    assert parsed["entities"] == [] and parsed["intent"]["name"] == "book"


def test_a_cut_answer_never_fails_a_parse(tmp_path, fake):
    fake.missing = 10
    nlu, _ = _nlu(tmp_path, [f"url: {fake.url}", "dimensions: [number]"])
    parsed = nlu.parse("I need 3 tickets")
    assert [e["value"] for e in parsed["entities"]] == [3]          # offline instead


def test_a_malformed_match_is_skipped(tmp_path, fake):
    fake.answer = [{"dim": "number"}, THREE]
    nlu, _ = _nlu(tmp_path, [f"url: {fake.url}"])
    assert [e["value"] for e in nlu.parse("I need 3 tickets")["entities"]] == [3]


def test_server_comes_back(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(duckling_module, "RETRY_AFTER", 0.0)
    fake.status, fake.answer = 500, b"down"
    nlu, _ = _nlu(tmp_path, [f"url: {fake.url}", "formc_offline: false"])
    assert nlu.parse("I need 3 tickets")["entities"] == []
    fake.status, fake.answer = 200, [THREE]
    assert [e["value"] for e in nlu.parse("I need 3 tickets")["entities"]] == [3]


# --------------------------------------------------------------------------- compile

def test_bad_options_are_f317(tmp_path):
    bot = tmp_path / "bot"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text(DOMAIN)
    (bot / "data" / "nlu.yml").write_text(NLU)
    (bot / "config.yml").write_text(
        "language: en\npipeline:\n- name: WhitespaceTokenizer\n- name: CountVectorsFeaturizer\n"
        "- name: LogisticRegressionClassifier\n- name: DucklingEntityExtractor\n"
        "  dimensions: [number, temprature]\n  timezone: Mars/Olympus\n  timeout: -1\n"
        "policies:\n- name: RulePolicy\n")
    machine, diagnostics = compile_project(str(bot))
    found = sorted((d.severity, d.span.line, d.message.split(" ")[0]) for d in diagnostics
                   if d.code == "F317")
    assert machine is None
    assert found == [("error", 8, "DucklingEntityExtractor"), ("error", 9, "DucklingEntityExtractor"),
                     ("warning", 7, "'temprature'")]


def test_bots_without_duckling_have_no_extractor(tmp_path):
    bot = tmp_path / "bot"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text(DOMAIN)
    (bot / "data" / "nlu.yml").write_text(NLU)
    (bot / "config.yml").write_text("language: en\npipeline:\n- name: WhitespaceTokenizer\n"
                                    "- name: CountVectorsFeaturizer\n"
                                    "- name: LogisticRegressionClassifier\n")
    machine, _ = compile_project(str(bot))
    assert "duckling" not in machine.nlu_data and machine.nlu.duckling is None


def test_validate_note_says_what_formc_does(tmp_path):
    from formc.api import validate_project
    bot = tmp_path / "bot"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text(DOMAIN)
    (bot / "data" / "nlu.yml").write_text(NLU)
    (bot / "config.yml").write_text(
        "language: en\npipeline:\n- name: WhitespaceTokenizer\n- name: CountVectorsFeaturizer\n"
        "- name: LogisticRegressionClassifier\n- name: DucklingEntityExtractor\n"
        "  url: http://localhost:8000\n  dimensions: [number, temperature]\n"
        "policies:\n- name: RulePolicy\n")
    notes = [d for d in validate_project(str(bot)) if d.code == "F618"]
    assert len(notes) == 1 and notes[0].span.line == 6
    assert "formc extracts number itself" in notes[0].message
    assert "goes further than Rasa" in notes[0].message
    assert notes[0].message.endswith("not extracted without a server: temperature")


def test_formbot_fills_num_people_from_typed_text_without_a_duckling_server(monkeypatch):
    """The corpus formbot (its own config: DIET + DucklingEntityExtractor for `number` at
    localhost:8000) through its form with text only; no Duckling runs here."""
    import asyncio
    import os

    from formc.runtime.action_client import ActionClient
    from formc.runtime.agent import Agent
    from support.action_server import start_action_server
    from support.runtime_helpers import CORPUS

    monkeypatch.setenv("RASA_DUCKLING_HTTP_URL", f"http://127.0.0.1:{_unused_port()}")
    machine, diagnostics = compile_project(os.path.join(CORPUS, "formbot"))
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    url, stop = start_action_server("formbot")
    try:
        agent, session = Agent(machine, action_client=ActionClient(url), seed=0), None
        replies = []
        for text in ("I want to book a restaurant", "mexican food please", "we are four people"):
            result = asyncio.run(agent.handle_message(session, "u1", text, now=1_700_000_000.0))
            session = result.session
            replies.append([m.get("text") for m in result.messages])
        # formbot's 2.x domain orders the slots cuisine, feedback (from text), num_people, ...
        assert replies[1] == ["Please give your feedback on your experience so far"]
        assert session.slots["num_people"] == 4           # Duckling's number, offline
        assert replies[2] == ["Do you want to sit outside?"]       # num_people is not asked
    finally:
        stop()


def test_financial_demo_gets_money_and_times_without_a_duckling_server(monkeypatch):
    """The corpus financial-demo (its own config: Duckling for amount-of-money, time, number at
    localhost:8000) read in place; no Duckling runs here."""
    import os

    from support.runtime_helpers import CORPUS

    monkeypatch.setenv("RASA_DUCKLING_HTTP_URL", f"http://127.0.0.1:{_unused_port()}")
    machine, diagnostics = compile_project(os.path.join(CORPUS, "financial-demo"))
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    machine.nlu.duckling.clock = lambda: REFTIME
    entities = machine.nlu.parse("transfer $100 to John tomorrow")["entities"]
    duckling = [(e["entity"], e["text"], e["value"]) for e in entities
                if e["extractor"] == "DucklingEntityExtractor"]
    assert duckling == [("amount-of-money", "$100", 100),
                        ("time", "tomorrow", "2025-12-05T00:00:00.000-08:00")]
