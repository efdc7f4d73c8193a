"""CJK tokenization modes: "run" (Rasa's WhitespaceTokenizer, exact) and "char" (one token per
CJK character), how config.yml picks one, and that a compiled .fsm parses as it was trained."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from formc.artifact import dumps_machine, loads_machine
from formc.api import compile_project
from formc.errors import Reporter
from formc.model import Domain, Intent, NluConfig, NluData, NluExample
from formc.nlu.classify import Nlu
from formc.nlu.compile import compile_nlu
from formc.nlu.tokenize import CHAR, JIEBA, RUN, cjk_mode, tokenize
from formc.reader import read_project
from formc.reader.config import read_config
from formc.yaml_loader import load_yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
CJK_CHARS = "我想买价格是元東京タワーへ行くーｰ々〆안녕하세요"


# ----------------------------------------------------------------------------- tokenize

def test_char_mode_splits_cjk_and_keeps_other_words_whole():
    text = "我想买iPhone 12，价格是3999元!"
    assert tokenize(text, CHAR) == [
        ("我", 0, 1), ("想", 1, 2), ("买", 2, 3), ("iPhone", 3, 9), ("12", 10, 12),
        ("价", 13, 14), ("格", 14, 15), ("是", 15, 16), ("3999", 16, 20), ("元", 20, 21)]


def test_char_mode_kana_hangul_and_punctuation():
    assert [t[0] for t in tokenize("東京タワーへ行く。", CHAR)] == list("東京タワーへ行く")
    assert tokenize("안녕 하세요?", CHAR) == [("안", 0, 1), ("녕", 1, 2), ("하", 3, 4),
                                          ("세", 4, 5), ("요", 5, 6)]
    # punctuation between CJK characters is cleaned away as at a word's edge in "run"
    assert [t[0] for t in tokenize("好的，谢谢！see you...", CHAR)] == \
        ["好", "的", "谢", "谢", "see", "you"]


def test_run_mode_keeps_rasas_whitespace_quirks():
    # a CJK-only word falls in Rasa's emoji class and is dropped; no token left -> whole text
    assert tokenize("你好") == tokenize("你好", RUN) == [("你好", 0, 2)]
    assert tokenize("查 话费 now") == [("now", 5, 8)]
    assert tokenize("I'm here!") == [("I", 0, 1), ("m", 2, 3), ("here", 4, 8)]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=st.sampled_from(list(CJK_CHARS + " ,.!?，。a1-'")))))
def test_spans_index_the_text_in_both_modes(text):
    for mode in (RUN, CHAR):
        tokens = tokenize(text, mode)
        assert tokens, mode
        previous_end = 0
        for word, start, end in tokens:
            assert text[start:end] == word, (mode, word, start, end)
            assert previous_end <= start <= end <= len(text)
            previous_end = end
    cjk = [(w, s) for w, s, _e in tokenize(text, CHAR) if w in CJK_CHARS and len(w) == 1]
    assert [w for w, _s in cjk] == [c for c in text if c in CJK_CHARS]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF)))
def test_char_mode_equals_run_mode_without_cjk(text):
    assert tokenize(text, CHAR) == tokenize(text, RUN)


# ------------------------------------------------------------------------ choosing a mode

def _config(text: str) -> tuple[NluConfig, Reporter]:
    doc, _ = load_yaml(text, "config.yml")
    rep = Reporter()
    return read_config(doc, "config.yml", rep).nlu, rep


@pytest.mark.parametrize("yaml_text,mode", [
    ("language: zh\npipeline:\n  - name: WhitespaceTokenizer\n", RUN),
    ("language: zh\npipeline:\n  - name: JiebaTokenizer\n", JIEBA),       # jieba itself
    ("language: ja\npipeline: []\n", CHAR),
    ("language: ko_KR\n", CHAR),
    ("language: zh\npipeline:\n  - name: compoments.nlu.tokenizers.bert_tokenizer."
     "CustomBertTokenizer\n", CHAR),
    ("language: en\npipeline:\n  - name: SpacyTokenizer\n", RUN),
    ("language: de\n", RUN),
    ("language: zh\npipeline:\n  - name: WhitespaceTokenizer\nformc:\n  cjk_tokens: char\n", CHAR),
    ("language: zh\nformc:\n  cjk_tokens: run\n", RUN),
    ("pipeline:\n  - name: JiebaTokenizer\n", None),       # no language: the examples decide
])
def test_config_fills_the_mode(yaml_text, mode):
    config, rep = _config(yaml_text)
    assert config.cjk_tokens == mode
    assert not rep.diagnostics


def test_config_formc_block_mistakes():
    config, rep = _config("language: zh\nformc:\n  cjk_tokens: words\n  colour: red\n")
    assert config.cjk_tokens == CHAR                 # the bad value is ignored, default kept
    codes = sorted((d.severity, d.code) for d in rep.diagnostics)
    assert codes == [("error", "F222"), ("warning", "F222")]


def test_mode_from_examples_without_a_language():
    assert cjk_mode(None, (), ["我想查话费", "hi"]) == CHAR
    assert cjk_mode("en", ("JiebaTokenizer",), ["我想查话费"]) == JIEBA
    assert cjk_mode("en", ("WhitespaceTokenizer",), ["我想查话费"]) == RUN
    assert cjk_mode("en", (), ["book a table at 北京饭店 for two"]) == RUN


# ------------------------------------------------------------------ compile and parse

EXAMPLES = [("查话费", "balance"), ("帮我查一下话费", "balance"), ("我还剩多少话费", "balance"),
            ("查流量", "data"), ("流量还剩多少", "data"), ("我的流量包用了多少", "data"),
            ("你好", "greet"), ("您好", "greet"), ("hello", "greet")]


def _model(mode, scorer="logreg"):
    data = NluData(examples=tuple(NluExample(t, i) for t, i in EXAMPLES))
    domain = Domain(intents=tuple(Intent(i) for i in ("balance", "data", "greet")))
    config = NluConfig(language="zh", cjk_tokens=mode, intent_scorer=scorer)
    model, _ = compile_nlu(data, config, domain)
    return json.loads(json.dumps(model))


@pytest.mark.parametrize("scorer", ["logreg", "tfidf"])
def test_scorer_records_char_mode_and_run_stays_unmarked(scorer):
    char, run = _model(CHAR, scorer), _model(RUN, scorer)
    assert char["scorer"]["cjk_tokens"] == CHAR
    assert "cjk_tokens" not in run["scorer"]         # "run" models keep their old bytes
    assert Nlu(char).parse("话费还剩多少")["intent"]["name"] == "balance"
    assert Nlu(char).parse("流量用了多少")["intent"]["name"] == "data"


def test_word_caches_do_not_leak_between_modes():
    char, run = Nlu(_model(CHAR)), Nlu(_model(RUN))
    texts = ["话费还剩多少", "查 流量", "hello 你好"]
    first = [(run.parse(t), char.parse(t)) for t in texts]
    again = [(Nlu(_model(RUN)).parse(t), Nlu(_model(CHAR)).parse(t)) for t in reversed(texts)]
    assert first == list(reversed(again))


def test_phone_plan_zh_fsm_records_jieba_mode_and_parses(monkeypatch):
    monkeypatch.chdir(ROOT)
    machine, diagnostics = compile_project(os.path.join("examples", "phone-plan-zh"))
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    loaded = loads_machine(dumps_machine(machine, root=os.path.join("examples", "phone-plan-zh")))
    assert loaded.config.nlu.cjk_tokens == JIEBA      # its pipeline names JiebaTokenizer
    assert loaded.nlu_data["scorer"]["cjk_tokens"] == JIEBA
    nlu = loaded.nlu
    assert nlu.parse("帮我查一下话费还有多少")["intent"]["name"] == "查话费"
    parsed = nlu.parse("查一下我的日租宝还剩多少流量")
    assert parsed["intent"]["name"] == "查流量包"
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("data_package", "日租宝")]


def test_entities_do_not_depend_on_the_mode():
    project, _ = read_project(os.path.join(ROOT, "examples", "phone-plan-zh"))
    models = {mode: compile_nlu(project.nlu, dataclasses.replace(project.config.nlu,
                                                                 cjk_tokens=mode),
                                project.domain)[0] for mode in (RUN, CHAR)}
    assert models[RUN]["extractor"] == models[CHAR]["extractor"]
    run, char = Nlu(models[RUN]), Nlu(models[CHAR])
    for text in ("帮我查010-12345678的话费", "我的5G畅享包还有流量吗", "+8613812345678还有多少余额",
                 "是50元流量包", "查一下视频定向流量包", "话费"):
        assert char.parse(text)["entities"] == run.parse(text)["entities"], text
        assert char.parse(text)["entities"], text
