"""formc's default NLU vs. real Rasa 3.6 (light pipeline) on the 18 recorded restaurant conversations.

Reads /work/shared/rasa-baseline/oracle/light/*.json in place and prints a comparison table
(run with -s to see it). Every recorded turn must give the same intent (incl. the fallback
decision), the same entities, and a confidence within 0.02 (in practice < 1e-4).
"""

from __future__ import annotations

import glob
import json
import os

import pytest

from formc.nlu.classify import Nlu
from formc.nlu.compile import compile_nlu
from support.nlu_support import LIGHT, ORACLE, RASA_RESTAURANT, read_bot_nlu, read_domain_names

pytestmark = pytest.mark.skipif(not os.path.isdir(ORACLE), reason="oracle not available")


@pytest.fixture(scope="module")
def nlu():
    data, diags = read_bot_nlu(RASA_RESTAURANT)
    assert not [d for d in diags if d.is_error]
    model, diags = compile_nlu(data, LIGHT, read_domain_names(RASA_RESTAURANT))
    assert not [d for d in diags if d.is_error]
    return Nlu.from_dict(json.loads(json.dumps(model, sort_keys=True)))


def load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def oracle_turns():
    index = load(os.path.join(ORACLE, "index.json"))
    for path in sorted(glob.glob(os.path.join(ORACLE, "[0-9]*.json"))):
        conv = load(path)
        for i, turn in enumerate(conv["turns"]):
            if turn.get("nlu"):
                text = index["long_message"] if turn["user"] == "__LONG__" else turn["user"]
                yield conv["id"], i, text, turn["nlu"]


def test_every_oracle_turn_matches(nlu):
    rows, failures, worst = [], [], 0.0
    for conv, i, text, expected in oracle_turns():
        got = nlu.parse(text)
        diff = abs(got["intent"]["confidence"] - expected["intent"]["confidence"])
        worst = max(worst, diff)
        ents = [{k: e[k] for k in ("entity", "value", "start", "end", "extractor")}
                for e in got["entities"]]
        ok = (got["intent"]["name"] == expected["intent"]["name"] and diff < 0.02
              and ents == expected["entities"])
        rows.append(f"{conv[:22]:22} {i:2d} {text[:28]:28} {expected['intent']['name']:18} "
                    f"{expected['intent']['confidence']:.6f} {got['intent']['confidence']:.6f} "
                    f"{diff:.1e} {'ok' if ok else 'MISMATCH'}")
        if not ok:
            failures.append(rows[-1])
    print("\n".join(["conversation           turn text                         rasa intent"
                     "        rasa conf formc conf diff"] + rows))
    print(f"turns {len(rows)}, worst |diff| {worst:.2e}")
    assert len(rows) >= 70
    assert not failures, "\n".join(failures)
    assert worst < 1e-3


def test_vocabulary_size_matches_rasa():
    # Rasa's own error message in oracle 11 says the model expects 1381 = 1379 + 2 features.
    data, _ = read_bot_nlu(RASA_RESTAURANT)
    model, _ = compile_nlu(data, LIGHT, read_domain_names(RASA_RESTAURANT))
    scorer = model["scorer"]
    assert len(scorer["count_vectors"][0]["vocabulary"]) == 1379
    assert scorer["n_features"] == 1381


def test_compile_is_deterministic():
    data, _ = read_bot_nlu(RASA_RESTAURANT)
    dom = read_domain_names(RASA_RESTAURANT)
    a = json.dumps(compile_nlu(data, LIGHT, dom)[0], sort_keys=True)
    b = json.dumps(compile_nlu(data, LIGHT, dom)[0], sort_keys=True)
    assert a == b
