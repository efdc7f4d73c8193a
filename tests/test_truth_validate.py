"""Issue 16, validation and compile: undeclared names are errors or dead code said plainly,
with did-you-mean and a caret on the offending token; YAML errors first and in plain words;
compile runs validate's checks."""

from __future__ import annotations

import os
import subprocess
import sys

from formc.api import compile_project, validate_project
from formc.cli import _Progress, main
from formc.diagnostics import render_text

from support.truth_support import by_code, starter_bot

def _read(bot: str, name: str) -> str:
    with open(os.path.join(bot, name), encoding="utf-8") as handle:
        return handle.read()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPO_INTENT = {"data/rules.yml": [("  - intent: bot_challenge\n", "  - intent: bot_chalenge\n")]}


def test_undeclared_intent_in_a_rule_fails_validate_with_did_you_mean(tmp_path):
    bot = starter_bot(tmp_path, TYPO_INTENT)
    found = by_code(validate_project(bot), "F402")
    assert [d.severity for d in found] == ["error"]
    assert found[0].hint == "did you mean 'bot_challenge'?"
    assert (found[0].span.line, found[0].span.col) == (16, 13)     # the intent's name
    assert main(["validate", bot]) == 1


def test_compile_keeps_compiling_through_an_undeclared_intent(tmp_path, capsys):
    bot = starter_bot(tmp_path, TYPO_INTENT)
    machine, diagnostics = compile_project(bot)
    assert machine is not None                   # as Rasa trains
    assert [d.severity for d in by_code(diagnostics, "F402")] == ["warning"]
    assert main(["compile", bot, "-o", str(tmp_path / "x.fsm")]) == 0
    err = capsys.readouterr().err
    assert "warning(s): run formc validate" in err and "F402" not in err
    assert main(["compile", bot, "-o", str(tmp_path / "x.fsm"), "--warnings"]) == 0
    assert "F402" in capsys.readouterr().err


def test_every_unknown_name_gets_did_you_mean(tmp_path):
    bot = starter_bot(tmp_path, {
        "data/rules.yml": [("  - action: utter_greet\n", "  - action: utter_gret\n"),
                           ("  - active_loop: callback_form\n\n", "  - active_loop: callbak_form\n\n")],
        "data/stories.yml": [("    - name: Margaret Hamilton\n", "    - nme: Margaret Hamilton\n")],
        "domain.yml": [("entities:\n  - phone_number\n",
                        "entities:\n  - phone_number\n  - city:\n      roles: [departure, arrival]\n"),
                       ("  phone_number:\n    type: text\n",
                        "  town:\n    type: text\n    mappings:\n      - type: from_entity\n"
                        "        entity: city\n        role: departur\n      - type: from_entity\n"
                        "        entity: citi\n  phone_number:\n    type: text\n")],
    })
    diagnostics = validate_project(bot)
    hints = {d.code: d.hint for d in diagnostics}
    assert hints["F401"] == "did you mean 'utter_greet'?"
    assert hints["F403"] == "did you mean 'name'?"
    assert hints["F404"] == "did you mean 'callback_form'?"
    assert hints["F239"] == "did you mean 'departure'?"
    assert hints["F234"] == "did you mean 'city'?"
    role = by_code(diagnostics, "F239")[0].span
    entity = by_code(diagnostics, "F234")[0].span
    lines = _read(bot, "domain.yml").splitlines()
    assert lines[role.line - 1][role.col - 1:] == "departur"           # caret on the role
    assert lines[entity.line - 1][entity.col - 1:] == "citi"           # and on the entity value


def test_placeholder_caret_points_at_the_placeholder(tmp_path):
    bot = starter_bot(tmp_path, {"domain.yml": [("{name}", "{nam}")]})
    d = by_code(validate_project(bot), "F237")[0]
    line = _read(bot, "domain.yml").splitlines()[d.span.line - 1]
    assert line[d.span.col - 1:].startswith("{nam}")
    assert d.hint == "did you mean 'name'?"


def test_block_scalar_placeholder_caret(tmp_path):
    bot = starter_bot(tmp_path, {"domain.yml": [
        ('    - text: "Thanks {name}, we will call you at {phone_number}."',
         "    - text: |\n        Thanks {name},\n        we call {phone_numbr}.")]})
    d = by_code(validate_project(bot), "F237")[0]
    line = _read(bot, "domain.yml").splitlines()[d.span.line - 1]
    assert line[d.span.col - 1:] == "{phone_numbr}."


