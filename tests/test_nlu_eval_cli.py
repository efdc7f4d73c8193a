"""`formc nlu-eval`: cross-validation report, JSON output, evaluation on a given test file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))


def run(*args):
    return subprocess.run([sys.executable, "-m", "formc", "nlu-eval", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_human_report_starts_with_accuracy_line():
    result = run("examples/hello", "--folds", "3")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert re.fullmatch(r"accuracy [01]\.\d{3}", first)
    assert "suggested FallbackClassifier threshold" in result.stdout


def test_json_report_is_consistent():
    result = run("examples/hello", "--folds", "3", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["folds"] == 3 and report["examples"] > 20
    assert 0.0 <= report["accuracy"] <= 1.0
    rows = report["thresholds"]
    assert rows[0]["threshold"] == 0.0 and rows[0]["fallback_rate"] == 0.0
    # a higher threshold never sends fewer messages to the fallback
    rates = [r["fallback_rate"] for r in rows]
    assert rates == sorted(rates)
    assert set(report["per_intent"]) >= {"greet", "goodbye"}


def test_given_test_file(tmp_path):
    test_file = tmp_path / "test_nlu.yml"
    test_file.write_text('nlu:\n- intent: greet\n  examples: |\n    - hello there\n    - hi\n'
                         '- intent: goodbye\n  examples: |\n    - bye bye\n')
    result = run("examples/hello", "--test-file", str(test_file), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["examples"] == 3


def test_bad_folds_is_a_usage_error():
    assert run("examples/hello", "--folds", "1").returncode == 2
