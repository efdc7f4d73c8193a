"""`formc diff` and `formc inspect` on real builds of a small bot and an edited copy of it."""

from __future__ import annotations

import json

from formc.artifact import dump_machine
from formc.cli import main
from formc.views.diff import diff_machines, format_diff, is_empty
from formc.views.text import format_machine
from formc.reader import read_project
from formc.api import _build_untrained as _build
from support.validate_fixtures import DOMAIN, NLU, RULES, write_bot


def build(root, **changes):
    project, diagnostics = read_project(write_bot(root, **changes))
    machine, diagnostics = _build(project)
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    return machine


EDITED_DOMAIN = (DOMAIN.replace("  - stop\n", "  - stop\n  - thank\n")
                 .replace('    - text: "Hello!"\n', '    - text: "Hello!"\n    - text: "Hi!"\n')
                 + "  utter_welcome:\n    - text: \"You're welcome.\"\n")
EDITED_NLU = NLU + "- intent: thank\n  examples: |\n    - thanks\n    - thank you\n"
EDITED_RULES = (RULES.replace("  - action: utter_done\n", "  - action: utter_done\n  - action: utter_greet\n")
                + "\n- rule: thank\n  steps:\n  - intent: thank\n  - action: utter_welcome\n")


def test_identical_builds_have_no_differences(tmp_path):
    a, b = build(tmp_path / "a"), build(tmp_path / "b")
    result = diff_machines(a, b)
    assert is_empty(result)
    assert format_diff(result, "a", "b") == "--- a\n+++ b\nno differences in the machine"


def test_diff_reports_changes_in_machine_terms(tmp_path):
    old = build(tmp_path / "old")
    new = build(tmp_path / "new", domain=EDITED_DOMAIN, nlu=EDITED_NLU, rules=EDITED_RULES)
    result = diff_machines(old, new)
    assert result["transitions"]["added"] == ["rule:submit the order:utter_greet:2",
                                               "rule:thank:utter_welcome:1"]
    assert result["transitions"]["removed"] == []
    assert result["intents"]["added"] == ["thank"]
    assert result["responses"]["added"] == ["utter_welcome"]
    changed = {c["name"]: c["changes"] for c in result["responses"]["changed"]}
    assert changed == {"utter_greet": {"variations": {
        "old": [{"text": "Hello!"}], "new": [{"text": "Hello!"}, {"text": "Hi!"}]}}}
    assert result["nlu"]["added"] == ["intents:thank"]
    assert [c["name"] for c in result["nlu"]["changed"]] == ["scorer.keywords"]
    assert result["states"] == {"added": [], "removed": [], "changed": []}
    text = format_diff(result, "old.fsm", "new.fsm")
    assert "transitions: 2 added, 0 removed, 0 changed\n  + rule:submit the order:utter_greet:2\n" in text
    assert '  ~ utter_greet\n      variation 2 added: {"text": "Hi!"}' in text   # issue 16


def test_guard_change_is_a_changed_transition(tmp_path):
    old = build(tmp_path / "old")
    new = build(tmp_path / "new", rules=RULES.replace(
        "- rule: greet\n  steps:", "- rule: greet\n  condition:\n  - active_loop: null\n  steps:"))
    changed = diff_machines(old, new)["transitions"]["changed"]
    assert [c["name"] for c in changed] == ["rule:greet:utter_greet:1"]
    assert changed[0]["changes"] == {"guard": {
        "old": {"intent": "greet", "prev_action": "action_listen"},
        "new": {"active_loop": None, "intent": "greet", "prev_action": "action_listen"}}}


def test_cli_diff_json_on_fsm_files(tmp_path, capsys):
    old = build(tmp_path / "old")
    new = build(tmp_path / "new", domain=EDITED_DOMAIN, nlu=EDITED_NLU, rules=EDITED_RULES)
    dump_machine(old, str(tmp_path / "old.fsm"), root=str(tmp_path / "old"))
    dump_machine(new, str(tmp_path / "new.fsm"), root=str(tmp_path / "new"))
    # issue 16: exit 1 when the machines differ, as `diff` does
    assert main(["diff", str(tmp_path / "old.fsm"), str(tmp_path / "new.fsm"), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["identical"] is False
    assert data["intents"]["added"] == ["thank"]
    assert main(["diff", str(tmp_path / "old.fsm"), str(tmp_path / "old.fsm")]) == 0
    assert "no differences in the machine" in capsys.readouterr().out


def test_inspect_lists_states_and_transitions_with_sources(tmp_path):
    machine = build(tmp_path)
    text = format_machine(machine)
    assert "forms:\n  order_form: cuisine\n" in text
    assert "  form:order_form:cuisine  order_form waits for slot 'cuisine'" in text
    rules = str(tmp_path / "data" / "rules.yml")
    assert ("    rule:greet:utter_greet:1\n      on greet -> listening; runs utter_greet\n"
            f"      rule 'greet'  ({rules}:6:13)") in text
    assert ("    form:order_form:fill:cuisine\n      [asking cuisine, cuisine filled] -> listening; "
            "runs order_form") in text
