"""Diagnostics -> text for people (with the source line and a caret), GitHub annotations, JSON."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Iterable, Optional

from .errors import Diagnostic, Span

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def read_source_lines(path: str) -> tuple[str, ...]:
    """A source file's lines as the readers see them (BOM dropped), () when unreadable."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            return tuple(handle.read().splitlines())
    except OSError:
        return ()


_lines = lru_cache(maxsize=64)(read_source_lines)    # rendering shows many findings per file


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


# ANSI colours per severity (used only when the CLI says the output is a colour terminal).
_COLOURS = {"error": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"
# Codes whose frame shows the neighbouring lines too: a YAML syntax error is about the shape
# of the text around it (indentation), not one token.
_WIDE_FRAME = {"F100": (2, 1)}


def render_text(diagnostics: Iterable[Diagnostic], frame: bool = True, color: bool = False) -> str:
    """`path:line:col: error: message [F123]` + code frame + hint, one block per finding.
    Parse errors (F100) come first: whatever else was found may follow from them."""
    paint = (lambda code, text: f"{code}{text}{_RESET}") if color else (lambda _code, text: text)
    blocks = []
    for d in sorted(diagnostics, key=lambda d: (d.code != "F100", sort_key(d))):
        where = paint(_BOLD, f"{d.span}: ") if d.span else ""
        severity = paint(_COLOURS.get(d.severity, ""), f"{d.severity}:")
        lines = [f"{where}{severity} {d.message} [{d.code}]"]
        if frame:
            lines += _frame(d, paint)
        if d.hint:
            lines.append(f"  {paint(_BOLD, 'hint:')} {d.hint}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _frame(d: Diagnostic, paint) -> list[str]:
    """The offending source line with a caret under the column (and its neighbours for F100)."""
    span = d.span
    if source_line(d) is None:
        return []
    all_lines = _lines(span.file)
    before, after = _WIDE_FRAME.get(d.code, (0, 0))
    out = []
    for number in range(max(1, span.line - before), min(len(all_lines), span.line + after) + 1):
        text = f"  {number:>4} | {all_lines[number - 1]}"
        out.append(text if number == span.line or not before else paint(_DIM, text))
        if number == span.line:
            out.append("       | " + " " * max(span.col - 1, 0)
                       + paint(_COLOURS.get(d.severity, ""), "^"))
    return out


def explain_yaml_error(text: str, diagnostic: Diagnostic) -> Diagnostic:
    """A YAML syntax error in libyaml's words -> the same error said in plain words, placed on
    the line that is really wrong, when an indentation mistake explains it; libyaml's words
    stay in the hint. Anything else comes back unchanged."""
    span = diagnostic.span
    if span is None or not span.line:
        return diagnostic
    found = _indentation_mistake(text.splitlines(), span.line)
    if found is None:
        return diagnostic
    line, indent, message = found
    libyaml = diagnostic.message.removeprefix("invalid YAML: ")
    return Diagnostic(diagnostic.severity, diagnostic.code, f"invalid YAML: {message}",
                      Span(span.file, line, indent + 1),
                      f"indent it like its siblings (YAML nests by indentation); "
                      f"the parser said: {libyaml} (line {span.line})")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(lines: list[str], number: int) -> bool:
    stripped = lines[number - 1].strip()
    return bool(stripped) and not stripped.startswith("#")


def _usual_step(lines: list[str]) -> int:
    """The file's usual indentation step (how much deeper a nested block starts)."""
    steps: dict[int, int] = {}
    prev = 0
    for number in range(1, len(lines) + 1):
        if _content(lines, number):
            here = _indent(lines[number - 1])
            if here > prev:
                steps[here - prev] = steps.get(here - prev, 0) + 1
            prev = here
    return max(steps, key=lambda k: (steps[k], -k)) if steps else 2


def _indentation_mistake(lines: list[str], at: int):
    """(line, indent, plain words) for the over- or under-indented line near line `at`, or None."""
    if not 0 < at <= len(lines) or not _content(lines, at):
        return None
    here = _indent(lines[at - 1])
    above = next((n for n in range(at - 1, 0, -1) if _content(lines, n)), None)
    if above is None:
        return None
    prev = _indent(lines[above - 1])
    if prev > here:
        # The block above is deeper than this line, and this line matches none of the blocks
        # that are open: the block above was indented too far (its siblings use `here`).
        first, parent = above, None
        for n in range(above - 1, 0, -1):
            if not _content(lines, n):
                continue
            if _indent(lines[n - 1]) < prev:
                parent = _indent(lines[n - 1])
                break
            first = n
        if parent is None or parent >= here:
            return None
        step = _usual_step(lines)
        if here - parent != step and prev - parent == step:    # this line is the odd one
            return (at, here, f"line {at} is indented {here} spaces; its siblings use {prev}")
        return (first, prev, f"line {first} is indented {prev} spaces; its siblings use {here}")
    if prev < here and not lines[above - 1].rstrip().endswith((":", "|", ">", "-")):
        return (at, here, f"line {at} is indented {here} spaces, deeper than line {above} "
                f"({prev} spaces), which opens no block")
    return None


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
