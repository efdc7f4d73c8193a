"""formc serve's HTTP API answers vs. real Rasa 3.6.21's, call by call (tests/oracles/api/rasa.json,
recorded by bench/oracle_tools/record_api.py on the edge3 bot).

Both JSON bodies are compared whole after removing what differs by nature (timestamps, message
and model ids) and rounding confidences to 6 places (formc's classifier agrees with Rasa's to
~1e-8). Where formc deliberately answers differently, the difference is listed in DELIBERATE and
checked to be exactly that.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support.serve_helpers import PYTHON, ROOT, FormcServer

sys.path.insert(0, os.path.join(ROOT, "bench", "oracle_tools"))
from api_calls import CALLS  # noqa: E402
from record_api import call  # noqa: E402

RECORDED = os.path.join(ROOT, "tests", "oracles", "api", "rasa.json")
VOLATILE = {"timestamp", "latest_event_time", "model_id", "message_id"}
ERROR_KEYS = {"version", "status", "message", "reason", "details", "help", "code"}
# call -> (Rasa's status, formc's status): formc answers a bad request with a 4xx JSON error that
# says what is wrong (Rasa: a 500, a plain-text 404 page, or a message naming a Python object)
DELIBERATE = {
    "bad_parse_json": (500, 400),
    "bad_parse_missing_text": (500, 400),
    "bad_trigger_unknown_intent": (404, 404),
    "bad_trigger_missing_name": (400, 400),
    "unknown_route": (404, 404),
    "bad_events_unknown_type": (400, 400),        # Rasa's message quotes its JSON schema
    "bad_events_slot_without_value": (400, 400),
}


def normal(value):
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    fsm = str(tmp / "edge3.fsm")
    subprocess.run([PYTHON, "-m", "formc", "compile", os.path.join(ROOT, "tests", "oracles", "edge3", "bot"),
                    "-o", fsm], check=True, capture_output=True, cwd=ROOT)
    server = FormcServer(fsm, "--store", f"sqlite:///{tmp}/api.db", "--auth-token", "T", cwd=str(tmp))
    try:
        got = {}
        for name, method, path, body in CALLS:   # in order: later calls see earlier turns
            got[name] = call(server.base, method, path + ("&" if "?" in path else "?") + "token=T", body)
        return got
    finally:
        server.stop()


@pytest.fixture(scope="module")
def recorded():
    with open(RECORDED, encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", [c[0] for c in CALLS if c[0] not in DELIBERATE])
def test_answer_matches_rasa(name, answers, recorded):
    assert answers[name]["status"] == recorded[name]["status"]
    assert normal(answers[name]) == normal(recorded[name])


@pytest.mark.parametrize("name", sorted(DELIBERATE))
def test_deliberate_differences_are_json_errors(name, answers, recorded):
    rasa_status, formc_status = DELIBERATE[name]
    assert recorded[name]["status"] == rasa_status
    assert answers[name]["status"] == formc_status
    body = answers[name]["json"]
    assert set(body) == ERROR_KEYS and body["status"] == "failure" and body["code"] == formc_status
    assert body["version"] == "3.6.21"
