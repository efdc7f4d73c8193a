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
