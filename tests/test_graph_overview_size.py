"""Issue 16: `formc graph`'s default overview of a big bot is readable: round-trip rules are one
table per state or form, more than 40 stories are one table of where they start, a form's steps
from slot to slot are unlabelled arrows; rasa-demo's overview fits in 4,000 px (it was 13,809 x
8,646). `--stories`, `--form` and `--state` still draw every step."""

from __future__ import annotations

import itertools
import os
import struct

import pytest

from formc.api import _build_untrained
from formc.cli import main
from formc.reader import read_project
from formc.views.dot import dot_available, graph_dot, render

from support.shared_paths import ROOT
from support.truth_support import starter_bot

RASA_DEMO = os.path.join(os.path.dirname(ROOT), "shared", "corpus", "rasa-demo")
REPLIES = {"greet": "utter_greet", "goodbye": "utter_goodbye", "bot_challenge": "utter_iamabot"}
needs_dot = pytest.mark.skipif(dot_available() is None, reason="Graphviz dot is not installed")


def machine(bot: str):
    project, diagnostics = read_project(bot)
    assert project is not None, diagnostics
    built, diagnostics = _build_untrained(project)
    assert built is not None, [d.render() for d in diagnostics if d.is_error]
    return built


def big_bot(path, stories: int) -> str:
    """The starter bot plus `stories` stories of four turns each (all distinct)."""
    bot = starter_bot(path)
    paths = list(itertools.product(REPLIES, repeat=4))[:stories]
    blocks = [f"- story: chat {n}\n  steps:\n" + "".join(
        f"  - intent: {i}\n  - action: {REPLIES[i]}\n" for i in p) for n, p in enumerate(paths)]
    with open(os.path.join(bot, "data", "more_stories.yml"), "w", encoding="utf-8") as handle:
        handle.write('version: "3.1"\nstories:\n' + "".join(blocks))
    return bot


def node_lines(dot: str, prefix: str) -> list[str]:
    return [line for line in dot.splitlines() if line.lstrip().startswith(prefix)]


def test_many_stories_become_one_table_and_stories_draws_them_all(tmp_path, capsys):
    bot = big_bot(tmp_path / "bot", 81)
    for name, options in (("overview.dot", []), ("full.dot", ["--stories"])):
        assert main(["graph", bot, "-o", str(tmp_path / name), *options]) == 0
    capsys.readouterr()
    overview, full = ((tmp_path / name).read_text() for name in ("overview.dot", "full.dot"))
    assert node_lines(overview, '"stories:') == []                 # no node per story
    table = node_lines(overview, '"stories" [')
    assert len(table) == 1 and "stories (" in table[0] and "where they start" in table[0]
    assert "story 'chat 0'" in table[0]
    assert '"listening" -> "stories"' in overview
    assert '"story:1" [' in full and '"stories" [' not in full


def test_round_trip_rules_are_one_table_with_each_rule(tmp_path):
    m = machine(big_bot(tmp_path, 81))
    overview, full = graph_dot(m), graph_dot(m, stories=True)
    table = node_lines(overview, '"rules:listening" [')
    assert len(table) == 1
    for trigger, action in (("greet", "utter_greet"), ("goodbye", "utter_goodbye"),
                            ("bot_challenge", "utter_iamabot"), ("nlu_fallback", "utter_default")):
        assert f'<TD ALIGN="LEFT">{trigger}</TD><TD ALIGN="LEFT"> </TD><TD ALIGN="LEFT">{action}' \
            in table[0], trigger
    assert '"listening" -> "rules:listening"' in overview
    assert not any("utter_greet" in line for line in node_lines(overview, '"step:'))
    assert any("utter_greet" in line for line in node_lines(full, '"step:'))   # detail: boxes


def test_form_steps_unlabelled_in_the_overview_labelled_for_one_form(tmp_path):
    m = machine(big_bot(tmp_path, 81))
    step = '"form:callback_form:name" -> "form:callback_form:phone_number"'
    overview, one_form = graph_dot(m), graph_dot(m, form="callback_form")
    arrow = next(line for line in overview.splitlines() if line.lstrip().startswith(step))
    assert 'label=' not in arrow and "tooltip=" in arrow and "name filled" in arrow
    detailed = next(line for line in one_form.splitlines() if line.lstrip().startswith(step))
    assert "label=" in detailed


def test_coverage_greys_never_taken_rows_and_counts_taken_ones(tmp_path):
    m = machine(big_bot(tmp_path, 81))
    greet = next(t.id for t in m.dialogue.transitions if t.id.startswith("rule:")
                 and "utter_greet" in t.actions)
    table = node_lines(graph_dot(m, coverage={greet: 3}), '"rules:listening" [')[0]
    assert "utter_greet (3x)" in table
    assert '<FONT COLOR="#a0a8b4">goodbye</FONT>' in table


def test_small_bots_keep_one_box_per_rule(tmp_path):
    m = machine(starter_bot(tmp_path))
    dot = graph_dot(m)
    assert '"rules:' not in dot and '"stories" [' not in dot
    assert any("utter_greet" in line for line in node_lines(dot, '"step:'))


@needs_dot
@pytest.mark.skipif(not os.path.isdir(RASA_DEMO), reason="the corpus is not here")
def test_rasa_demo_overview_fits_in_4000_px():
    m = machine(RASA_DEMO)
    png = render(graph_dot(m), "png")
    width, height = struct.unpack(">II", png[16:24])
    assert max(width, height) <= 4000, (width, height)
    assert '"story:1" [' in graph_dot(m, stories=True)           # every state on request
