"""JiebaTokenizer as Rasa 3.6: jieba's tokens and offsets, user dictionaries, token_pattern, F316.

Parity: tests/oracles/jieba{,2}/parses/rasa.json are real Rasa 3.6.21 /model/parse answers
(bench/oracle_tools/record_parses.py) and tests/oracles/jieba/*.json recorded conversations
(bench/oracle_tools/record.py); formc's parse of each text must have the same text_tokens,
intent, entities and every ranking confidence within 1e-6.
"""

from __future__ import annotations

import glob
import json
import os
import shutil

import pytest

from formc.api import compile_project
from formc.artifact import dumps_machine, loads_machine
from formc.nlu import jieba_tokens
from formc.nlu.jieba_tokens import JIEBA, name_tokens, register, spec_mode
from formc.nlu.tokenize import CHAR, cjk_mode, tokenize

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLES = os.path.join(HERE, "oracles")
TOLERANCE = 1e-6
_MACHINES: dict = {}


def _machine(bot: str):
    if bot not in _MACHINES:
        machine, diagnostics = compile_project(os.path.join(ORACLES, bot, "bot"))
        assert machine is not None, [d.render() for d in diagnostics if d.is_error]
        _MACHINES[bot] = machine
    return _MACHINES[bot]


def _load(path: str):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _entities(parse: dict) -> list:
    return [(e["entity"], e["value"], e["start"], e["end"], e["extractor"])
            for e in parse.get("entities") or []]


def _compare(got: dict, want: dict) -> list[str]:
    """Differences between formc's parse and Rasa's (tokens, intent, entities, confidences)."""
    diffs = []
    if got.get("text_tokens") != want.get("text_tokens", got.get("text_tokens")):
        diffs.append(f"tokens {got.get('text_tokens')} != {want.get('text_tokens')}")
    if got["intent"]["name"] != want["intent"]["name"]:
        diffs.append(f"intent {got['intent']} != {want['intent']}")
    if _entities(got) != _entities(want):
        diffs.append(f"entities {_entities(got)} != {_entities(want)}")
    ours = {r["name"]: r["confidence"] for r in got.get("intent_ranking") or []}
    for r in want.get("intent_ranking") or []:
        if abs(ours.get(r["name"], -1.0) - r["confidence"]) > TOLERANCE:
            diffs.append(f"{r['name']}: formc {ours.get(r['name'])} rasa {r['confidence']}")
    return diffs


@pytest.mark.parametrize("bot", ["jieba", "jieba2"])
def test_model_parse_matches_rasa(bot):
    recorded = _load(os.path.join(ORACLES, bot, "parses", "rasa.json"))
    assert recorded["rasa"]["version"] == "3.6.21"
    nlu = _machine(bot).nlu
    diffs = {}
    for want in recorded["parses"]:
        found = _compare(nlu.parse(want["text"]), want)
        if found:
            diffs[want["text"]] = found
    assert not diffs, json.dumps(diffs, ensure_ascii=False, indent=1)
    assert len(recorded["parses"]) >= 20


def test_recorded_conversation_parses_match_rasa():
    nlu = _machine("jieba").nlu
    turns = 0
    for path in sorted(glob.glob(os.path.join(ORACLES, "jieba", "0*.json"))):
        for turn in _load(path)["turns"]:
            assert not _compare(nlu.parse(turn["user"]), turn["nlu"]), (path, turn["user"])
            turns += 1
    assert turns == 20


def test_user_dictionary_words_are_tokens():
    text = "我想点一份麻辣香锅，外卖小哥"
    with_dict = _machine("jieba").nlu.parse(text)["text_tokens"]
    plain = [[s, e] for _w, s, e in tokenize(text, JIEBA)]
    assert [5, 9] in with_dict and [10, 14] in with_dict        # 麻辣香锅, 外卖小哥
    assert [5, 9] not in plain                                   # jieba alone splits 麻辣 / 香锅


def test_jieba_keeps_spaces_and_punctuation_as_tokens():
    text = "来 2 份, ok!"
    tokens = tokenize(text, JIEBA)
    assert [w for w, _s, _e in tokens] == ["来", " ", "2", " ", "份", ",", " ", "ok", "!"]
    assert all(text[s:e] == w for w, s, e in tokens)


