"""Issue 16, a Rasa user's workflow: formc init, the shell (buttons by number, --debug in causal
order, --record as a test story formc test reads back, --interactive corrections written as a
training story)."""

from __future__ import annotations

import io
import os

import yaml

from formc.api import validate_project
from formc.cli import main
from formc.shell import run_shell
from formc.testing.replay import run_tests

from support.truth_support import starter_bot


def test_init_writes_a_bot_that_validates_clean_and_passes_its_tests(tmp_path, capsys):
    bot = str(tmp_path / "bot")
    assert main(["init", bot]) == 0
    for name in ("domain.yml", "config.yml", "credentials.yml", "endpoints.yml",
                 "data/nlu.yml", "data/rules.yml", "data/stories.yml", "tests/test_stories.yml"):
        assert os.path.isfile(os.path.join(bot, name)), name
    found = validate_project(bot)
    assert [d.code for d in found if d.severity in ("error", "warning")] == []
    report = run_tests(bot)
    assert (report.passed, report.failed) == (2, 0), report.text()
    assert main(["compile", bot, "-o", str(tmp_path / "bot.fsm")]) == 0
    capsys.readouterr()
    assert main(["init", bot]) == 1                          # never overwrites
    assert "F110" in capsys.readouterr().err


def shell(bot, lines, **options) -> str:
    out = io.StringIO()
    assert run_shell(bot, stdin=io.StringIO("".join(f"{line}\n" for line in lines)), out=out,
                     **options) == 0
    return out.getvalue()


BUTTONS = {"domain.yml": [('    - text: "Hello! I can book a callback for you. Just ask."\n',
                           '    - text: "Hello! What would you like?"\n      buttons:\n'
                           '        - title: "Ask if I am a bot"\n          payload: "/bot_challenge"\n'
                           '        - title: "Book a callback"\n          payload: "/request_callback"\n')]}


def test_buttons_are_picked_by_number(tmp_path):
    bot = starter_bot(tmp_path, BUTTONS)
    text = shell(bot, ["hello", "2"])
    assert "      2: Book a callback (/request_callback)" in text
    assert "bot> Who should we ask for?" in text                # the payload was sent
    other = shell(bot, ["hello", "3"])                           # no button 3: sent as text
    assert "Who should" not in other and "bot> Sorry, I did not understand" in other


def test_debug_prints_in_causal_order(tmp_path):
    text = shell(starter_bot(tmp_path), ["hello"], debug=True)
    order = [text.index(marker) for marker in (
        "[nlu] greet", "[step] utter_greet", "bot> Hello!", "[step] action_listen", "[state]")]
    assert order == sorted(order), text


def test_record_writes_a_test_story_formc_test_passes(tmp_path):
    bot = starter_bot(tmp_path)
    recorded = tmp_path / "recorded.yml"
    text = shell(bot, ["hello", "please call me", "Ada Lovelace", "my number is 555 0199"],
                 record=str(recorded))
    assert "recorded the conversation as a test story" in text
    doc = yaml.safe_load(recorded.read_text())
    steps = doc["stories"][0]["steps"]
    assert steps[0] == {"user": "hello", "intent": "greet"}
    assert {"user": "my number is [555 0199](phone_number)", "intent": "inform"} in steps
    assert {"active_loop": None} in steps and steps[-1] == {"action": "utter_callback_booked"}
    report = run_tests(bot, (str(recorded),))
    assert (report.passed, report.failed) == (1, 0), report.text()


def test_interactive_corrections_are_written_as_a_story(tmp_path):
    bot = starter_bot(tmp_path)
    story = tmp_path / "corrected.yml"
    # turn 1: intent corrected (greet -> bot_challenge), actions accepted;
    # turn 2: intent accepted, the action corrected
    text = shell(bot, ["hello", "bot_challenge", "", "bye", "", "utter_iamabot"],
                 interactive=str(story))
    assert "bot> I am a bot, made with formc." in text          # the turn re-run as corrected
    steps = yaml.safe_load(story.read_text())["stories"][0]["steps"]
    # the corrected action ran and the bot went on from it (no rule follows utter_iamabot
    # after goodbye: the core fallback; tests/test_shell_interactive_live.py has the rest)
    assert steps == [{"intent": "bot_challenge"}, {"action": "utter_iamabot"},
                     {"intent": "goodbye"}, {"action": "utter_iamabot"},
                     {"action": "action_default_fallback"}]
