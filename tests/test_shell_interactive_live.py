"""Issue 16: in `formc shell --interactive`, a corrected action runs in the live conversation (its
events applied, the bot predicting on from it, as `rasa interactive` does after POST /execute),
driven through a real `formc shell` process on a pipe, with a real rasa-sdk action server."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from support.action_server import start_action_server
from support.serve_helpers import PYTHON, ROOT
from support.truth_support import starter_bot

CUSTOM = {
    "domain.yml": [("forms:\n", "actions:\n  - action_remember_caller\n\nforms:\n")],
    "endpoints.yml": [("# action_endpoint:\n#   url: \"http://localhost:5055/webhook\"\n",
                       "action_endpoint:\n  url: \"{url}\"\n")],
}


def shell_process(bot: str, lines: list, *options: str) -> str:
    """`formc shell BOT ...` as its own process (the bot directory compiled on start), the lines
    typed on its stdin, a pipe."""
    done = subprocess.run([PYTHON, "-m", "formc", "shell", bot, *options], cwd=ROOT, check=False,
                          input="".join(f"{line}\n" for line in lines), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def story_steps(path) -> list:
    return yaml.safe_load(path.read_text())["stories"][0]["steps"]


def test_a_corrected_form_runs_and_the_conversation_goes_on_inside_it(tmp_path):
    bot = starter_bot(tmp_path / "bot")
    story, record = tmp_path / "story.yml", tmp_path / "record.yml"
    # "bye" would be answered with utter_goodbye; the user corrects it to the callback form.
    # The form must really start: it asks for the name, and the next message fills it.
    out = shell_process(bot, [
        "bye", "", "callback_form", "",             # turn 1: intent right, action corrected
        "Ada Lovelace", "", ""],                     # turn 2: the form fills `name`
        "--interactive", str(story), "--record", str(record), "--debug")
    corrected_at = out.index("ran 'callback_form' instead")
    assert "bot> Bye!" in out[:corrected_at]                      # the predicted turn was shown
    assert out.index("bot> Who should we ask for?") < corrected_at  # then the form ran and asked
    assert "[step] callback_form <- corrected in formc shell --interactive" in out
    assert "bot> Which number should we call?" in out[corrected_at:]  # the form went on
    assert 'slots={"name": "Ada Lovelace", "requested_slot": "phone_number"}' in out
    steps = story_steps(story)
    assert steps[:4] == [{"intent": "goodbye"}, {"action": "callback_form"},
                         {"active_loop": "callback_form"},
                         {"slot_was_set": [{"requested_slot": "name"}]}]
    assert {"action": "utter_goodbye"} not in steps
    assert {"slot_was_set": [{"name": "Ada Lovelace"}]} in steps
    recorded = story_steps(record)                               # --record has the same turn
    assert [s for s in recorded if "action" in s][:2] == [{"action": "callback_form"}] * 2


def test_a_corrected_custom_action_runs_on_the_action_server_and_its_slot_sticks(tmp_path):
    url, stop = start_action_server("shell_interactive")
    try:
        edits = {k: [(old, new.replace("{url}", url)) for old, new in v] for k, v in CUSTOM.items()}
        bot = starter_bot(tmp_path / "bot", edits)
        story = tmp_path / "story.yml"
        out = shell_process(bot, [
            # after utter_greet the bot should not listen but remember the caller; then the core
            # fallback it predicts is corrected to listening (the fallback would revert the turn)
            "hello", "", "2:action_remember_caller", "action_listen",
            "please call me", "", ""],                   # the form finds `name` already set
            "--interactive", str(story))
    finally:
        stop()
    assert out.count("bot> Hello! I can book a callback") == 1    # shown once, not again
    assert "bot> Noted: we will ask for Grace Hopper." in out
    assert "ran 'action_listen' instead" in out
    assert out.count("? then ") == 1                # nothing asked after the user chose to listen
    after = out[out.index("ran 'action_remember_caller' instead"):]
    assert "bot> Which number should we call?" in after and "Who should we ask for?" not in after
    steps = story_steps(story)
    assert steps[:4] == [{"intent": "greet"}, {"action": "utter_greet"},
                         {"action": "action_remember_caller"},
                         {"slot_was_set": [{"name": "Grace Hopper"}]}]


def test_an_unknown_action_is_refused_with_a_hint_and_asked_again(tmp_path):
    bot = starter_bot(tmp_path / "bot")
    story = tmp_path / "story.yml"
    out = shell_process(bot, ["hello", "", "utter_goodby", "utter_goodbye", ""],
                        "--interactive", str(story))
    assert "'utter_goodby' is not an action of the domain; did you mean 'utter_goodbye'?" in out
    assert out.count("actions utter_greet, then the bot listens: right?") == 2
    assert "bot> Bye!" in out.split("ran 'utter_goodbye' instead")[0]
    assert story_steps(story)[:2] == [{"intent": "greet"}, {"action": "utter_goodbye"}]


ORACLE = os.path.join(ROOT, "tests", "oracles", "shell_interactive")


def _steps(text: str) -> list[str]:
    return [line.split("[step] ", 1)[1].split(" ", 1)[0] for line in text.splitlines()
            if "[step] " in line]


@pytest.mark.parametrize("case", ["utter_after_goodbye", "form_after_goodbye"])
def test_after_a_correction_the_bot_goes_on_as_rasa_3_6_does(case):
    """Against real Rasa driven as rasa interactive drives it (bench/oracle_tools/
    record_interactive.py): the same first prediction, the same action predicted right after
    the corrected one, and for the form the same slots and loop once the next message is in."""
    with open(os.path.join(ORACLE, "rasa.json"), encoding="utf-8") as handle:
        rasa = json.load(handle)[case]
    lines = []
    for text, intent, corrected in rasa["turns"]:
        lines += [text, "", corrected or ""] + ([""] if corrected else [])
    out = shell_process(os.path.join(ORACLE, "starter_bot"), lines, "--interactive", os.devnull, "--debug")
    for _text, intent, _corrected in rasa["turns"]:
        assert f"[nlu] {intent} (" in out, intent
    wrong, after = out.split("ran '", 1)[0], out.split("corrected in formc shell", 1)[1]
    assert _steps(wrong)[0] == rasa["steps"][0]["would_predict"]
    assert _steps(after)[0] == rasa["steps"][2]["predicted"]
    if case == "form_after_goodbye":
        state = [line for line in out.splitlines() if "[state]" in line][-1]
        assert state == (f"  [state] loop={rasa['active_loop']} "
                         f"slots={json.dumps(rasa['slots'], ensure_ascii=False)}")
