"""Shared helpers for the dialogue/runtime tests: build Machines from bot dirs or hand-made domains."""

from __future__ import annotations

import json
import os

from formc import model
from formc.artifact import Machine
from formc.dialogue.compile import compile_dialogue
from formc.nlu.compile import compile_nlu
from formc.reader import read_project

from support.shared_paths import CORPUS, ORACLE, RASA_RESTAURANT, RESTAURANT, SHARED  # noqa: F401 (re-exported)


def read(bot_dir: str) -> model.Project:
    project, diagnostics = read_project(bot_dir)
    errors = [d.render() for d in diagnostics if d.is_error]
    assert project is not None and not errors, errors
    return project


def machine_for(project: model.Project, digest: str = "test-digest") -> Machine:
    dialogue, diagnostics = compile_dialogue(project)
    errors = [d.render() for d in diagnostics if d.is_error]
    assert not errors, errors
    nlu_data, _ = compile_nlu(project.nlu, project.config.nlu, project.domain)
    return Machine(name=os.path.basename(project.root), digest=digest or project.digest,
                   domain=project.domain, config=project.config, endpoints=project.endpoints,
                   nlu_data=nlu_data, dialogue=dialogue)


def machine_from_dir(bot_dir: str) -> Machine:
    return machine_for(read(bot_dir))


def project_from_yaml(tmp_path, domain: str, rules: str = "", stories: str = "",
                      config: str = "") -> model.Project:
    """Write a tiny bot to tmp_path and read it."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "domain.yml").write_text(domain)
    if rules:
        (tmp_path / "data" / "rules.yml").write_text(rules)
    if stories:
        (tmp_path / "data" / "stories.yml").write_text(stories)
    (tmp_path / "config.yml").write_text(config or "language: en\npipeline: []\npolicies:\n  - name: RulePolicy\n")
    return read(str(tmp_path))


def compact(ev: dict) -> str:
    """capture_oracle.py's compact event form (also what bench/oracle_tools/record.py stores)."""
    kind = ev.get("event")
    if kind == "user":
        return f"user:{((ev.get('parse_data') or {}).get('intent') or {}).get('name')}"
    if kind == "action":
        return f"action:{ev.get('name')}"
    if kind == "bot":
        return f"bot:{ev.get('text')}"
    if kind == "slot":
        return f"slot:{ev.get('name')}={json.dumps(ev.get('value'), ensure_ascii=False)}"
    if kind == "active_loop":
        return f"loop:{ev.get('name')}"
    return str(kind)


def trace(seq) -> list:
    return [s for s in seq if s.startswith(("action:", "slot:", "loop:")) and s != "action:action_listen"]
