"""`{slot}` interpolation by the string.Formatter subclass vs. the jinja translation it replaced.

The old code (formc before the renovation, kept below verbatim as the reference) parsed each
template with CPython's private `_string` module and rendered a jinja2 translation of it. The
new one is a `string.Formatter` subclass (formc/runtime/responses.py). Both must give the same
text on every template, including the edge cases of Rasa's two-pass algorithm (escapes, the
mixed-escape quirk, auto/manual numbering, nested format specs, refused attribute access).
"""

from __future__ import annotations

import _string  # the legacy reference only: formc itself no longer imports it
import functools
import re
import string
from typing import Any, Optional

from hypothesis import example, given, settings, strategies as st
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from formc.runtime.responses import MAX_FORMAT_WIDTH, interpolate_text

_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
_DIGITS = re.compile(r"\d+")


# ------------------------------------------------------------------ the legacy implementation

class _Refused(Exception):
    """The string cannot be interpolated the way Rasa would (error, or unsafe in Rasa)."""


class _ItemsOnlySandbox(SandboxedEnvironment):
    """A sandbox where `a[b]` is a plain item lookup on JSON data and attributes do not exist.

    jinja2 normally falls back from a missing item to an attribute (`{}['items']` would be the
    bound method); `str.format` raises KeyError instead, which is what we must reproduce.
    """

    def getitem(self, obj, argument):
        if not isinstance(obj, (dict, list, tuple, str)):
            raise TypeError(f"{type(obj).__name__!r} object is not subscriptable")
        return obj[argument]

    def getattr(self, obj, attribute):
        raise SecurityError(f"attribute access {attribute!r} is not allowed in responses")


_FORMAT_ENV = _ItemsOnlySandbox(autoescape=False, keep_trailing_newline=True)


def _format_value(value: Any, conversion: Optional[str], spec: str) -> str:
    if conversion == "r":
        value = repr(value)
    elif conversion == "s":
        value = str(value)
    elif conversion == "a":
        value = ascii(value)
    elif conversion is not None:
        raise ValueError(f"unknown conversion specifier {conversion!r}")
    if any(len(n) > 5 or int(n) > MAX_FORMAT_WIDTH for n in _DIGITS.findall(spec)):
        raise _Refused("format spec too large")
    return format(value, spec)


class _Translator:
    """Translates one format string into jinja2 source; constants go into side tables."""

    def __init__(self) -> None:
        self.literals: list[str] = []
        self.keys: list[Any] = []
        self.auto_index: Optional[int] = 0   # None once manual numbering was used
        self.manual = False

    def literal(self, text: str) -> str:
        self.literals.append(text)
        return f"L[{len(self.literals) - 1}]"

    def _position(self, first: Any) -> int:
        if first == "":
            if self.manual:
                raise ValueError("cannot switch from manual field numbering to automatic")
            index, self.auto_index = self.auto_index, self.auto_index + 1
            return index
        if isinstance(first, str):
            raise KeyError(first)          # keyword field: `format` is only given one positional arg
        if self.auto_index:
            raise ValueError("cannot switch from automatic field numbering to manual")
        self.manual = True
        return first

    def field(self, field_name: str, conversion: Optional[str], spec: str, depth: int) -> str:
        first, rest = _string.formatter_field_name_split(field_name)
        expr = f"A[{self._position(first)}]"
        for is_attribute, key in rest:
            if is_attribute:
                raise _Refused("attribute access in a placeholder")
            self.keys.append(key)
            expr = f"{expr}[K[{len(self.keys) - 1}]]"
        spec_expr = self.string(spec, depth - 1) if spec else "''"
        conv = "none" if conversion is None else self.literal(conversion)
        return f"F({expr}, {conv}, {spec_expr})"

    def string(self, fmt: str, depth: int) -> str:
        """A jinja2 expression producing `fmt` formatted (depth limits nested specs like Python)."""
        if depth < 0:
            raise ValueError("Max string recursion exceeded")
        parts = []
        for literal, field_name, spec, conversion in _string.formatter_parser(fmt):
            if literal:
                parts.append(self.literal(literal))
            if field_name is not None:
                parts.append(self.field(field_name, conversion, spec or "", depth))
        return " ~ ".join(parts) if parts else "''"


@functools.lru_cache(maxsize=4096)
def _compile_format(fmt: str):
    translator = _Translator()
    expression = translator.string(fmt, 1)
    template = _compile_source("{{ " + expression + " }}")
    return template, tuple(translator.literals), tuple(translator.keys)


@functools.lru_cache(maxsize=1024)
def _compile_source(source: str):
    # The source only encodes the shape (literals and keys live in side tables), so strings
    # with the same shape share one compiled template.
    return _FORMAT_ENV.from_string(source)


def _safe_format(fmt: str, args: tuple) -> str:
    """`fmt.format(*args)` restricted to item lookups; raises _Refused on any failure."""
    try:
        template, literals, keys = _compile_format(fmt)
        return template.render(A=args, L=literals, K=keys, F=_format_value, none=None)
    except RecursionError as exc:
        raise _Refused(str(exc)) from exc
    except Exception as exc:  # KeyError, IndexError, ValueError, TypeError, SecurityError, ...
        raise _Refused(str(exc)) from exc


