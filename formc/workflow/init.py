"""`formc init [DIR]`: the starter bot shipped as package data -> files in DIR (never overwritten)."""

from __future__ import annotations

import os
from importlib import resources

from ..errors import Diagnostic, FormcError, Span

# Relative paths of the starter bot, in the order they are written.
TEMPLATE_FILES = ("config.yml", "credentials.yml", "endpoints.yml", "domain.yml",
                  "data/nlu.yml", "data/rules.yml", "data/stories.yml", "tests/test_stories.yml")


def init_bot(target: str) -> list[str]:
    """Write the starter bot into `target` (created if missing) and return the written paths.
    Refuses, writing nothing, when any of the files already exists there."""
    existing = [name for name in TEMPLATE_FILES if os.path.exists(os.path.join(target, name))]
    if existing:
        raise FormcError([Diagnostic(
            "error", "F110", f"'{target}' already has {', '.join(existing)}; formc init never "
            "overwrites a bot", Span(os.path.join(target, existing[0])),
            "choose an empty directory: formc init NEW_DIR")])
    root = resources.files(__package__).joinpath("template")
    written = []
    for name in TEMPLATE_FILES:
        path = os.path.join(target, name)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        data = root.joinpath(*name.split("/")).read_bytes()
        with open(path, "wb") as handle:
            handle.write(data)
        written.append(path)
    return written
