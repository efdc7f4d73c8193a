"""Issue 16, `formc diff`: the changed part of a response text, an added rule's guard, actions
and source line, NLU changes as intents whose examples changed and texts that now classify
differently, and exit 1 when the machines differ."""

from __future__ import annotations

import json

from formc.artifact import dump_machine
from formc.api import compile_project
from formc.cli import main
from formc.views.diff import changed_part

from support.truth_support import starter_bot

EDITS = {
    "domain.yml": [("we will call you at {phone_number}.", "we will ring you at {phone_number} today.")],
    "data/rules.yml": [("- rule: say goodbye\n  steps:\n  - intent: goodbye\n  - action: utter_goodbye\n",
                        "- rule: say goodbye and who you are\n  steps:\n  - intent: goodbye\n"
                        "  - action: utter_goodbye\n  - action: utter_iamabot\n")],
    "data/nlu.yml": [("    - hello there\n", "    - hello there\n    - Margaret\n    - see\n")],
}


def test_changed_part_of_a_text():
    assert changed_part("Your table is booked at {time}. Enjoy your meal and see you soon!",
                        "Your table is booked at {time}! Enjoy your meal and see you soon!") == \
        "...is booked at [-{time}.-]{+{time}!+} Enjoy your meal..."


def test_diff_of_bot_dirs_says_what_changed_and_exits_1(tmp_path, capsys):
    old, new = starter_bot(tmp_path / "old"), starter_bot(tmp_path / "new", EDITS)
    assert main(["diff", old, new]) == 1
    out = capsys.readouterr().out
    assert "variation 1 text: ...{name}, we will [-call-]{+ring+} you at" in out
    assert "  ~ the intent model was retrained" in out and "scorer.coef" not in out
    assert "    examples changed for: greet (+2 -0)" in out
    assert "'see': goodbye -> greet" in out and "now classify differently" in out
    rules = f"{new}/data/rules.yml"
    assert "  + rule:say goodbye and who you are:utter_goodbye:1" in out
    assert f"      rule 'say goodbye and who you are'  ({rules}:" in out
    assert "      on goodbye; runs utter_goodbye" in out
    assert "  - rule:say goodbye:utter_goodbye:1" in out


def test_diff_of_fsm_files_with_examples_option_and_identical_exit_0(tmp_path, capsys):
    old, new = starter_bot(tmp_path / "old"), starter_bot(tmp_path / "new", EDITS)
    files = []
    for bot in (old, new):
        machine, _ = compile_project(bot)
        files.append(str(tmp_path / (bot.rsplit("/", 1)[1] + ".fsm")))
        dump_machine(machine, files[-1], root=bot)
    assert main(["diff", *files, "--format", "json", "--examples", new]) == 1
    data = json.loads(capsys.readouterr().out)
    # one bot's texts, classified by both machines (which examples changed needs both dirs)
    assert data["nlu_examples"]["classify_differently"] >= 1
    assert {"text": "see", "old": "goodbye", "new": "greet"} in data["nlu_examples"]["examples"]
    assert main(["diff", files[0], files[0]]) == 0
    assert "no differences in the machine" in capsys.readouterr().out
