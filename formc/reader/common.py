"""Small helpers shared by the readers: type checks that report instead of raising."""

from __future__ import annotations

from typing import Any, Optional

from ..errors import Reporter, Span
from ..yaml_loader import LList, LMap, LStr, span_of

TYPE_NAMES = {dict: "a mapping", list: "a list", str: "a string", bool: "true or false",
              int: "a number", float: "a number", type(None): "nothing (null)"}


def describe(value: Any) -> str:
    """How a YAML value reads to a user: 'a list', 'the string "x"', 'the number 3'."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "nothing (null)"
    return f'the string "{value}"'


def plain(value: Any) -> Any:
    """Located YAML values -> plain JSON-able Python values (dict/list/str/...)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, LStr):
        return str(value)
    return value


def child_span(parent: Any, key: Any, fallback: Optional[Span]) -> Optional[Span]:
    """The span of parent[key]: its own if located, else as recorded by the container."""
    if isinstance(parent, LMap):
        value = parent.get(key)
        return span_of(value) or parent.value_span(key)
    if isinstance(parent, LList) and isinstance(key, int):
        value = parent[key] if 0 <= key < len(parent) else None
        return span_of(value) or parent.item_span(key)
    return fallback


def expect_map(value: Any, what: str, span: Optional[Span], rep: Reporter, code: str = "F201") -> bool:
    if isinstance(value, dict):
        return True
    rep.error(code, f"{what} must be a mapping, found {describe(value)}", span_of(value, span),
              "write it as 'key: value' lines")
    return False


def expect_list(value: Any, what: str, span: Optional[Span], rep: Reporter, code: str = "F201") -> bool:
    if isinstance(value, list):
        return True
    rep.error(code, f"{what} must be a list, found {describe(value)}", span_of(value, span),
              "write one '- item' per line")
    return False


def as_name_list(value: Any, what: str, span: Optional[Span], rep: Reporter) -> tuple[str, ...]:
    """A string or a list of strings (Rasa accepts both for intent/not_intent/ignored_intents)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (str(value),)
    if isinstance(value, list):
        out = []
        for index, item in enumerate(value):
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                out.append(str(item))
            else:
                rep.error("F201", f"{what} must list names, found {describe(item)}",
                          child_span(value, index, span))
        return tuple(out)
    rep.error("F201", f"{what} must be a name or a list of names, found {describe(value)}",
              span_of(value, span))
    return ()


def as_bool(value: Any, what: str, span: Optional[Span], rep: Reporter, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    rep.error("F201", f"{what} must be true or false, found {describe(value)}", span_of(value, span))
    return default


def as_number(value: Any, what: str, span: Optional[Span], rep: Reporter, default):
    if value is None:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    try:
        return float(str(value))
    except ValueError:
        rep.error("F201", f"{what} must be a number, found {describe(value)}", span_of(value, span))
        return default
