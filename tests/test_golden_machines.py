"""Golden files for the example bots' compiled machines, and byte-identical recompiles.

The golden file is the .fsm document pretty-printed, with the (large) compiled NLU tables
replaced by their sha256 so a change there still shows. Regenerate after an intended change:
FORMC_UPDATE_GOLDEN=1 pytest tests/test_golden_machines.py
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from formc.artifact import dumps_machine
from formc.api import compile_project

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
GOLDEN = os.path.join(ROOT, "tests", "golden")
BOTS = ["hello", "restaurant", "phone-plan-zh"]


def golden_text(bot: str) -> str:
    machine, diagnostics = compile_project(os.path.join("examples", bot))
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    document = json.loads(dumps_machine(machine, root=os.path.join("examples", bot)))
    # trained weights may differ in the last bits between BLAS builds: the golden file pins the
    # NLU's structure (vocabulary, classes, patterns, tables), the weights are tested elsewhere
    nlu = json.dumps(_without_weights(document["nlu"]), sort_keys=True, ensure_ascii=False)
    document["nlu"] = {"sha256": hashlib.sha256(nlu.encode()).hexdigest(),
                       "keys": sorted(document["nlu"])}
    document.pop("formc_version")
    document.pop("artifact_sha256", None)   # a digest of everything, the weights included
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


WEIGHTS = {"coef", "intercept", "iterations"}


def _without_weights(value):
    if isinstance(value, dict):
        return {k: _without_weights(v) for k, v in value.items() if k not in WEIGHTS}
    if isinstance(value, list):
        return [_without_weights(v) for v in value]
    return value


@pytest.mark.parametrize("bot", BOTS)
def test_compiled_machine_matches_golden(bot, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = golden_text(bot)
    path = os.path.join(GOLDEN, f"{bot}.machine.json")
    if os.environ.get("FORMC_UPDATE_GOLDEN") or not os.path.exists(path):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        if not os.environ.get("FORMC_UPDATE_GOLDEN"):
            pytest.fail(f"golden file {path} was missing and has been written; rerun")
    with open(path, encoding="utf-8") as handle:
        assert text == handle.read(), f"{bot}: compiled machine differs from {path}"


@pytest.mark.parametrize("bot", ["hello", "restaurant"])
def test_compiling_twice_gives_the_same_bytes(bot, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    outputs = []
    for run in range(2):
        out = tmp_path / f"{run}.fsm"
        result = subprocess.run([sys.executable, "-m", "formc", "compile", f"examples/{bot}",
                                 "-o", str(out)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "states" in result.stdout and "transitions" in result.stdout
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_compile_cli_reports_errors_with_exit_1(tmp_path):
    (tmp_path / "domain.yml").write_text("intents:\n  - greet\n  - greet\n")
    result = subprocess.run([sys.executable, "-m", "formc", "compile", str(tmp_path), "-o",
                             str(tmp_path / "x.fsm")], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{tmp_path}/domain.yml:3:5: error: duplicate intent 'greet'" in result.stderr
    assert not (tmp_path / "x.fsm").exists()
