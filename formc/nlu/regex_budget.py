"""NLU regexes under a per-message time budget: pattern text -> a compiled pattern whose matching
stops when the message's budget is spent, and the compile-time check for catastrophic backtracking.

Why: Rasa matches regex features and entities with Python's `re`, which has no time limit, so a
pattern like `(a|a)+$` and one public message of 30 `a`s freeze the process (and in an async
server every other conversation with it). The `regex` package (VERSION0: `re`'s syntax and
semantics) accepts a `timeout`; every regex of one message (`message_budget()`, entered by
`Nlu.parse`) shares one budget, FORMC_REGEX_BUDGET_MS milliseconds (default 5). A pattern that
runs out of budget simply matches nothing for that message, and a warning is logged.
"""
from __future__ import annotations

import contextvars
import logging
import os
import re
import time
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import regex

try:
    import re._parser as _re_parser   # type: ignore[import-not-found]
except ImportError:                    # pragma: no cover - Python < 3.11
    import sre_parse as _re_parser     # type: ignore[no-redef]

log = logging.getLogger("formc.nlu")


def _budget_seconds() -> float:
    try:
        return max(0.001, float(os.environ.get("FORMC_REGEX_BUDGET_MS", "5")) / 1000.0)
    except ValueError:
        return 0.005


BUDGET_S = _budget_seconds()
# The regex budget of the message being parsed: [wall time left, thread CPU time at its start,
# the message's memo] (None outside a parse: each call then gets BUDGET_S). Only time spent
# inside regexes is charged, and a budget is only spent once the CPU time confirms it (see _run).
_left: contextvars.ContextVar[Optional[list]] = contextvars.ContextVar(
    "formc_regex_budget", default=None)


@contextmanager
def message_budget(seconds: Optional[float] = None) -> Iterator[None]:
    """Every regex matched inside shares one budget (nested budgets keep the outer one)."""
    if _left.get() is not None:
        yield
        return
    token = _left.set([BUDGET_S if seconds is None else seconds, time.thread_time(), {}])
    try:
        yield
    finally:
        _left.reset(token)


def message_memo() -> Optional[dict]:
    """A dict that lives as long as the message being parsed (None outside a parse): the
    intent scorer, each response selector and the CRF ask for the same tokens and the same
    regex matches of one text, and a bounded `regex` match costs ~5 us even on a short text."""
    state = _left.get()
    return None if state is None else state[2]


def _run(call, pattern: str, text: str, quiet: bool, empty: Any) -> Any:
    """`call(timeout)` within what is left of the budget.

    Matches are charged wall time (cheap to read), but the budget is declared spent only once
    this thread has burnt that much CPU since the message began: on a busy machine the process
    may be descheduled in the middle of a match, and `regex`'s wall-clock timeout then fires on
    a harmless pattern; such a match is retried with the CPU time really left."""
    state = _left.get()
    if state is None:                       # outside a parse: this call has a budget of its own
        state = [BUDGET_S, time.thread_time()]
    for _attempt in range(8):
        if state[0] <= 0 and not _rebase(state):
            break
        t0 = time.perf_counter()
        try:
            return call(state[0])
        except TimeoutError:
            pass
        finally:
            state[0] -= time.perf_counter() - t0
    return _spent(pattern, len(text), quiet) or empty


def _rebase(state: list) -> bool:
    """Reset the wall-time allowance to the CPU time left; False when that is used up too."""
    state[0] = BUDGET_S - (time.thread_time() - state[1])
    return state[0] > 0.0002


class BudgetPattern:
    """A compiled pattern with `re.Pattern`'s finditer/search, bounded by the message budget."""

    __slots__ = ("pattern", "_compiled", "_bounded", "_key")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        compiled = re.compile(pattern, flags)      # Rasa's `re` decides what is valid
        self.pattern = pattern
        self._key = ("finditer", pattern, flags)
        try:
            self._compiled: Any = regex.compile(pattern, _regex_flags(flags) | regex.VERSION0)
            self._bounded = True
        except (regex.error, RecursionError, OverflowError, ValueError):
            self._compiled, self._bounded = compiled, False   # `re`-only syntax: unbounded

    def finditer(self, text: str, quiet: bool = False) -> list:
        """All matches (a list, not an iterator: the budget covers the whole scan)."""
        if not self._bounded:
            return list(self._compiled.finditer(text))
        state = _left.get()
        if state is None:
            return self._finditer(text, quiet)
        # one scan per pattern and text in a message: the same pattern and flags (another
        # scorer's copy) find the same matches; a scan that ran out of budget stays empty
        key = (*self._key, text)
        found = state[2].get(key)
        if found is None:
            found = state[2][key] = self._finditer(text, quiet)
        return found

    def _finditer(self, text: str, quiet: bool) -> list:
        return _run(lambda t: list(self._compiled.finditer(text, timeout=t)), self.pattern,
                    text, quiet, [])

    def search(self, text: str) -> Optional[Any]:
        if not self._bounded:
            return self._compiled.search(text)
        return _run(lambda t: self._compiled.search(text, timeout=t), self.pattern, text,
                    False, None)


