"""`formc validate BOT_DIR`: bot dir -> every finding (reader, checks, compiler, F6xx) -> report.

Runs the same stages as `formc compile` (so it finds exactly what a build would refuse) and adds
the validation-only rules of formc/validate_project.py (project model) and
formc/validate_machine.py (the compiled machine). Exit 1 on errors (with --strict also on
warnings), else 0. Output goes to stdout: human text with a code frame, GitHub annotations, JSON.
"""

from __future__ import annotations

import sys
import time
from typing import Optional

from .diagnostics import render_github, render_json, render_text, sort_key
from .errors import Diagnostic


def validate_bot(bot_dir: str) -> list[Diagnostic]:
    """Pure entry point: a bot directory -> sorted, de-duplicated diagnostics (never raises on
    bad input)."""
    from .check import check_project as cross_reference_checks
    from .reader import read_project
    from .validate_project import check_project as validation_checks

    project, diagnostics = read_project(bot_dir)
    diagnostics = list(diagnostics)
    if project is None:
        return _unique(diagnostics)
    diagnostics += validation_checks(project)
    if any(d.is_error for d in diagnostics):
        # A build would stop here; still report the cross-reference mistakes in the same run.
        return _unique(diagnostics + cross_reference_checks(project))
    machine, more = _build(project)
    diagnostics += more
    if machine is not None:
        from .validate_machine import check_machine

        diagnostics += check_machine(machine, project)
    return _unique(diagnostics)


def _build(project):
    """build_machine with a training-free intent scorer (tfidf): validation needs the NLU's
    findings (bad regexes, synonym clashes, ...) but not its weights, and a pre-commit hook
    cannot wait for logistic regression to converge."""
    from dataclasses import replace

    from .compiler import build_machine
    from .nlu.compile import choose_scorer

    nlu = project.config.nlu
    fast = {"logreg_max_cost": 0}
    if choose_scorer(nlu) == "logreg":
        fast["intent_scorer"] = "tfidf"
    project = replace(project, config=replace(project.config, nlu=replace(nlu, **fast)))
    machine, diagnostics = build_machine(project)
    # F313 says "too large for logreg, using tfidf": true here only because we asked for it.
    return machine, [d for d in diagnostics if d.code != "F313"]


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in sorted(diagnostics, key=sort_key):
        key = (d.severity, d.code, d.message, d.span)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def exit_code(diagnostics: list[Diagnostic], strict: bool) -> int:
    failing = {"error", "warning"} if strict else {"error"}
    return 1 if any(d.severity in failing for d in diagnostics) else 0


def summary_line(diagnostics: list[Diagnostic], elapsed_ms: Optional[float] = None) -> str:
    counts = {s: sum(1 for d in diagnostics if d.severity == s) for s in ("error", "warning", "info")}
    text = (f"{counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} note(s)")
    if elapsed_ms is not None:
        text += f" in {elapsed_ms:.0f} ms"
    return text


def run_validate(args) -> int:
    """`formc validate`: prints the report in args.format; returns the exit code."""
    started = time.perf_counter()
    diagnostics = validate_bot(args.bot_dir)
    elapsed = (time.perf_counter() - started) * 1000
    fmt = getattr(args, "format", "human") or "human"
    strict = bool(getattr(args, "strict", False))
    code = exit_code(diagnostics, strict)
    if fmt == "json":
        print(render_json(diagnostics))
    elif fmt == "github":
        if diagnostics:
            print(render_github(diagnostics))
    else:
        if diagnostics:
            print(render_text(diagnostics))
            print()
        verdict = "failed" if code else "passed"
        print(f"formc validate {args.bot_dir}: {verdict}: {summary_line(diagnostics, elapsed)}",
              file=sys.stdout)
    return code
