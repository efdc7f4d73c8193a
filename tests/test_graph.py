"""`formc graph`: golden DOT files for the example bots (FORMC_UPDATE_GOLDEN=1 rewrites them),
filters, coverage shading, svg/png through Graphviz, and the message without Graphviz."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from formc.artifact import dump_machine
from formc.cli import main
from formc.views.dot import coverage_counts, graph_dot
from formc.reader import read_project
from formc.api import _build_untrained as _build

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden")
EXAMPLES = ("hello", "restaurant", "phone-plan-zh")
_MACHINES: dict = {}


def machine_of(bot: str):
    """The example bot compiled once per session (training-free intent scorer: the graph does
    not depend on NLU weights)."""
    if bot not in _MACHINES:
        project, diagnostics = read_project(os.path.join(ROOT, "examples", bot))
        assert project is not None, diagnostics
        machine, diagnostics = _build(project)
        assert machine is not None, [d.render() for d in diagnostics if d.is_error]
        _MACHINES[bot] = machine
    return _MACHINES[bot]


@pytest.mark.parametrize("bot", EXAMPLES)
def test_dot_matches_golden(bot):
    text = graph_dot(machine_of(bot))
    path = os.path.join(GOLDEN, f"{bot}.dot")
    if os.environ.get("FORMC_UPDATE_GOLDEN") == "1" or not os.path.exists(path):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        if os.environ.get("FORMC_UPDATE_GOLDEN") != "1":
            pytest.fail(f"wrote missing golden file {path}; check it and rerun")
    with open(path, encoding="utf-8") as handle:
        assert text == handle.read(), f"DOT of {bot} changed; FORMC_UPDATE_GOLDEN=1 rewrites it"


def test_dot_is_deterministic_across_builds():
    project, _ = read_project(os.path.join(ROOT, "examples", "restaurant"))
    again, _ = _build(project)
    assert graph_dot(again) == graph_dot(machine_of("restaurant"))


def test_restaurant_dot_shape():
    text = graph_dot(machine_of("restaurant"))
    assert 'subgraph "cluster_form_restaurant_form" {' in text
    assert 'subgraph "cluster_fallback" {' in text
    # the fill transition: asking cuisine -> asking num_people, labelled with guard and action
    assert ('"form:restaurant_form:cuisine" -> "form:restaurant_form:num_people" '
            '[id="t_form_restaurant_form_fill_cuisine", label="[asking cuisine, cuisine filled]'
            '\\n/ restaurant_form"') in text
    # a rule that keeps the conversation where it is becomes a step box, trigger first
    assert ('"step:rule:greet later in the conversation:utter_greet:1" '
            '[id="t_rule_greet_later_in_the_conversation_utter_greet_1", shape="box", '
            'style="rounded", label="greet\\n/ utter_greet"') in text
    assert '"listening" [id="state_listening", label="listening", shape="doublecircle"' in text


def test_form_filter_keeps_only_that_form():
    text = graph_dot(machine_of("restaurant"), form="restaurant_form")
    assert "ask cuisine" in text and "utter_goodbye" not in text and "cluster_fallback" not in text
    with pytest.raises(ValueError, match="no form 'nope' in the machine; forms: restaurant_form"):
        graph_dot(machine_of("restaurant"), form="nope")


def test_state_filter_shows_neighbours():
    text = graph_dot(machine_of("restaurant"), state="num_people")
    assert '"form:restaurant_form:num_people" [' in text
    assert '"form:restaurant_form:outdoor_seating" [' in text       # its successor
    assert '"form:restaurant_form:preferences" [' not in text        # two steps away
    with pytest.raises(ValueError, match="no state 'x' in the machine"):
        graph_dot(machine_of("restaurant"), state="x")


def test_coverage_shades_never_taken_transitions():
    machine = machine_of("restaurant")
    taken = "form:restaurant_form:fill:cuisine"
    never = "form:restaurant_form:fill:num_people"
    counts = coverage_counts({"transitions_taken": [taken], "transitions_never_taken": [never]})
    text = graph_dot(machine, coverage=counts)
    line_taken = next(line for line in text.splitlines() if 'id="t_form_restaurant_form_fill_cuisine"' in line)
    line_never = next(line for line in text.splitlines() if 'id="t_form_restaurant_form_fill_num_people"' in line)
    assert "(1x)" in line_taken and "dashed" not in line_taken
    assert 'color="#a0a8b4"' in line_never and 'style="dashed"' in line_never
    assert coverage_counts({"transitions": {"a": 3, "b": 0}}) == {"a": 3, "b": 0}
    assert coverage_counts({"transitions": ["a", "a"]}) == {"a": 2}


def _fsm(tmp_path, bot="restaurant") -> str:
    path = str(tmp_path / f"{bot}.fsm")
    dump_machine(machine_of(bot), path, root=os.path.join(ROOT, "examples", bot))
    return path


def test_cli_writes_dot_from_fsm(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["graph", _fsm(tmp_path), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == graph_dot(machine_of("restaurant"))
    assert capsys.readouterr().out.startswith(f"wrote {out} (")


def test_cli_with_coverage_file(tmp_path):
    cov = tmp_path / "cov.json"
    cov.write_text(json.dumps({"transitions": {"form:restaurant_form:activate": 2}}))
    out = tmp_path / "g.dot"
    assert main(["graph", _fsm(tmp_path), "-o", str(out), "--coverage", str(cov)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "(2x)" in text and "dashed" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_svg_and_png_rendered_with_dot(tmp_path):
    svg = tmp_path / "g.svg"
    png = tmp_path / "g.png"
    fsm = _fsm(tmp_path)
    assert main(["graph", fsm, "-o", str(svg)]) == 0
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert 'id="state_form_restaurant_form_cuisine"' in text
    assert main(["graph", fsm, "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FORMC_UPDATE_DOCS") == "1":
        os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
        assert main(["graph", fsm, "-o", os.path.join(ROOT, "docs", "restaurant-graph.png")]) == 0


def test_without_dot_svg_fails_clearly_and_dot_still_works(tmp_path, monkeypatch, capsys):
    fsm = _fsm(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))          # a PATH without Graphviz
    assert main(["graph", fsm, "-o", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert ("formc graph: Graphviz 'dot' is not installed, so a .svg file cannot be drawn; "
            "install it (Debian: apt-get install graphviz) or write a .dot file instead") in err
    assert not (tmp_path / "g.svg").exists()
    assert main(["graph", fsm, "-o", str(tmp_path / "g.dot")]) == 0


def test_unknown_extension_is_a_usage_error(tmp_path, capsys):
    assert main(["graph", _fsm(tmp_path), "-o", str(tmp_path / "g.gif")]) == 2
    assert "use a .dot, .svg or .png file" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("bot", EXAMPLES)
def test_golden_dot_is_valid_graphviz(bot):
    path = os.path.join(GOLDEN, f"{bot}.dot")
    proc = subprocess.run(["dot", "-Tsvg", path], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
