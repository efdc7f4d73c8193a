"""Grammar name -> cached lark parser for the `.lark` files under `<repo>/grammars`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark

import formc

GRAMMARS_DIR = Path(formc.__file__).parent.parent / "grammars"


@lru_cache(maxsize=None)
def parser(name: str) -> Lark:
    """The LALR parser for grammars/<name>.lark (built once per process)."""
    text = (GRAMMARS_DIR / f"{name}.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer="contextual", maybe_placeholders=False)
