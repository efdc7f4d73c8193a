"""Exit codes of every `formc` command (0 ok, 1 errors, 2 usage), through formc.cli.main and as a
real `python -m formc` process, with what each prints on the way."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess

import pytest

from formc.cli import main
from support.serve_helpers import PYTHON
from support.shared_paths import ROOT

HELLO = os.path.join(ROOT, "examples", "hello")
FAILING_STORY = """\
version: "3.1"
stories:
- story: greeting answered with a goodbye
  steps:
  - user: hello
    intent: greet
  - action: utter_goodbye
"""

# (id, argv with {placeholders}, exit code, stdin, a text the output contains)
CASES = [
    ("init-ok", ["init", "{tmp}/starter"], 0, None, "a starter bot is in"),
    ("init-errors", ["init", "{broken}"], 1, None, "[F110]"),
    ("init-usage", ["init", "{tmp}/a", "{tmp}/b"], 2, None, "unrecognized arguments"),
    ("compile-ok", ["compile", "{bot}", "-o", "{tmp}/out.fsm"], 0, None, "compiled"),
    ("compile-errors", ["compile", "{broken}", "-o", "{tmp}/no.fsm"], 1, None, "no machine written"),
    ("compile-usage", ["compile"], 2, None, "the following arguments are required: bot_dir"),
    ("inspect-ok", ["inspect", "{fsm}"], 0, None, "utter_greet"),
    ("inspect-errors", ["inspect", "{badfsm}"], 1, None, "[F501]"),
    ("inspect-usage", ["inspect"], 2, None, "required: machine"),
    ("validate-ok", ["validate", "{bot}"], 0, None, "passed"),
    ("validate-errors", ["validate", "{broken}"], 1, None, "failed"),
    ("validate-usage", ["validate", "{bot}", "--format", "xml"], 2, None, "invalid choice: 'xml'"),
    ("parse-ok", ["parse", "{fsm}", "hello"], 0, None, '"name": "greet"'),
    ("parse-errors", ["parse", "{badfsm}", "hello"], 1, None, "[F501]"),
    ("parse-usage", ["parse", "{fsm}"], 2, None, "required: message"),
    ("nlu-eval-ok", ["nlu-eval", "{bot}", "--folds", "2", "--format", "json"], 0, None, '"intent'),
    ("nlu-eval-errors", ["nlu-eval", "{bot}", "--test-file", "{empty}"], 1, None, "[F120]"),
    ("nlu-eval-usage", ["nlu-eval", "{bot}", "--folds", "1"], 2, None, "--folds must be at least 2"),
    ("test-ok", ["test", "{bot}"], 0, None, "0 failed"),
    ("test-failures", ["test", "{bot}", "{failing}"], 1, None, "1 failed"),
    ("test-usage", ["test", "{bot}", "--json"], 2, None, "expected one argument"),
    ("graph-ok", ["graph", "{fsm}", "-o", "{tmp}/g.dot"], 0, None, "wrote"),
    ("graph-errors", ["graph", "{fsm}", "-o", "{tmp}/g.dot", "--form", "nosuch"], 1, None,
     "no form 'nosuch'"),
    ("graph-usage", ["graph", "{fsm}", "-o", "{tmp}/g.gif"], 2, None, "cannot tell the format"),
    ("diff-ok", ["diff", "{fsm}", "{bot}"], 0, None, "no differences in the machine"),
    ("diff-errors", ["diff", "{fsm}", "{badfsm}"], 1, None, "[F501]"),
    ("diff-usage", ["diff", "{fsm}"], 2, None, "required: new"),
    ("shell-ok", ["shell", "{fsm}"], 0, "hello\n/stop\n", "Hello! How is your day going?"),
    ("shell-errors", ["shell", "{badfsm}"], 1, "hello\n", "F501"),
    ("shell-usage", ["shell"], 2, None, "required: machine"),
    ("serve-usage", ["serve", "{fsm}", "--max-body", "lots"], 2, None, "formc serve:"),
    ("no-command", [], 2, None, "usage: formc"),
    ("unknown-command", ["frobnicate"], 2, None, "invalid choice: 'frobnicate'"),
    ("version", ["--version"], 0, None, "formc "),
]


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("cli")
    broken = tmp / "broken"
    shutil.copytree(HELLO, broken)
    (broken / "domain.yml").write_text("intents: [greet\n")
    fsm = tmp / "hello.fsm"
    assert main(["compile", HELLO, "-o", str(fsm)]) == 0
    (tmp / "bad.fsm").write_text('{"format": "something else"}')
    (tmp / "failing.yml").write_text(FAILING_STORY)
    (tmp / "empty.yml").write_text('version: "3.1"\nnlu: []\n')
    return {"bot": HELLO, "broken": str(broken), "fsm": str(fsm), "badfsm": str(tmp / "bad.fsm"),
            "failing": str(tmp / "failing.yml"), "empty": str(tmp / "empty.yml")}


def _argv(template: list, paths: dict, tmp) -> list:
    return [a.format(tmp=tmp, **paths) for a in template]


def run_main(argv: list) -> int:
    """main()'s exit code; argparse's usage errors and --version leave through SystemExit."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.parametrize("name, argv, code, stdin, shown", CASES, ids=[c[0] for c in CASES])
def test_exit_code_in_process(name, argv, code, stdin, shown, paths, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert run_main(_argv(argv, paths, tmp_path)) == code
    captured = capsys.readouterr()
    assert shown in captured.out + captured.err
    if code == 0 and name.endswith("-ok"):
        assert "error" not in captured.err.lower()


@pytest.mark.parametrize("name, argv, code, stdin, shown", CASES, ids=[c[0] for c in CASES])
def test_exit_code_as_a_process(name, argv, code, stdin, shown, paths, tmp_path):
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([PYTHON, "-m", "formc", *_argv(argv, paths, tmp_path)], input=stdin or "",
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path), env=env)
    assert done.returncode == code, done.stderr
    assert shown in done.stdout + done.stderr


def test_compile_writes_a_loadable_machine(paths, tmp_path):
    out = tmp_path / "again.fsm"
    assert main(["compile", paths["bot"], "-o", str(out)]) == 0
    with open(paths["fsm"], "rb") as first, open(out, "rb") as second:
        assert first.read() == second.read()


@pytest.fixture
def taken_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        yield listener.getsockname()[1]


def test_serve_on_a_taken_port_fails_with_1(paths, taken_port, capsys):
    argv = ["serve", paths["fsm"], "--port", str(taken_port), "--store", "memory://"]
    assert main(argv) == 1
    assert f"cannot listen on 127.0.0.1:{taken_port}" in capsys.readouterr().err


def test_serve_on_a_taken_port_fails_with_1_as_a_process(paths, taken_port, tmp_path):
    done = subprocess.run([PYTHON, "-m", "formc", "serve", paths["fsm"], "--port", str(taken_port),
                           "--store", "memory://"], capture_output=True, text=True, timeout=300,
                          cwd=str(tmp_path))
    assert done.returncode == 1, done.stderr
    assert f"cannot listen on 127.0.0.1:{taken_port}" in done.stderr
