"""POST /model/test/intents (issue 17): formc serve's NLU evaluation report vs. real Rasa 3.6.21's
(tests/oracles/api/test_intents.json, recorded by bench/oracle_tools/record_test_intents.py on the
crf1 and restaurant oracle bots, whose NLU formc reproduces), and bad input refused with Rasa's
JSON error shape. Real `formc serve` processes over HTTP."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support.serve_helpers import PYTHON, ROOT, FormcServer, http

sys.path.insert(0, os.path.join(ROOT, "bench", "oracle_tools"))
from record_test_intents import YAML, requests  # noqa: E402

RECORDED = os.path.join(ROOT, "tests", "oracles", "api", "test_intents.json")
ERROR_KEYS = {"version", "status", "message", "reason", "details", "help", "code"}
# formc's confidences agree with Rasa's LogisticRegressionClassifier / CRF to ~1e-5
CONFIDENCE_TOLERANCE = 5e-5


BOTS = {"crf1": os.path.join(ROOT, "tests", "oracles", "crf1", "bot"),
        "restaurant": os.path.join(ROOT, "tests", "oracles", "restaurant", "bot"),
        "restaurant_selector": os.path.join(ROOT, "examples", "restaurant")}


def _compile(bot: str, out: str) -> str:
    subprocess.run([PYTHON, "-m", "formc", "compile", BOTS[bot], "-o", out], check=True,
                   capture_output=True, cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def fsms(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ti")
    return {bot: _compile(bot, str(tmp / f"{bot}.fsm")) for bot in BOTS}


@pytest.fixture(scope="module")
def servers(fsms, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("ti-serve"))
    started = {}
    try:
        for bot, fsm in fsms.items():
            started[bot] = FormcServer(fsm, "--auth-token", "T", "--model-dir", tmp + "/..",
                                       cwd=tmp, env={"FORMC_TEST_MAX_EXAMPLES": "200"})
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def recorded():
    with open(RECORDED, encoding="utf-8") as f:
        return json.load(f)


def post(server, body: bytes, content_type: str = YAML, query: str = ""):
    return http("POST", f"{server.base}/model/test/intents?token=T{query}", raw=body,
                headers={"Content-Type": content_type}, timeout=120)


def same(got, want, path="") -> None:
    """Equal JSON, floats within CONFIDENCE_TOLERANCE (report figures are exact fractions and
    equal to far better than that), lists in order."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (path, sorted(got), sorted(want))
        for key in want:
            same(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (path, got, want)
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, f"{path}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert got == pytest.approx(want, abs=CONFIDENCE_TOLERANCE), (path, got, want)
    else:
        assert got == want, (path, got, want)


def _comparable(body: dict) -> dict:
    """Entity errors list the parse's entities as each NLU reports them: keep the fields Rasa's
    and formc's parses both give (formc's entity dicts are compared in test_nlu_crf_oracle)."""
    body = json.loads(json.dumps(body))
    # Rasa's ResponseSelector is a trained network (its confidences here are all 1.0), formc's a
    # stand-in: the chosen responses are compared, their confidences are not
    for row in (body.get("response_selection_evaluation") or {}).get("predictions", []):
        row["confidence"] = "(selector's own)" if row["intent_response_key_prediction"] else 0.0
    for result in (body.get("entity_evaluation") or {}).values():
        for error in result["errors"]:
            error["predicted_entities"] = [
                {k: e.get(k) for k in ("start", "end", "entity", "value", "role", "group", "extractor")}
                for e in error["predicted_entities"]]
    return body


# request -> (Rasa's status, formc's): Rasa answers these with Sanic's own error page or a 500;
# formc with a 400 in Rasa's JSON error shape saying what is wrong
DELIBERATE = {"crf1_bad_json": (400, 400), "crf1_json_without_nlu_data": (500, 400),
              "crf1_markdown": (400, 400)}


@pytest.mark.parametrize("name,bot,content_type,body",
                         [r for r in requests() if r[0] not in DELIBERATE],
                         ids=[r[0] for r in requests() if r[0] not in DELIBERATE])
def test_answer_matches_rasa(name, bot, content_type, body, servers, recorded):
    status, _h, got = post(servers[bot], body, content_type)
    want = recorded[name]
    assert status == want["status"], got
    if status == 200:
        same(_comparable(got), _comparable(want["json"]))
    else:
        assert set(got) == ERROR_KEYS and got["reason"] == want["json"]["reason"] == "BadRequest"
        assert got["code"] == status and got["status"] == "failure"
        if name == "crf1_empty_body":
            assert got["message"] == want["json"]["message"]
        else:
            assert got["message"].startswith("The request body does not contain valid YAML. Error: ")
            assert "line 2" in got["message"] or ":2:" in got["message"]


@pytest.mark.parametrize("name,bot,content_type,body",
                         [r for r in requests() if r[0] in DELIBERATE],
                         ids=[r[0] for r in requests() if r[0] in DELIBERATE])
def test_deliberate_differences_are_json_errors(name, bot, content_type, body, servers, recorded):
    rasa_status, formc_status = DELIBERATE[name]
    assert recorded[name]["status"] == rasa_status
    status, _h, got = post(servers[bot], body, content_type)
    assert status == formc_status and set(got) == ERROR_KEYS and got["reason"] == "BadRequest"
    assert "rasa_nlu_data" in got["message"] or "JSON" in got["message"]


def test_the_report_is_rasas_shape_with_every_figure(servers):
    status, _h, got = post(servers["crf1"], requests()[0][3])
    assert status == 200
    intents = got["intent_evaluation"]
    assert set(intents) == {"report", "precision", "f1_score", "accuracy", "predictions", "errors"}
    assert len(intents["predictions"]) == 29 and intents["report"]["micro avg"]["support"] == 29
    assert intents["errors"] and all(e["intent"] != e["intent_prediction"]["name"]
                                     for e in intents["errors"])
    assert "no_entity" not in got["entity_evaluation"]["CRFEntityExtractor"]["report"]


@pytest.mark.parametrize("body,content_type,fragment", [
    (b"{not json", "application/json", "JSON"),
    (b'{"text": "hi"}', "application/json", "rasa_nlu_data"),
    (b'{"rasa_nlu_data": {"common_examples": {"text": "hi"}}}', "application/json", "expected a list"),
    (b'{"rasa_nlu_data": {"common_examples": [{"intent": "greet"}]}}', "application/json", "`text`"),
    (b'{"rasa_nlu_data": {"common_examples": [{"text": "hi", "intent": "greet", "entities": '
     b'[{"start": 0, "end": 9, "entity": "x"}]}]}}', "application/json", "offsets"),
    (b"- just\n- a list\n", YAML, "mapping"),
    (b"nlu:\n- intent: faq/a/b\n  examples: |\n    - hi\n", YAML, "<request body>:2"),
    (b"\xff\xfe\x00", YAML, "UTF-8"),
])
def test_bad_input_is_a_400_json_error(servers, body, content_type, fragment):
    status, _h, got = post(servers["crf1"], body, content_type)
    assert status == 400, got
    assert set(got) == ERROR_KEYS and got["reason"] == "BadRequest" and fragment in got["message"]


def test_bounds_and_unsupported_options(servers):
    many = json.dumps({"rasa_nlu_data": {"common_examples": [
        {"text": f"hello {i}", "intent": "greet"} for i in range(201)]}}).encode()
    status, _h, got = post(servers["crf1"], many, "application/json")
    assert status == 413 and "FORMC_TEST_MAX_EXAMPLES" in got["message"]
    status, _h, got = post(servers["crf1"], b"x" * (2 * 1024 * 1024), "application/json")
    assert status == 413 and got["status"] == "failure"
    body = requests()[0][3]
    for query in ("&cross_validation_folds=3", "&callback_url=http://127.0.0.1:9/x"):
        status, _h, got = post(servers["crf1"], body, YAML, query)
        assert status == 400 and got["details"]["parameter"] == query[1:].split("=")[0]
    status, _h, got = http("POST", f"{servers['crf1'].base}/model/test/intents", raw=body,
                           headers={"Content-Type": YAML})
    assert status == 401


def test_model_query_evaluates_another_model(servers, fsms, recorded):
    status, _h, got = post(servers["crf1"], requests()[-1][3], YAML, f"&model={fsms['restaurant']}")
    assert status == 200
    same(_comparable(got), _comparable(recorded["restaurant_yaml"]["json"]))
    status, _h, got = post(servers["crf1"], requests()[-1][3], YAML, "&model=/no/such/model.fsm")
    assert status == 400 and got["details"]["parameter"] == "model"
    # the served model is unchanged
    status, _h, got = post(servers["crf1"], requests()[0][3])
    assert status == 200 and "CRFEntityExtractor" in got["entity_evaluation"]


def test_evaluation_time_is_bounded(fsms, tmp_path):
    server = FormcServer(fsms["crf1"], "--auth-token", "T", cwd=str(tmp_path),
                         env={"FORMC_TEST_SECONDS": "0"})
    try:
        status, _h, got = post(server, requests()[0][3])
        assert status == 413 and "FORMC_TEST_SECONDS" in got["message"]
        status, _h, got = http("POST", f"{server.base}/model/parse?token=T", {"text": "hello"})
        assert status == 200 and got["intent"]["name"] == "greet"     # still serving
    finally:
        server.stop()
