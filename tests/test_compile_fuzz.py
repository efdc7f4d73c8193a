"""Property test: mutated and random project files never make the compiler raise.

Whatever the bytes, `compile_project` answers with diagnostics (at least one error when it gives
no machine) or a machine; never a traceback.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings, strategies as st

from formc.api import compile_project

HERE = os.path.dirname(__file__)
SEED_BOT = os.path.join(HERE, "..", "examples", "hello")
FILES = ("domain.yml", "data/nlu.yml", "data/rules.yml", "data/stories.yml", "config.yml")


def _read(rel: str) -> str:
    path = os.path.join(SEED_BOT, rel)
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


SEEDS = {rel: _read(rel) for rel in FILES}


@st.composite
def mutated_line_lists(draw):
    rel = draw(st.sampled_from(FILES))
    lines = SEEDS[rel].splitlines() or [""]
    op = draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "replace", "swap",
                               "truncate", "insert"]))
    i = draw(st.integers(0, len(lines) - 1))
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "indent":
        lines[i] = "  " + lines[i]
    elif op == "dedent":
        lines[i] = lines[i].lstrip()
    elif op == "replace":
        token = draw(st.sampled_from(["null", "[]", "{}", "- x", "yes", "3", ":", "- intent: q",
                                      "type: list", "  - action: utter_nope", "'", "&a", "*a",
                                      "mappings:", "- type: from_entity", "conditions: 3"]))
        lines[i] = lines[i].split(":")[0] + ": " + token if ":" in lines[i] else token
    elif op == "swap":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "truncate":
        lines = lines[:i]
    else:
        lines.insert(i, draw(st.text(max_size=30)))
    return rel, "\n".join(lines) + "\n"


def _compile_with(rel: str, text: str):
    root = tempfile.mkdtemp(prefix="formc-fuzz-")
    try:
        shutil.copytree(SEED_BOT, root, dirs_exist_ok=True)
        target = os.path.join(root, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", errors="surrogatepass") as handle:
            handle.write(text)
        return compile_project(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_line_lists())
def test_mutated_projects_give_diagnostics_or_a_machine(case):
    rel, text = case
    machine, diagnostics = _compile_with(rel, text)
    if machine is None:
        assert any(d.is_error for d in diagnostics)
    for d in diagnostics:
        assert d.code.startswith("F") and d.message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FILES), st.text(max_size=200))
def test_random_documents_give_diagnostics_or_a_machine(rel, text):
    text = text.replace("\x00", "")
    machine, diagnostics = _compile_with(rel, text)
    if machine is None:
        assert any(d.is_error for d in diagnostics)
