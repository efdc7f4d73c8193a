"""Issue 16, the machine as drawn: graph/inspect draw what runs (no two-stage fallback states
without a two-stage fallback rule; the core fallback's real action), form-scoped rules belong
to the form cluster, big bots get a per-story overview, coverage counts the form steps a test
took (replay and live), and failed_test_stories.yml is written beside the JSON report."""

from __future__ import annotations

import json
import os

import yaml

from formc.api import _build_untrained
from formc.cli import main
from formc.reader import read_project
from formc.testing.live import run_live_tests
from formc.testing.replay import run_tests
from formc.views.dot import graph_dot
from formc.views.text import format_machine

from support.truth_support import starter_bot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine(bot: str):
    project, diagnostics = read_project(bot)
    assert project is not None, diagnostics
    built, diagnostics = _build_untrained(project)
    assert built is not None, [d.render() for d in diagnostics if d.is_error]
    return built


def test_no_two_stage_fallback_states_without_a_two_stage_rule(tmp_path):
    m = machine(starter_bot(tmp_path))
    dot, text = graph_dot(m), format_machine(m)
    for shown in (dot, text):
        assert "fallback:affirm" not in shown and "fallback:rephrase" not in shown
    assert "runs action_default_fallback" in text and "/ action_default_fallback" in dot
    with_rule = machine(os.path.join(ROOT, "examples", "restaurant"))    # has the rule
    assert "fallback:affirm" in graph_dot(with_rule) and "fallback:affirm" in format_machine(with_rule)


def _cluster(dot: str, name: str) -> str:
    start = dot.index(f'subgraph "cluster_form_{name}" {{')
    return dot[start:dot.index("\n  }", start)]


def test_form_scoped_rules_belong_to_the_form_cluster():
    m = machine(os.path.join(ROOT, "examples", "restaurant"))
    dot = graph_dot(m)
    box = '"step:rule:bot challenge inside the form:utter_iamabot:1"'
    assert box in _cluster(dot, "restaurant_form")
    assert "[any slot]" in _cluster(dot, "restaurant_form")
    assert f"-> {box}" not in dot and f"{box} ->" not in dot     # not tied to the first state
    text = format_machine(m)
    scoped = text[text.index("  in restaurant_form (while it asks for any slot):"):]
    assert "rule:bot challenge inside the form:utter_iamabot:1" in scoped.split("\n  from ")[0]
    first = text[text.index("  from form:restaurant_form:cuisine:"):].split("\n  from ")[0]
    assert "bot challenge inside the form" not in first


def _many_stories(tmp_path) -> tuple[str, int]:
    """The starter bot plus 20 stories that share little (40+ story states)."""
    import itertools
    bot = starter_bot(tmp_path)
    replies = {"greet": "utter_greet", "goodbye": "utter_goodbye", "bot_challenge": "utter_iamabot"}
    paths = list(itertools.product(replies, repeat=4))[:20]
    blocks = [f"- story: chat {n}\n  steps:\n" + "".join(
        f"  - intent: {i}\n  - action: {replies[i]}\n" for i in path) for n, path in enumerate(paths)]
    with open(os.path.join(bot, "data", "more_stories.yml"), "w") as handle:
        handle.write('version: "3.1"\nstories:\n' + "".join(blocks))
    return bot, len(paths)


def test_big_bot_overview_one_node_per_story(tmp_path):
    bot, stories = _many_stories(tmp_path)
    m = machine(bot)
    assert len([s for s in m.dialogue.states if s.kind == "story"]) > 30
    overview, full = graph_dot(m), graph_dot(m, stories=True)
    assert '"story:1" [' in full and '"story:1" [' not in overview
    nodes = [line for line in overview.splitlines() if line.startswith('    "stories:')]
    assert 1 < len(nodes) <= stories + 1
    out = tmp_path / "o.dot"
    assert main(["graph", bot, "-o", str(out), "--stories"]) == 0
    assert '"story:1" [' in out.read_text()


def test_replay_coverage_counts_form_activation_and_submission(tmp_path, capsys):
    bot = starter_bot(tmp_path)
    report = run_tests(bot, coverage=True, json_out=str(tmp_path / "r" / "report.json"))
    assert report.failed == 0
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert {"form:callback_form:activate", "form:callback_form:submit",
            "form:callback_form:fill:name"} <= set(data["transitions_taken"])
    assert not any(t.startswith("fallback:ask") for t in data["transitions_never_taken"])


def test_live_coverage_is_printed_and_counts_what_ran(tmp_path):
    bot = starter_bot(tmp_path)
    report = run_live_tests(bot, coverage=True, json_out=str(tmp_path / "live.json"))
    assert report.failed == 0, report.text()
    assert any(line.startswith("coverage: ") for line in report.lines)
    data = json.loads((tmp_path / "live.json").read_text())
    assert {"form:callback_form:activate", "form:callback_form:submit",
            "form:callback_form:fill:phone_number"} <= set(data["transitions_taken"])


def test_failed_test_stories_written_beside_the_json_report(tmp_path):
    bot = starter_bot(tmp_path, {"tests/test_stories.yml": [("  - action: utter_iamabot",
                                                             "  - action: utter_greet")]})
    report = run_tests(bot, json_out=str(tmp_path / "results" / "report.json"))
    assert report.failed == 1
    path = tmp_path / "results" / "failed_test_stories.yml"
    doc = yaml.safe_load(path.read_text())
    assert [s["story"] for s in doc["stories"]] == [
        f"ask whether it is a bot ({bot}/tests/test_stories.yml)"]
    assert "  - action: utter_greet  # predicted: utter_iamabot" in path.read_text()
    again = tmp_path / "again"
    os.makedirs(again)
    fixed = path.read_text().replace("utter_greet  # predicted: utter_iamabot", "utter_iamabot")
    (again / "stories.yml").write_text(fixed)
    rerun = run_tests(bot, (str(again / "stories.yml"),))       # formc reads it back
    assert (rerun.passed, rerun.failed) == (1, 0), rerun.text()
    clean = starter_bot(tmp_path / "clean")
    run_tests(clean, json_out=str(tmp_path / "clean-r" / "r.json"))
    assert (tmp_path / "clean-r" / "failed_test_stories.yml").read_text() == \
        "# None of the test stories failed - all good!\n"