def budget_compile(pattern: str, flags: int = 0) -> BudgetPattern:
    """Like re.compile (raises re.error for what `re` refuses), but matched within the budget."""
    return BudgetPattern(pattern, flags)


def _regex_flags(flags: int) -> int:
    out = 0
    for name in ("IGNORECASE", "MULTILINE", "DOTALL", "VERBOSE", "ASCII", "UNICODE"):
        if flags & getattr(re, name):
            out |= getattr(regex, name)
    return out


def _spent(pattern: str, length: int, quiet: bool = False) -> None:
    if not quiet:
            log.warning('{"warning": "regex time budget spent", "pattern": %r, "text_length": %d, '
                    '"budget_ms": %g}', pattern[:80], length, BUDGET_S * 1000)


# ---------------------------------------------------------------- compile-time check

_REPEATS = ("MAX_REPEAT", "MIN_REPEAT")


def _nodes(tree) -> Iterator[tuple[str, Any]]:
    for op, arg in (tree.data if isinstance(tree, _re_parser.SubPattern) else tree):
        yield str(op), arg


def _children(op: str, arg) -> list:
    if op in _REPEATS:
        return [arg[2]]
    if op == "SUBPATTERN":
        return [arg[-1]]
    if op == "BRANCH":
        return list(arg[1])
    if op in ("ASSERT", "ASSERT_NOT"):
        return [arg[1]]
    return []


def _first_chars(tree) -> Optional[set]:
    """Literal first characters of a subpattern, or None when it may start with a class/any."""
    for op, arg in _nodes(tree):
        if op == "LITERAL":
            return {chr(arg).lower()}
        if op == "SUBPATTERN":
            return _first_chars(arg[-1])
        if op in _REPEATS:
            return _first_chars(arg[2]) if arg[0] > 0 else None
        if op == "BRANCH":
            sets = [_first_chars(b) for b in arg[1]]
            return None if any(s is None for s in sets) else set().union(*sets)
        if op in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        return None
    return set()


def _risky(tree, body_first: Optional[set]) -> Optional[str]:
    """Why matching may backtrack exponentially: a repeat inside a repeat, or alternatives
    that can match the same text inside a repeat. `body_first`: None outside a repeat, else
    the first characters of the enclosing repeat's body (empty: unknown)."""
    for op, arg in _nodes(tree):
        if op in _REPEATS and arg[1] > 1:
            if body_first is not None:
                return "a repeated group contains another repetition (e.g. `(a+)+`)"
            found = _risky(arg[2], _first_chars(arg[2]) or set())
        elif op == "BRANCH" and body_first is not None:
            if _ambiguous(arg[1], body_first):
                return ("a repeated group has alternatives that can match the same text "
                        "(e.g. `(a|a)+` or `(a|aa)+`)")
            found = next((r for b in arg[1] for r in [_risky(b, body_first)] if r), None)
        else:
            found = next((r for c in _children(op, arg) for r in [_risky(c, body_first)] if r),
                         None)
        if found:
            return found
    return None


def _ambiguous(branches: list, body_first: set) -> bool:
    """Two alternatives may start alike (an empty one starts like the repeat's next round)."""
    seen: set = set()
    for branch in branches:
        first = _first_chars(branch)
        if first is None:
            return True
        if not first:
            first = body_first or {""}
        if first & seen:
            return True
        seen |= first
    return False


def backtracking_risk(pattern: str, flags: int = 0) -> Optional[tuple[bool, str]]:
    """(budget can't be met, why) for a pattern prone to catastrophic backtracking, else None.
    Static analysis flags the shape; probing it with short adversarial texts decides whether a
    message of a few dozen characters already spends the whole per-message budget."""
    try:
        why = _risky(_re_parser.parse(pattern, flags), None)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    if why is None:
        return None
    probe = BudgetPattern(pattern, flags)
    chars = sorted({c for c in pattern if c.isalnum()} | {"a", "0", " "})[:12]
    for c in chars:
        text = c * 32 + "!"
        with message_budget():
            t0 = time.thread_time()       # CPU time: a descheduled probe is not a slow one
            probe.finditer(text, quiet=True)
            if time.thread_time() - t0 >= BUDGET_S * 0.9:
                return True, (f"{why}; a message of {len(text)} characters ({c!r} * 32 + '!') "
                              f"already spends the whole {BUDGET_S * 1000:g} ms regex budget")
    return False, why


def risk_diagnostics(name: str, pattern: str, span: Any) -> list:
    """F330 (warning) for a pattern shaped for catastrophic backtracking; F331 (error) when a
    short adversarial message already spends the per-message budget."""
    from ..errors import ERROR, WARNING, Diagnostic
    risk = backtracking_risk(pattern, re.IGNORECASE)
    if risk is None:
        return []
    fatal, why = risk
    hint = ("rewrite it without nested or overlapping repetition (e.g. `(a+)+` -> `a+`, "
            "`(a|ab)+` -> `(ab?)+`)")
    if fatal:
        return [Diagnostic(ERROR, "F331", f"regex '{name}' cannot be matched within the "
                           f"per-message time budget: {why}", span, hint)]
    return [Diagnostic(WARNING, "F330", f"regex '{name}' may backtrack catastrophically: {why}; "
                       "formc stops it at the per-message time budget, Rasa would hang", span, hint)]
