"""Chains the stages: bot dir -> read -> check -> compile NLU and dialogue -> artifact.Machine."""

from __future__ import annotations

import os
from typing import Optional

from .artifact import Machine
from .check import check_project
from .errors import Diagnostic
from .gcpause import gc_paused
from .model import Project
from .reader import read_project


def build_machine(project: Project) -> tuple[Optional[Machine], list[Diagnostic]]:
    """Project model -> Machine; None when any stage reported an error."""
    from .dialogue.compile import compile_dialogue
    from .nlu.compile import compile_nlu

    diagnostics = check_project(project)
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
    """Entry point: a bot directory -> (Machine or None, every diagnostic found on the way)."""
    project, diagnostics = read_project(bot_dir)
    if project is None or any(d.is_error for d in diagnostics):
        if project is not None:  # report cross-reference mistakes in the same run
            diagnostics = diagnostics + check_project(project)
        return None, diagnostics
    machine, more = build_machine(project)
    return machine, diagnostics + more