def test_slot_mapped_only_from_an_undeclared_entity_can_never_be_filled(tmp_path):
    bot = starter_bot(tmp_path, {"domain.yml": [("        entity: phone_number\n",
                                                 "        entity: phone_numbr\n")]})
    diagnostics = validate_project(bot)
    found = by_code(diagnostics, "F619")
    assert [d.severity for d in found] == ["error"]
    assert "can never be filled" in found[0].message
    assert found[0].hint == "did you mean 'phone_number'?"
    assert not by_code(diagnostics, "F611")          # one finding, not two
    assert compile_project(bot)[0] is None


def test_form_reachable_only_through_an_undeclared_intent_is_unreachable(tmp_path):
    bot = starter_bot(tmp_path, {
        "data/rules.yml": [("  - intent: request_callback\n", "  - intent: request_calback\n")],
        "data/stories.yml": [("  - intent: request_callback\n", "  - intent: request_calback\n")]})
    found = by_code(validate_project(bot), "F620")
    assert len(found) == 1 and "'request_calback'" in found[0].message


INDENT = {"domain.yml": [("  phone_number:\n    type: text\n", "  phone_number:\n     type: text\n")]}


def test_yaml_indentation_error_comes_alone_and_in_plain_words(tmp_path):
    bot = starter_bot(tmp_path, INDENT)
    for diagnostics in (validate_project(bot), compile_project(bot)[1]):
        assert [d.code for d in diagnostics] == ["F100"], [d.render() for d in diagnostics]
        d = diagnostics[0]
        assert d.message == "invalid YAML: line 26 is indented 5 spaces; its siblings use 4"
        assert (d.span.line, d.span.col) == (26, 6)
        assert "did not find expected key" in d.hint
    text = render_text(validate_project(bot))
    assert "    25 |   phone_number:" in text and "    27 |     mappings:" in text


def test_yaml_error_on_the_odd_line_itself(tmp_path):
    bot = starter_bot(tmp_path, {"domain.yml": [("    mappings:\n      - type: from_text",
                                                 "   mappings:\n      - type: from_text")]})
    d = validate_project(bot)[0]
    assert d.message == "invalid YAML: line 19 is indented 3 spaces; its siblings use 4"


def test_compile_fails_on_every_error_validate_finds(tmp_path, capsys):
    bot = starter_bot(tmp_path, {"domain.yml": [('  utter_ask_name:\n    - text: "Who should we ask for?"\n', "")]})
    assert [d.code for d in validate_project(bot) if d.is_error] == ["F612"]
    assert main(["compile", bot, "-o", str(tmp_path / "x.fsm")]) == 1
    assert "F612" in capsys.readouterr().err
    assert not (tmp_path / "x.fsm").exists()


def test_colour_only_on_a_terminal():
    from formc.errors import Diagnostic
    plain = render_text([Diagnostic("error", "F999", "x")])
    coloured = render_text([Diagnostic("error", "F999", "x")], color=True)
    assert "\033[" not in plain and "\033[1;31merror:\033[0m" in coloured


def test_piped_or_no_color_output_has_no_escapes(tmp_path):
    bot = starter_bot(tmp_path, TYPO_INTENT)
    env = dict(os.environ, NO_COLOR="1")
    for run_env in (os.environ, env):
        out = subprocess.run([sys.executable, "-m", "formc", "validate", bot], cwd=ROOT,
                             capture_output=True, text=True, env=run_env)
        assert out.returncode == 1 and "F402" in out.stdout and "\033[" not in out.stdout


def test_progress_line_only_for_slow_work(capsys):
    import time
    with _Progress("compiling x", delay=0.05):
        pass
    assert capsys.readouterr().err == ""
    with _Progress("compiling x", delay=0.05):
        time.sleep(0.3)
    assert capsys.readouterr().err == "compiling x ...\n"


def test_annotated_entities_and_roles_must_be_declared(tmp_path):
    bot = starter_bot(tmp_path, {
        "domain.yml": [("entities:\n  - phone_number\n",
                        "entities:\n  - phone_number\n  - city:\n      roles: [departure, arrival]\n")],
        "data/nlu.yml": [("    - it's [555 0100](phone_number)\n",
                          "    - it's [555 0100](phone_numbr)\n"
                          "    - from [Paris]{\"entity\": \"city\", \"role\": \"departur\"}\n")]})
    found = {d.code: d for d in validate_project(bot) if d.code in ("F242", "F243")}
    assert found["F242"].hint == "did you mean 'phone_number'?"
    assert "'phone_numbr' is annotated" in found["F242"].message
    assert found["F243"].hint == "did you mean 'departure'?"