def legacy_interpolate_text(template: str, values: dict) -> str:
    """Rasa's `interpolate_text`: `{name}` -> value; any failure leaves `template` as written."""
    if "{" not in template and "}" not in template:
        return template
    translated = _PLACEHOLDER.sub(r"{0[\1]}", template)
    try:
        text = _safe_format(translated, (values,))
    except _Refused:
        return template
    if "0[" in text:
        # A placeholder survived (it was inside an escape `{{...}}`): Rasa then formats the
        # original with no values, which only succeeds if it holds escapes and no placeholder.
        try:
            return _safe_format(template, ({},))
        except _Refused:
            return template
    return text




# ------------------------------------------------------------------------- old vs. new

PIECES = list("{}[]!:.>^<0123 abn_x\n") + [
    "name", "a", "b", "0", "٣", "__class__", "{name}", "{a}", "{a[b]}", "{a[0]}", "{b[1]}",
    "{{", "}}", "{}", "{0}", "{1}", "{0[a]}", "{0[name]}", "!r", "!s", "!a", "!x", ":>5", ":^",
    ":{}", ":{0}", ":{a}", ":{0[a]}", ":{{", ".real", "[0]", "[a]", "99999", ":.3", "%"]
templates = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)
scalars = (st.none() | st.booleans() | st.integers(-1000, 1000)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6)
           | st.sampled_from(["5", "{", "}", ">3", "0[", "{name}", "{{x}}"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["a", "b", "0", "1", "name"]), inner, max_size=3), max_leaves=6)
slot_dicts = st.dictionaries(st.sampled_from(["a", "b", "ab", "name", "0", "1", "٣", "__class__"]),
                             values, max_size=5)


@settings(max_examples=1500, deadline=None)
@given(templates, slot_dicts)
@example("{0:{1:x}}", {"a": 1})              # a spec inside a spec without braces
@example("{{0:{{}}}}", {})
@example("{name:{a}}", {"name": 3, "a": 4})
@example("{} and {name}", {"name": "x"})         # auto numbering in the first pass
@example("{{name}} {}", {"name": "x"})           # the second pass, with `{}`
@example("{0[{]}", {"a": 1})
@example("{a[٣]}", {"a": "abcdef"})
@example("{a!r:>{b}}", {"a": "x", "b": 9})
@example("{a:>99999}", {"a": "x"})
def test_formatter_matches_the_jinja_translation(template, slots):
    assert interpolate_text(template, slots) == legacy_interpolate_text(template, slots)


REFUSED = "<refused>"


def _outcome(fn, fmt: str, args: tuple) -> tuple[str, str]:
    """(text, "") or (REFUSED, the error message)."""
    try:
        return fn(fmt, args), ""
    except Exception as exc:
        return REFUSED, str(exc)


def _has_attribute_access(fmt: str) -> bool:
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError:
        return False
    return any(field is not None and ("." in field or _has_attribute_access(spec or ""))
               for _literal, field, spec, _conversion in parts)


def _expected(fmt: str, args: tuple) -> str:
    """The legacy result, except where it refused a nested spec that str.format accepts.

    The one difference found: str.format expands a spec inside a spec only when it holds a '{'
    (`"{0:{1:x}}".format(5, 3)` is '  5'); the jinja translation refused any non-empty one.
    The Formatter follows str.format (what Rasa runs)."""
    legacy, message = _outcome(_safe_format, fmt, args)
    if message == "Max string recursion exceeded" and not _has_attribute_access(fmt):
        return _outcome(lambda f, a: f.format(*a), fmt, args)[0]
    return legacy


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(PIECES + ["{0:{1:x}}", "{:{:>}}"]), max_size=10).map("".join),
       values, values)
@example("{0:{1:x}}", 5, 3)
@example("{0:{1:{0}}}", 5, 3)
@example("{0!r:{1:}}", "a", 4)
@example("{0.real:{1:x}}", 5, 3)
def test_formatter_formats_like_the_translation_and_str_format(template, first, second):
    """Both passes of Rasa's algorithm end in `fmt.format(*args)`: compared on two arguments."""
    from formc.runtime.responses import _safe_format as new_safe_format

    new = _outcome(new_safe_format, template, (first, second))[0]
    assert new == _expected(template, (first, second))


def test_nested_spec_without_braces_is_formatted_as_rasa_does():
    """Only reachable with a newline in the inner spec (Rasa's first-pass regex rewrites every
    other innermost field); the jinja translation left this text as written, Rasa formats it."""
    template, slots = "{0[b]:{0[a]:\n<1}}", {"a": "5", "b": "xy"}
    rasa = re.sub(r"{([^\n{}]+?)}", r"{0[\1]}", template).format(slots)
    assert rasa == "xy   "
    assert interpolate_text(template, slots) == rasa
    assert legacy_interpolate_text(template, slots) == template