def test_token_pattern_splits_tokens_as_rasa():
    tokens = jieba_tokens._apply_token_pattern([("abc123", 4, 10), ("  ", 10, 12)],
                                               jieba_tokens.re.compile(r"[a-z]+|\d"))
    # Rasa keeps the whole token's lemma on each piece, and counts lemmas (jieba2/parses: 3.5元)
    assert [(t.text, s, e) for t, (_l, s, e) in zip(tokens[:4], tokens)] == [
        ("abc", 4, 7), ("1", 7, 8), ("2", 8, 9), ("3", 9, 10)]
    assert tokens == [("abc123", 4, 7), ("abc123", 7, 8), ("abc123", 8, 9), ("abc123", 9, 10),
                      ("  ", 10, 12)]


def test_intent_names_split_only_with_the_flag():
    assert name_tokens("ask_coupon", {"intent_tokenization_flag": True}) == [
        ("ask", 0, 3), ("coupon", 4, 10)]
    assert name_tokens("ask_coupon", {"intent_tokenization_flag": False}) == [("ask_coupon", 0, 10)]
    assert name_tokens("a+b", {"intent_tokenization_flag": True, "intent_split_symbol": "+"}) == [
        ("a", 0, 1), ("b", 2, 3)]


def test_pipelines_without_jieba_keep_their_modes():
    assert cjk_mode("zh", ("JiebaTokenizer",)) == JIEBA
    assert cjk_mode("zh", ("mypkg.BertTokenizer",)) == CHAR
    assert cjk_mode("zh", ("WhitespaceTokenizer", "JiebaTokenizer")) == "run"


def test_fsm_carries_the_dictionary(tmp_path):
    bot = tmp_path / "bot"
    shutil.copytree(os.path.join(ORACLES, "jieba", "bot"), bot)
    machine, _ = compile_project(str(bot))
    text = dumps_machine(machine, root=str(bot))
    shutil.rmtree(bot / "dict")                      # the .fsm no longer needs the folder
    loaded = loads_machine(text)
    tokens = loaded.nlu.parse("一份麻辣香锅")["text_tokens"]
    assert tokens == [[0, 2], [2, 6]]                  # 一份 麻辣香锅
    assert loaded.nlu_data["tokenizer"]["jieba"]["dictionaries"][0][0] == "food.txt"


def test_a_damaged_spec_is_refused():
    spec = {"dictionaries": [["a.txt", "词语 5\n"]]}
    spec["mode"] = spec_mode(spec)
    assert register(dict(spec)) == spec["mode"]
    spec["dictionaries"] = [["a.txt", "别的 5\n"]]
    with pytest.raises(ValueError, match="damaged"):
        register(spec)


# ---------------------------------------------------------------------------- bad input

def _bot_with(tmp_path, dictionary_path: str):
    bot = tmp_path / "bot"
    shutil.copytree(os.path.join(ORACLES, "jieba", "bot"), bot)
    config = (bot / "config.yml").read_text(encoding="utf-8")
    (bot / "config.yml").write_text(config.replace("dictionary_path: dict",
                                                   f"dictionary_path: {dictionary_path}"),
                                    encoding="utf-8")
    return bot


def _f316(bot) -> list:
    machine, diagnostics = compile_project(str(bot))
    found = [d for d in diagnostics if d.code == "F316"]
    return machine, found


def test_missing_dictionary_folder_is_an_error_at_the_option(tmp_path):
    bot = _bot_with(tmp_path, "nowhere")
    machine, found = _f316(bot)
    assert machine is None
    assert [d.severity for d in found] == ["error"]
    assert "does not exist" in found[0].message
    assert found[0].span.file.endswith("config.yml") and found[0].span.line == 8


def test_dictionary_path_naming_a_file_is_an_error(tmp_path):
    machine, found = _f316(_bot_with(tmp_path, "dict/food.txt"))
    assert machine is None and "is a file, not a folder" in found[0].message


def test_non_utf8_dictionary_is_an_error_at_its_line(tmp_path):
    bot = _bot_with(tmp_path, "dict")
    (bot / "dict" / "gbk.txt").write_bytes("好词 3\n".encode() + "坏词 5\n".encode("gbk"))
    machine, found = _f316(bot)
    assert machine is None
    assert len(found) == 1 and "not UTF-8" in found[0].message
    assert found[0].span.file.endswith("gbk.txt")
    assert (found[0].span.line, found[0].span.col) == (2, 1)
    assert "gbk.txt:2:1: error:" in found[0].render()


def test_empty_dictionary_folder_is_a_warning(tmp_path):
    bot = _bot_with(tmp_path, "empty")
    (bot / "empty").mkdir()
    machine, found = _f316(bot)
    assert machine is not None
    assert [d.severity for d in found] == ["warning"]
