"""Record real Rasa 3.6's answers to POST /model/test/intents -> tests/oracles/api/test_intents.json.

  RASA_VENV=/work/rasa-venv record_test_intents.py [--port 5108]
Trains and serves each bot of REQUESTS with Rasa (record.rasa_server), posts the NLU test data
(YAML as application/x-yaml, Rasa's JSON training-data format as application/json) and stores the
status and JSON body per request; tests/test_model_test_intents.py compares formc's answers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record import ORACLES, rasa_server  # noqa: E402

DATA = os.path.join(ORACLES, "api", "test_intents")
YAML = "application/x-yaml"
_JSON_SET = {"rasa_nlu_data": {"common_examples": [
    {"text": "hello", "intent": "greet"},
    {"text": "fly from Rome to London", "intent": "book_trip", "entities": [
        {"start": 9, "end": 13, "value": "Rome", "entity": "city", "role": "departure"},
        {"start": 17, "end": 23, "value": "London", "entity": "city", "role": "destination"}]},
    {"text": "a table for 3", "intent": "ask_food",
     "entities": [{"start": 12, "end": 13, "value": "3", "entity": "people"}]},
    {"text": "nope", "intent": "deny"},
    {"text": "yes", "intent": "inform"}]}}


def _file(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as handle:
        return handle.read()


def requests() -> list:
    """(name, bot, content type, body bytes), in order per bot."""
    only_greet = b'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hello\n    - hi\n'
    return [
        ("crf1_yaml", "crf1", YAML, _file("crf1.yml")),
        ("crf1_json", "crf1", "application/json", json.dumps(_JSON_SET).encode()),
        ("crf1_one_intent", "crf1", YAML, only_greet),
        ("crf1_empty_body", "crf1", YAML, b""),
        ("crf1_bad_yaml", "crf1", YAML, b"nlu: [\n  - intent: greet\n"),
        ("crf1_yaml_without_nlu", "crf1", YAML, b'version: "3.1"\nrules: []\n'),
        ("crf1_bad_json", "crf1", "application/json", b"{not json"),
        ("crf1_json_without_nlu_data", "crf1", "application/json", b'{"text": "hello"}'),
        ("crf1_markdown", "crf1", "text/markdown", b"## intent:greet\n- hello\n- hi\n"),
        ("restaurant_yaml", "restaurant", YAML, _file("restaurant.yml")),
        # examples/restaurant itself: its config has a ResponseSelector for faq/*
        ("restaurant_selector_yaml", "restaurant_selector", YAML, _file("restaurant.yml")),
    ]


#: bots that are not oracle bots: name -> their folder (served through FORMC_ORACLE_WORK)
OTHER_BOTS = {"restaurant_selector": os.path.join(ORACLES, "..", "..", "examples", "restaurant")}


def _other_bots() -> str:
    work = tempfile.mkdtemp(prefix="formc-test-intents-")
    for name, folder in OTHER_BOTS.items():
        os.makedirs(os.path.join(work, name))
        os.symlink(os.path.abspath(folder), os.path.join(work, name, "bot"))
    return work


def post(base: str, body: bytes, content_type: str) -> dict:
    req = urllib.request.Request(base + "/model/test/intents", data=body, method="POST",
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=300) as reply:
            status, raw = reply.status, reply.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return {"status": status, "json": json.loads(raw)}
    except ValueError:
        return {"status": status, "text": raw.decode("utf-8", "replace")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=5108)
    args = ap.parse_args()
    out = {}
    os.environ["FORMC_ORACLE_WORK"] = _other_bots()
    for bot in dict.fromkeys(bot for _n, bot, _t, _b in requests()):
        with rasa_server(bot, args.port, args.port + 50) as (base, _status):
            for name, of, content_type, body in requests():
                if of == bot:
                    out[name] = post(base, body, content_type)
                    print(name, out[name]["status"])
    with open(os.path.join(ORACLES, "api", "test_intents.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
