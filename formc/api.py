"""The public entry points: bot dir -> Machine (compile), -> diagnostics (validate), path -> Machine (load).

Never prints: every function returns data or raises FormcError; the CLI renders.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Optional

from .artifact import load_machine
from .check import check_machine, check_references, check_rules
from .diagnostics import explain_yaml_error, sort_key
from .dialogue.compile import compile_dialogue
from .errors import Diagnostic, FormcError
from .gcpause import gc_paused
from .machine import Machine
from .model import Project
from .nlu.compile import choose_scorer, compile_nlu
from .reader import read_project

__all__ = ["build_machine", "compile_project", "load", "validate_project"]


def build_machine(project: Project) -> tuple[Optional[Machine], list[Diagnostic]]:
    """Project model -> Machine; None when any stage reported an error."""
    diagnostics = check_references(project)
    nlu_data, nlu_diagnostics = compile_nlu(project.nlu, project.config.nlu, project.domain)
    dialogue, dialogue_diagnostics = compile_dialogue(project)
    diagnostics += nlu_diagnostics + dialogue_diagnostics
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    name = os.path.basename(os.path.abspath(project.root).rstrip(os.sep))
    machine = Machine(name=name, digest=project.digest, domain=project.domain,
                      config=project.config, endpoints=project.endpoints, nlu_data=nlu_data,
                      dialogue=dialogue)
    return machine, diagnostics


@gc_paused
def compile_project(bot_dir: str) -> tuple[Optional[Machine], list[Diagnostic]]:
    """A bot directory -> (Machine or None, every diagnostic found on the way).

    The same checks as validate_project (one set): an error any of them finds means no
    machine. Findings in VALIDATE_ERRORS stay warnings here, since Rasa trains through them."""
    project, diagnostics = read_project(bot_dir)
    if _broken_files(diagnostics):
        return None, parse_errors_first(diagnostics)
    if project is None or any(d.is_error for d in diagnostics):
        if project is not None:  # report cross-reference mistakes in the same run
            diagnostics = diagnostics + check_references(project) + check_rules(project)
        return None, _unique(diagnostics)
    diagnostics = diagnostics + check_rules(project)
    machine, more = build_machine(project)
    diagnostics += more
    if machine is not None:
        diagnostics += check_machine(machine, project)
        if any(d.is_error for d in diagnostics):
            machine = None
    return machine, _unique(diagnostics)


def load(path: str) -> Machine:
    """A `.fsm` file, or a bot directory compiled on the fly; raises FormcError (with every
    error found) when the bot does not compile or the file is not a machine."""
    if os.path.isdir(path):
        machine, diagnostics = compile_project(path)
        if machine is None:
            raise FormcError([d for d in diagnostics if d.is_error])
        return machine
    return load_machine(path)


def validate_project(bot_dir: str) -> list[Diagnostic]:
    """`formc validate`: a bot directory -> sorted, de-duplicated diagnostics of every check
    (reader, cross-references, project rules, compiler, machine rules); never raises on bad input."""
    return [_as_validate_error(d) for d in _validate(bot_dir)]


# Mistakes Rasa trains through (so `formc compile` keeps compiling, with a warning) but that
# leave part of the bot dead: `formc validate` fails on them, as `rasa data validate
# --fail-on-warnings` would. F402: a rule/story step with an undeclared intent never matches;
# F630: a form slot only entities that no extractor finds could fill (the form never completes).
VALIDATE_ERRORS = frozenset({"F402", "F630"})


def _as_validate_error(d: Diagnostic) -> Diagnostic:
    return replace(d, severity="error") if d.code in VALIDATE_ERRORS else d


def _validate(bot_dir: str) -> list[Diagnostic]:
    project, diagnostics = read_project(bot_dir)
    diagnostics = list(diagnostics)
    if _broken_files(diagnostics):
        return parse_errors_first(diagnostics)
    if project is None:
        return _unique(diagnostics)
    if any(d.is_error for d in diagnostics):
        # A build would stop here; still report the other mistakes in the same run.
        return _unique(diagnostics + check_rules(project) + check_references(project))
    diagnostics += check_rules(project)     # its errors do not keep the machine from building
    machine, more = _build_untrained(project)
    diagnostics += more
    if machine is not None:
        diagnostics += check_machine(machine, project)
    return _unique(diagnostics)


def _build_untrained(project: Project) -> tuple[Optional[Machine], list[Diagnostic]]:
    """build_machine with a training-free intent scorer (tfidf): validation needs the NLU's
    findings (bad regexes, synonym clashes, ...) but not its weights, and a pre-commit hook
    cannot wait for logistic regression to converge."""
    nlu = project.config.nlu
    fast = {"logreg_max_cost": 0}
    if choose_scorer(nlu) == "logreg":
        fast["intent_scorer"] = "tfidf"
    project = replace(project, config=replace(project.config, nlu=replace(nlu, **fast)))
    machine, diagnostics = build_machine(project)
    # F313 says "too large for logreg, using tfidf": true here only because we asked for it.
    return machine, [d for d in diagnostics if d.code != "F313"]


# Codes that mean a file could not be read as YAML at all (syntax, encoding, size, aliases).
_UNREADABLE = frozenset({"F100", "F104", "F105", "F130", "F131"})


def _broken_files(diagnostics: list[Diagnostic]) -> set[str]:
    return {d.span.file for d in diagnostics if d.code in _UNREADABLE and d.span}


def parse_errors_first(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """A file that does not parse makes later findings meaningless (a domain that fails to
    parse is "no domain", its intents "undeclared"): keep the parse errors, said in plain
    words where an indentation mistake explains them, and what was found in the other files
    before the model was assembled, minus the "no domain" that only follows from them."""
    broken = _broken_files(diagnostics)
    kept = []
    for d in diagnostics:
        if d.code == "F100" and d.span and d.span.line:
            d = _explained(d)
        elif d.code == "F107" or (d.code not in _UNREADABLE and d.span and d.span.file in broken):
            continue
        elif d.code not in _UNREADABLE and not d.is_error:
            continue      # warnings about the rest may follow from the broken file: said later
        kept.append(d)
    return _unique(kept)


def _explained(d: Diagnostic) -> Diagnostic:
    try:
        with open(d.span.file, encoding="utf-8-sig", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return d
    return explain_yaml_error(text, d)


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in sorted(diagnostics, key=sort_key):
        key = (d.severity, d.code, d.message, d.span)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
