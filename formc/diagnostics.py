"""Diagnostics -> text for people (with the source line and a caret), GitHub annotations, JSON."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Iterable, Optional

from .errors import Diagnostic

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@lru_cache(maxsize=64)
def _lines(path: str) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            return tuple(handle.read().splitlines())
    except OSError:
        return ()


def source_line(diagnostic: Diagnostic) -> Optional[str]:
    span = diagnostic.span
    if not span or not span.line:
        return None
    lines = _lines(span.file)
    if 0 < span.line <= len(lines):
        return lines[span.line - 1]
    return None


def sort_key(d: Diagnostic):
    span = d.span
    return (span.file if span else "", span.line if span else 0, span.col if span else 0,
            SEVERITY_ORDER.get(d.severity, 3), d.code, d.message)


def render_text(diagnostics: Iterable[Diagnostic], frame: bool = True) -> str:
    """`path:line:col: error: message [F123]` + code frame + hint, one block per finding."""
    blocks = []
    for d in sorted(diagnostics, key=sort_key):
        where = f"{d.span}: " if d.span else ""
        lines = [f"{where}{d.severity}: {d.message} [{d.code}]"]
        line = source_line(d) if frame else None
        if line is not None:
            lines.append(f"  {d.span.line:>4} | {line}")
            lines.append("       | " + " " * max(d.span.col - 1, 0) + "^")
        if d.hint:
            lines.append(f"  hint: {d.hint}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def render_github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands: ::error file=..,line=..,col=..::message."""
    out = []
    for d in sorted(diagnostics, key=sort_key):
        level = {"error": "error", "warning": "warning"}.get(d.severity, "notice")
        props = []
        if d.span:
            props.append(f"file={d.span.file}")
            if d.span.line:
                props.append(f"line={d.span.line}")
                props.append(f"col={d.span.col}")
        props.append(f"title={d.code}")
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        out.append(f"::{level} {','.join(props)}::{message}")
    return "\n".join(out)


def to_json_list(diagnostics: Iterable[Diagnostic]) -> list[dict]:
    return [{"severity": d.severity, "code": d.code, "message": d.message,
             "file": d.span.file if d.span else None,
             "line": d.span.line if d.span else None,
             "col": d.span.col if d.span else None, "hint": d.hint or None}
            for d in sorted(diagnostics, key=sort_key)]


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    items = to_json_list(diagnostics)
    summary = {"errors": sum(1 for d in items if d["severity"] == "error"),
               "warnings": sum(1 for d in items if d["severity"] == "warning")}
    return json.dumps({"diagnostics": items, "summary": summary}, indent=2, ensure_ascii=False)
