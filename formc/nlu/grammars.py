"""Grammar name -> cached lark parser for the `.lark` files shipped in `formc/grammars`."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from lark import Lark


@lru_cache(maxsize=None)
def parser(name: str) -> Lark:
    """The LALR parser for grammars/<name>.lark (built once per process)."""
    text = resources.files("formc.grammars").joinpath(f"{name}.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer="contextual", maybe_placeholders=False)
