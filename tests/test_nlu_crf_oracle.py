"""formc's CRFEntityExtractor vs real Rasa 3.6.21's /model/parse answers, text by text.

tests/oracles/crf1 (CRF defaults: Rasa's feature windows, BILOU, roles and groups) and crf2 (every
CRF option changed: five windows, plain tags, split_entities_by_comma per entity, 25 iterations,
other L1/L2, a case-insensitive RegexFeaturizer) were trained by Rasa and asked to parse
parses/texts.json (bench/oracle_tools/record_parses.py). formc compiles the same bot folders and
must give every entity with the same type, value, start, end, role, group, extractor and
processors, and the same entity/role/group confidences.
"""

from __future__ import annotations

import json
import os

import pytest

from formc.api import compile_project

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracles")
BOTS = ["crf1", "crf2"]
KEYS = ("entity", "value", "start", "end", "role", "group", "extractor", "processors")
CONFIDENCES = ("confidence_entity", "confidence_role", "confidence_group")
# measured: the largest difference is 0.0 on both bots (same crfsuite, same inputs, same order)
TOLERANCE = 1e-9


@pytest.fixture(scope="module", params=BOTS)
def recorded(request):
    root = os.path.join(HERE, request.param)
    machine, diags = compile_project(os.path.join(root, "bot"))
    assert machine is not None, diags
    with open(os.path.join(root, "parses", "rasa.json"), encoding="utf-8") as handle:
        parses = json.load(handle)["parses"]
    return machine.nlu, parses


def test_entities_match_rasa(recorded):
    nlu, parses = recorded
    diffs = []
    for rasa in parses:
        got = nlu.parse(rasa["text"])["entities"]
        ours = [{k: e.get(k) for k in KEYS} for e in got]
        theirs = [{k: e.get(k) for k in KEYS} for e in rasa["entities"]]
        if ours != theirs:
            diffs.append(f"{rasa['text']!r}: rasa {theirs} formc {ours}")
    assert not diffs, "\n".join(diffs)


def test_confidences_match_rasa(recorded):
    nlu, parses = recorded
    worst = 0.0
    compared = 0
    for rasa in parses:
        got = nlu.parse(rasa["text"])["entities"]
        for ours, theirs in zip(got, rasa["entities"]):
            for key in CONFIDENCES:
                assert (key in ours) == (key in theirs), (rasa["text"], key)
                if key in theirs:
                    worst = max(worst, abs(ours[key] - theirs[key]))
                    compared += 1
    assert compared > 20
    assert worst <= TOLERANCE, worst


def test_oracle_texts_exercise_roles_groups_and_multi_token_entities(recorded):
    """The recordings cover what the CRF must get right (so a pass means something)."""
    _nlu, parses = recorded
    entities = [e for p in parses for e in p["entities"]]
    assert any(e.get("role") for e in entities)
    assert any(e.get("group") for e in entities)
    assert any(" " in e["value"] for e in entities)
