"""The CRF entity extractor's storage and training: deterministic bytes, checked loading, BILOU repair."""

from __future__ import annotations

import base64
import json
import logging
import os

import pytest

import formc.nlu.crf_train as crf_train
from formc.nlu.classify import Nlu
from formc.nlu.compile import compile_nlu
from formc.nlu.crf import CrfExtractor, CrfModelError, check_model
from formc.nlu.crf_decode import consistent_bilou, to_entities

from support.nlu_support import read_bot_config, read_bot_nlu, read_domain_names

CRF1 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracles", "crf1", "bot")


@pytest.fixture(scope="module")
def crf1_nlu():
    data, _ = read_bot_nlu(CRF1)
    return data, read_bot_config(CRF1), read_domain_names(CRF1)


def test_compiling_twice_gives_the_same_bytes_forked_or_not(crf1_nlu, monkeypatch):
    first, _ = compile_nlu(*crf1_nlu)
    again, _ = compile_nlu(*crf1_nlu)
    monkeypatch.setattr(crf_train, "FORK_MIN_EXAMPLES", 1)      # train in a forked child
    forked, _ = compile_nlu(*crf1_nlu)
    dump = lambda m: json.dumps(m["crf"], sort_keys=True)       # noqa: E731
    assert dump(first) == dump(again) == dump(forked)
    assert [t["tag"] for t in first["crf"][0]["taggers"]] == ["entity", "role", "group"]


def test_a_damaged_model_is_dropped_with_a_warning_and_parsing_goes_on(crf1_nlu, caplog):
    model, _ = compile_nlu(*crf1_nlu)
    tagger = model["crf"][0]["taggers"][0]
    data = bytearray(base64.b64decode(tagger["model"]))
    data[100] ^= 0xFF
    tagger["model"] = base64.b64encode(bytes(data)).decode("ascii")
    with caplog.at_level(logging.WARNING, logger="formc.nlu"):
        nlu = Nlu(model)
    assert "CRF entity model not loaded" in caplog.text
    parsed = nlu.parse("book a trip from Berlin to Paris")
    assert parsed["intent"]["name"] == "book_trip" and parsed["entities"] == []


def test_model_checks_name_what_is_wrong():
    with pytest.raises(CrfModelError, match="SHA-256"):
        check_model(b"lCRF" + bytes(60), "0" * 64)
    import hashlib
    junk = b"PK\x03\x04" + bytes(60)
    with pytest.raises(CrfModelError, match="not a crfsuite model"):
        check_model(junk, hashlib.sha256(junk).hexdigest())
    with pytest.raises(CrfModelError, match="truncated"):
        check_model(b"lCRF", hashlib.sha256(b"lCRF").hexdigest())
    assert CrfExtractor.load({"taggers": [{"tag": "entity", "model": "!!", "sha256": ""}],
                              "features": []}) is None


def test_bilou_repair_settles_mixed_labels_as_rasa():
    # B-a I-b L-a: 'a' covers 2/3 of the tokens; the changed token gets the rounded score
    tags, conf = consistent_bilou(["B-a", "I-b", "L-a"], [0.9, 0.6, 0.8])
    assert tags == ["B-a", "I-a", "L-a"]
    assert conf[0] == 0.9 and conf[2] == 0.8 and conf[1] == round(2 * 0.85 * 0.67 / 1.52, 2)
    # an unclosed B- ends at the next O; a lone B- becomes U-
    assert consistent_bilou(["B-a", "I-a", "O"], [1, 1, 1])[0] == ["B-a", "L-a", "O"]
    assert consistent_bilou(["B-a", "O"], [1, 1])[0] == ["U-a", "O"]


def test_tokens_of_one_label_join_across_commas_only_when_not_split():
    tokens = [("ham", 0, 3), ("peppers", 5, 12)]
    tags = {"entity": ["topping", "topping"]}
    conf = {"entity": [0.9, 0.7]}
    split = to_entities("ham, peppers", tokens, tags, conf, {"split_entities_by_comma": True})
    joined = to_entities("ham, peppers", tokens, tags, conf,
                         {"split_entities_by_comma": True, "topping": False})
    assert [e["value"] for e in split] == ["ham", "peppers"]
    assert [(e["value"], e["confidence_entity"]) for e in joined] == [("ham, peppers", 0.7)]


def test_cross_validation_reports_entities_per_role_and_group(crf1_nlu):
    from formc.nlu.evaluate import cross_validate

    data, config, domain = crf1_nlu
    report = cross_validate(data, config, domain, folds=5)["entities"]
    labels = set(report["per_entity"])
    assert {"city.departure", "city.destination", "size.1", "topping.1", "cuisine"} <= labels
    micro = report["micro"]
    assert micro["support"] == sum(len(ex.entities) for ex in data.examples)
    assert 0.3 < micro["f1"] <= 1.0
    assert all(0.0 <= m["precision"] <= 1.0 for m in report["per_entity"].values())


def test_entity_report_counts_exact_spans_once():
    from formc.nlu.entity_eval import entity_report

    gold = [{("city.departure", 5, 11)}, {("cuisine", 0, 4)}]
    found = [{("city.departure", 5, 11), ("city", 15, 20)}, {("cuisine", 0, 5)}]
    rep = entity_report(gold, found)
    assert rep["micro"] == {"precision": round(1 / 3, 4), "recall": 0.5, "f1": 0.4, "support": 2}
    assert rep["per_entity"]["cuisine"]["f1"] == 0.0
