"""`formc test`: corpus bots' test stories pass; a wrong story fails with a diff; coverage."""

import io
import json
import os

import pytest

from formc.testing.replay import run_tests as _run_tests

from support.runtime_helpers import CORPUS


EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def run_tests(*args, out, **kwargs) -> int:
    """The report printed as `formc test` prints it; the exit code."""
    report = _run_tests(*args, **kwargs)
    out.write(report.text() + "\n")
    return report.exit_code


# rasa-ch-faq: 1 of 2, as Rasa (tests/test_backoff_carbon.py)
@pytest.mark.parametrize("bot,stories", [("rasa-init-moodbot", 7), ("formbot", 3),
                                         ("helpdesk-assistant", 12)])
def test_corpus_test_stories_pass(bot, stories):
    out = io.StringIO()
    code = run_tests(os.path.join(CORPUS, bot), out=out)
    assert code == 0, out.getvalue()
    assert out.getvalue().strip().splitlines()[-1] == f"{stories} passed, 0 failed"


@pytest.mark.parametrize("bot,stories", [("hello", 2), ("restaurant", 7), ("phone-plan-zh", 5)])
def test_example_test_stories_pass(bot, stories):
    out = io.StringIO()
    code = run_tests(os.path.join(EXAMPLES, bot), out=out)
    assert code == 0, out.getvalue()
    assert out.getvalue().strip().splitlines()[-1] == f"{stories} passed, 0 failed"


def test_failing_story_prints_diff_and_coverage(tmp_path):
    bot = os.path.join(CORPUS, "formbot")
    bad = tmp_path / "test_bad.yml"
    bad.write_text("""version: "3.1"
stories:
- story: wrong greeting
  steps:
  - intent: greet
  - action: utter_noworries
""")
    out = io.StringIO()
    report = tmp_path / "cov.json"
    code = run_tests(bot, (str(bad),), coverage=True, json_out=str(report), out=out)
    text = out.getvalue()
    assert code == 1
    assert "FAILED wrong greeting" in text and "# predicted: utter_greet" in text
    assert text.strip().splitlines()[-1] == "0 passed, 1 failed"
    data = json.loads(report.read_text())
    assert "rule:Greet user:utter_greet:1" in data["transitions_never_taken"]
    assert "never taken:" in text
    out = io.StringIO()
    assert run_tests(bot, coverage=True, json_out=str(report), out=out) == 0
    data = json.loads(report.read_text())
    assert "rule:Greet user:utter_greet:1" in data["transitions_taken"]
    # issue 16: a passing story through the form took its activate and submit steps
    assert {"form:restaurant_form:activate", "form:restaurant_form:submit"} <= set(data["transitions_taken"])


def test_the_closing_listen_is_checked_and_actions_are_counted_as_rasa_does(tmp_path):
    # real Rasa 3.6.21's `rasa test` on helpdesk-assistant (light config): 11/12 stories, and
    # 48/50 actions, the story's closing action_listen counted; formc reports the same way
    bot = os.path.join(CORPUS, "formbot")
    story = tmp_path / "test_end.yml"
    story.write_text("""version: "3.1"
stories:
- story: one greeting too many
  steps:
  - intent: greet
  - action: utter_greet
  - action: utter_greet
""")
    out = io.StringIO()
    assert run_tests(bot, (str(story),), out=out) == 1
    lines = out.getvalue().strip().splitlines()
    assert lines[-3].startswith("  - action: utter_greet   # predicted: action_listen")
    # three actions counted: the closing action_listen after the second utter_greet is checked
    # too (formbot names TEDPolicy: the story back-off predicts that listen, as TED does)
    assert lines[-2] == "actions: 2/3 predicted correctly (0.667)"
