"""Response selectors trained in a forked child: the same model bytes and notes as in-process, and a
child that dies is replaced by training in the parent."""

from __future__ import annotations

import json
import os

import pytest

import formc.nlu.compile as nlu_compile
from formc.nlu.compile import compile_nlu
from formc.nlu.forked import ForkedCall

from support.nlu_support import CORPUS, read_bot_config, read_bot_nlu, read_domain_names


@pytest.fixture(scope="module")
def faq_bot():
    root = os.path.join(CORPUS, "rasa-ch-faq")
    data, _ = read_bot_nlu(root)
    return data, read_bot_config(root), read_domain_names(root)


def test_selectors_trained_in_a_child_equal_those_trained_in_process(faq_bot, monkeypatch):
    monkeypatch.setattr(nlu_compile, "FORK_MIN_SELECTOR_EXAMPLES", 10 ** 9)
    inline, inline_notes = compile_nlu(*faq_bot)
    monkeypatch.setattr(nlu_compile, "FORK_MIN_SELECTOR_EXAMPLES", 1)
    forked, forked_notes = compile_nlu(*faq_bot)
    selectors = inline["response_selector"]["selectors"]
    assert selectors and all(s["model"]["kind"] == "logreg" for s in selectors.values())
    assert json.dumps(forked, sort_keys=True) == json.dumps(inline, sort_keys=True)
    assert [d.render() for d in forked_notes] == [d.render() for d in inline_notes]


def _dies_in_a_child(parent: int, value: list) -> list:
    if os.getpid() != parent:
        os._exit(3)
    return value + [len(value)]


def test_a_child_that_dies_is_replaced_by_the_parent():
    call = ForkedCall(True, _dies_in_a_child, os.getpid(), [1, 2])
    assert call.pid > 0                       # it did fork
    assert call.result() == [1, 2, 2]


def test_results_come_back_as_json_in_or_out_of_a_child():
    for fork in (True, False):
        call = ForkedCall(fork, lambda: {"a": (1, 2.5), "b": [0.1 + 0.2]})
        assert call.result() == {"a": [1, 2.5], "b": [0.30000000000000004]}
