"""Source positions and diagnostics: every stage reports problems as Diagnostic values."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Optional


@dataclass(frozen=True, order=True)
class Span:
    """A place in a source file; line and col are 1-based."""

    file: str
    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file

    def to_json(self) -> str:
        return str(self)


ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One finding: what is wrong, where, and what to do about it."""

    severity: str
    code: str
    message: str
    span: Optional[Span] = None
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def render(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = f"{where}{self.severity}: {self.message} [{self.code}]"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class FormcError(Exception):
    """Raised at a stage boundary when errors make it impossible to go on."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


@dataclass
class Reporter:
    """Collects diagnostics; stages call error()/warning() and keep going while they can."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Optional[Span] = None, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(ERROR, code, message, span, hint))

    def warning(self, code: str, message: str, span: Optional[Span] = None, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(WARNING, code, message, span, hint))

    def extend(self, diagnostics) -> None:
        self.diagnostics.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """The hint for an unknown name: the closest known one, or ''."""
    close = difflib.get_close_matches(name, sorted(options), n=1)
    return f"did you mean '{close[0]}'?" if close else ""
