"""Bounded jinja2 rendering for bot responses: a sandbox whose output size and render time are capped.

A bot author's `{% for %}` or `{{ 'x' * 10**9 }}` runs on the server's event loop for every
user who reaches that response, so a template may produce at most MAX_OUTPUT characters and
run at most MAX_SECONDS: the time is checked on every output chunk, every call, every `*`/`**`
and every step of `range()`; `*` and `**` refuse results beyond the output cap before
computing them. A template over either bound raises RenderLimit (the caller keeps the text as
written, as for any other rendering failure).
"""
from __future__ import annotations

import time
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

MAX_OUTPUT = 64 * 1024      # characters of one rendered string
MAX_SECONDS = 0.05          # per string
MAX_RANGE = 10_000          # items of one range() (jinja2's own sandbox allows 100,000)


class RenderLimit(Exception):
    """A template went over the output or time bound."""


class BoundedSandbox(SandboxedEnvironment):
    """jinja2's sandbox with `*`/`**` sized before they run and a deadline on calls/ranges."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = self._range
        self.deadline = float("inf")

    def tick(self) -> None:
        if time.perf_counter() > self.deadline:
            raise RenderLimit(f"the template ran longer than {MAX_SECONDS * 1000:g} ms")

    def _range(self, *args: int) -> "_CheckedRange":
        steps = range(*args)
        if len(steps) > MAX_RANGE:
            raise RenderLimit(f"range() of {len(steps):,} items; at most {MAX_RANGE:,}")
        return _CheckedRange(steps, self)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        self.tick()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) \
                        and len(seq) * times > MAX_OUTPUT:
                    raise RenderLimit(f"a repetition of {len(seq) * times:,} items")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 1000:
            raise RenderLimit("an exponent over 1000")
        return super().call_binop(context, operator, left, right)

    def call(self, __context, __obj, *args: Any, **kwargs: Any) -> Any:
        self.tick()
        return super().call(__context, __obj, *args, **kwargs)


class _CheckedRange:
    """A range whose iteration checks the render deadline at every step."""

    def __init__(self, steps: range, env: BoundedSandbox) -> None:
        self.steps, self.env = steps, env

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self):
        for value in self.steps:
            self.env.tick()
            yield value


def bounded_render(template: Any, context: dict) -> str:
    """`template.render(context)` within MAX_OUTPUT characters and MAX_SECONDS."""
    env = template.environment
    start = time.perf_counter()
    outer = getattr(env, "deadline", None)
    if isinstance(env, BoundedSandbox):
        env.deadline = start + MAX_SECONDS
    try:
        parts, size = [], 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise RenderLimit(f"the template renders more than {MAX_OUTPUT:,} characters")
            if time.perf_counter() - start > MAX_SECONDS:
                raise RenderLimit(f"the template ran longer than {MAX_SECONDS * 1000:g} ms")
            parts.append(chunk)
        return "".join(parts)
    finally:
        if isinstance(env, BoundedSandbox):
            env.deadline = outer if outer is not None else float("inf")
