"""Issue 14, compiler side: hostile regexes, YAML alias bombs and oversized files are refused fast,
with file:line, in bounded memory; a catastrophic regex cannot freeze a parse."""
from __future__ import annotations

import os
import resource
import subprocess
import time

import pytest

from support.hostile import add_regex, alias_bomb, hello_copy
from support.serve_helpers import PYTHON
from support.shared_paths import ROOT

pytestmark = pytest.mark.timeout(120)
GB = 1024 ** 3


def compile_cli(bot: str, tmp: str, env: dict | None = None) -> tuple[int, str, int]:
    """`formc compile` in a child limited to 2 GB of address space (an alias bomb without a
    budget would otherwise take the machine); -> (exit code, output, peak RSS in bytes)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 * GB, 2 * GB))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([PYTHON, "-m", "formc", "compile", bot, "-o", os.path.join(tmp, "o.fsm")],
                          capture_output=True, text=True, preexec_fn=limit, timeout=110,
                          env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})), cwd=ROOT)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return proc.returncode, proc.stdout + proc.stderr, max(peak, before * 1024)


def codes(diagnostics) -> list[tuple[str, str, int]]:
    return [(d.code, d.severity, d.span.line) for d in diagnostics]


# ------------------------------------------------------------------ regexes

def test_nested_quantifier_regex_is_a_warning_with_file_line(tmp_path):
    from formc.api import compile_project
    bot = hello_copy(str(tmp_path))
    nlu = add_regex(bot, "account", "(a+)+$")
    with open(nlu) as handle:
        line = handle.read().splitlines().index("    - (a+)+$") + 1   # the pattern's own line
    machine, diagnostics = compile_project(bot)
    assert machine is not None
    found = [d for d in diagnostics if d.code == "F330"]
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].span.file.endswith("nlu.yml") and found[0].span.line == line
    assert "account" in found[0].message


def test_regex_that_cannot_meet_the_budget_is_an_error(tmp_path):
    from formc.api import compile_project
    bot = hello_copy(str(tmp_path))
    add_regex(bot, "account", "(a|a)+$")
    machine, diagnostics = compile_project(bot)
    assert machine is None
    assert [c for c in codes(diagnostics) if c[0] == "F331"][0][1] == "error"


def test_plain_regexes_get_no_backtracking_warning(tmp_path):
    from formc.nlu.regex_budget import backtracking_risk
    for pattern in (r"\d{5}", r"[0-9]{3}-[0-9]{4}", r"(foo|bar)+", r"hey[^\s]*", r"(ab?)+",
                    r"^[A-Z]{2}\d+$"):
        assert backtracking_risk(pattern) is None, pattern


def test_catastrophic_regex_is_stopped_by_the_message_budget():
    """The reproducer: `(a|a)+$` against 27 a's and '!' is 2**27 paths for Python's `re`."""
    from formc.nlu.entities import Extractor
    extractor = Extractor({"patterns": [{"kind": "regex", "name": "account",
                                         "pattern": "(a|a)+$"},
                                        {"kind": "regex", "name": "digits", "pattern": r"\d+"}]})
    t0 = time.perf_counter()
    found = extractor.extract("a" * 27 + "! 42")
    assert time.perf_counter() - t0 < 2.0
    assert [e["entity"] for e in found] in (["digits"], [])


# ------------------------------------------------------------------ YAML

def test_alias_bomb_in_a_data_file_is_refused_fast(tmp_path):
    from formc.yaml_loader import load_yaml
    t0 = time.perf_counter()
    value, diagnostics = load_yaml(alias_bomb(), "data/bomb.yml")
    assert time.perf_counter() - t0 < 1.0
    assert value is None and codes(diagnostics)[0][:2] == ("F130", "error")
    assert diagnostics[0].span.line > 1


def test_alias_bomb_in_domain_compile_stays_small(tmp_path):
    bot = hello_copy(str(tmp_path))
    with open(os.path.join(bot, "domain.yml"), "a") as f:
        f.write("\n" + alias_bomb())
    code, output, peak = compile_cli(bot, str(tmp_path))
    assert code == 1
    assert "domain.yml:" in output and "[F130]" in output
    assert peak < GB


def test_small_aliases_and_merges_still_load():
    from formc.yaml_loader import load_yaml
    value, diagnostics = load_yaml("a: &x {b: 1}\nc: [*x, *x, *x]\n", "ok.yml")
    assert diagnostics == [] and value["c"] == [{"b": 1}] * 3


def test_oversized_nlu_file_is_refused_unread(tmp_path):
    bot = hello_copy(str(tmp_path))
    path = os.path.join(bot, "data", "big.yml")
    line = "    - some words for the big intent number 1234567\n"
    with open(path, "w") as f:
        f.write('version: "3.1"\nnlu:\n- intent: big\n  examples: |\n')
        f.write(line * (9 * 1024 * 1024 // len(line)))
    t0 = time.perf_counter()
    code, output, peak = compile_cli(bot, str(tmp_path))
    assert code == 1 and "big.yml:1:1" in output and "[F131]" in output
    assert peak < GB
    assert not os.path.exists(os.path.join(str(tmp_path), "o.fsm"))


def test_overlong_line_is_refused_with_its_line():
    from formc.yaml_loader import load_yaml
    value, diagnostics = load_yaml("a: 1\nb: 2\nc: " + "x" * 100_000 + "\n", "long.yml")
    assert value is None and codes(diagnostics) == [("F132", "error", 3)]


def test_lookup_table_over_the_cap_is_refused(tmp_path, monkeypatch):
    """A Markdown `## lookup:` file over the size cap (patched down to 1 kB here)."""
    from formc.api import compile_project
    from formc.nlu import reader
    monkeypatch.setattr(reader, "MAX_LOOKUP_BYTES", 1024)
    bot = hello_copy(str(tmp_path))
    with open(os.path.join(bot, "cities.txt"), "w") as f:
        f.write("\n".join(f"city{i}" for i in range(1000)))
    with open(os.path.join(bot, "data", "lookup.md"), "w") as f:
        f.write("## lookup:city\ncities.txt\n")
    machine, diagnostics = compile_project(bot)
    assert machine is None
    assert any(d.code == "F303" and "larger than 1,024 bytes" in d.message for d in diagnostics)


def test_lookup_lines_reader_caps_entries(tmp_path, monkeypatch):
    from formc import yaml_loader
    monkeypatch.setattr(yaml_loader, "MAX_LOOKUP_ENTRIES", 10)
    path = tmp_path / "t.txt"
    path.write_text("\n".join(f"x{i}" for i in range(11)))
    with pytest.raises(yaml_loader.LookupTooLarge, match="more than 10 entries"):
        yaml_loader.read_lookup_lines(str(path))
    path.write_text("\n".join(f"x{i}" for i in range(10)))
    assert len(yaml_loader.read_lookup_lines(str(path))) == 10


def test_budget_counts_cpu_not_wall_time(monkeypatch):
    """A match that times out while the process was descheduled (wall time passes, no CPU is
    burnt) is retried, so a harmless pattern never loses its match on a busy machine."""
    import regex as regex_module

    from formc.nlu import regex_budget
    pattern = regex_budget.budget_compile(r"\d+")
    real = regex_module.compile(r"\d+")
    calls = []

    class Descheduled:
        def finditer(self, text, timeout):
            calls.append(timeout)
            if len(calls) == 1:
                time.sleep(timeout * 2)          # wall time only
                raise TimeoutError("regex timed out")
            return real.finditer(text, timeout=timeout)
    monkeypatch.setattr(pattern, "_compiled", Descheduled())
    with regex_budget.message_budget():
        found = pattern.finditer("room 42")
    assert [m.group() for m in found] == ["42"] and len(calls) == 2
