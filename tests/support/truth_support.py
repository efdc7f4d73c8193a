"""Helpers for the issue-16 tests: a starter bot (formc init's) to break on purpose."""

from __future__ import annotations

import os

from formc.workflow import init_bot


def starter_bot(path, edits: dict | None = None) -> str:
    """`formc init` into `path`, then apply {relative file: [(old, new), ...]} edits."""
    init_bot(str(path))
    for name, pairs in (edits or {}).items():
        full = os.path.join(str(path), name)
        with open(full, encoding="utf-8") as handle:
            text = handle.read()
        for old, new in pairs:
            assert old in text, (name, old)
            text = text.replace(old, new, 1)
        with open(full, "w", encoding="utf-8") as handle:
            handle.write(text)
    return str(path)


def by_code(diagnostics, code: str) -> list:
    return [d for d in diagnostics if d.code == code]
