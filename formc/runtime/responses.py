"""Response rendering: (model.Response, slot values, channel) -> bot message dict, and bot -> REST messages.

Reproduces Rasa 3.6's templated NLG (reference §2.6, §10.2, §9.2):
  * variation selection: conditional/default x channel-specific/generic groups, uniform choice;
  * `{slot}` interpolation with `str.format` semantics (None -> "None", lists as repr, an unknown
    placeholder leaves the whole string as written, `{{x}}` escapes and the mixed-escape quirk).

Rasa's placeholders are formatted by a `string.Formatter` subclass that follows str.format
(Python's own format-string parser, field numbering, nesting depth) but only looks items up in
the slot values: attribute access (`{x].__class__}`), which `str.format` would perform, is refused
and such a string is left un-interpolated. Responses whose variation says
`metadata: {rendering: jinja}` are rendered as (sandboxed) jinja2 templates with `slots` in the
context.
"""

from __future__ import annotations

import functools
import random
import re
import string
from typing import Any, Optional

from .. import model
from .render_bound import BoundedSandbox, bounded_render   # output/time bounds (issue 14)

# Keys of a variation that become the bot event's `data` / message keys; everything else
# (condition, channel, id, metadata, button_type, ...) ends up in the bot event's metadata.
DATA_KEYS = ("text", "elements", "quick_replies", "buttons", "attachment", "image", "custom")
# Keys Rasa interpolates (note: not `elements`).
INTERPOLATED_KEYS = ("text", "image", "custom", "buttons", "attachment", "quick_replies")

# Rasa's placeholder pattern: `{name}` without newline or braces inside.
_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
# A format spec asking for a huge width/precision would allocate absurd strings; refuse it.
_DIGITS = re.compile(r"\d+")
MAX_FORMAT_WIDTH = 10_000


# ------------------------------------------------------------------------ variation choice

def _condition_matches(variation: dict, slots: dict) -> bool:
    for constraint in variation.get("condition") or ():
        if not isinstance(constraint, dict):
            return False
        expected = constraint.get("value")
        actual = slots.get(constraint.get("name"))
        if isinstance(actual, str) and isinstance(expected, str):
            if actual.casefold() != expected.casefold():
                return False
        elif actual != expected:
            return False
    return True


def eligible_variations(response: model.Response, slots: dict, channel: Optional[str]) -> list[dict]:
    """The group of variations Rasa chooses from (§2.6 step 2), in declaration order."""
    conditional, default = [], []
    for variation in response.variations:
        if not isinstance(variation, dict):
            continue
        if variation.get("condition"):
            if _condition_matches(variation, slots):
                conditional.append(variation)
        else:
            default.append(variation)
    groups = (
        [v for v in conditional if v.get("channel") == channel],
        [v for v in default if v.get("channel") == channel],
        [v for v in conditional if v.get("channel") is None],
        [v for v in default if v.get("channel") is None],
    )
    # `channel == None` never selects the channel-specific groups (a variation's channel is a string).
    for group in groups if channel is not None else groups[2:]:
        if group:
            return group
    return []


def select_variation(response: model.Response, slots: dict, channel: Optional[str],
                     rng: random.Random) -> Optional[dict]:
    group = eligible_variations(response, slots, channel)
    if not group:
        return None
    # A single candidate does not consume randomness, so adding a one-variation response to a
    # domain does not shift the choices made for other responses.
    return group[0] if len(group) == 1 else rng.choice(group)


# ------------------------------------------------ str.format, limited to item lookups

class _Refused(Exception):
    """The string cannot be interpolated the way Rasa would (error, or unsafe in Rasa)."""


class _Numbering:
    """str.format's field numbering: automatic (`{}`) or manual (`{0}`), never both."""

    def __init__(self) -> None:
        self.mode: Optional[str] = None
        self.next_index = 0

    def index(self, manual: Optional[int]) -> int:
        mode = "auto" if manual is None else "manual"
        if self.mode is None:
            self.mode = mode
        elif self.mode != mode:
            raise ValueError(f"cannot switch from {self.mode} field numbering to {mode}")
        if manual is not None:
            return manual
        self.next_index += 1
        return self.next_index - 1


def _as_index(text: str) -> Optional[int]:
    """A field-name part made only of decimal digits is a number, as in str.format."""
    return int(text) if text.isdecimal() else None


class _ResponseFormatter(string.Formatter):
    """`fmt.format(*args)` as CPython does it (the same parser, field-name rules, numbering and
    nesting depth), except that only item lookups into the JSON slot values are performed:
    attribute access (`{0.__class__}`), which str.format would perform, raises _Refused."""

    def vformat(self, format_string: str, args, kwargs) -> str:
        return self._expand(format_string, args, _Numbering(), 2)

    def _expand(self, fmt: str, args, numbering: _Numbering, depth: int) -> str:
        if depth <= 0:
            raise ValueError("Max string recursion exceeded")
        out = []
        for literal, field_name, spec, conversion in self.parse(fmt):
            out.append(literal)
            if field_name is None:
                continue
            value = self._field(field_name, args, numbering)
            if conversion is not None:
                value = self.convert_field(value, conversion)
            # str.format expands a spec (one level down) only when its field holds a '{'
            if "{" in field_name or "{" in spec:
                spec = self._expand(spec, args, numbering, depth - 1)
            out.append(self.format_field(value, spec))
        return "".join(out)

    def _field(self, field_name: str, args, numbering: _Numbering) -> Any:
        """`first` (an argument) followed by `[key]` lookups; '.attribute' is refused."""
        split = next((i for i, c in enumerate(field_name) if c in ".["), len(field_name))
        first, rest = field_name[:split], field_name[split:]
        index = _as_index(first)
        if first and index is None:
            raise KeyError(first)          # keyword field: `format` is only given positional args
        value = args[numbering.index(index)]
        while rest:
            if rest[0] == ".":
                raise _Refused("attribute access in a placeholder")
            if rest[0] != "[":
                raise ValueError("Only '.' or '[' may follow ']' in format field specifier")
            close = rest.find("]")
            if close < 0:
                raise ValueError("Missing ']' in format string")
            key, rest = rest[1:close], rest[close + 1:]
            if not key:
                raise ValueError("Empty attribute in format string")
            value = _item(value, key if _as_index(key) is None else _as_index(key))
        return value

    def format_field(self, value: Any, format_spec: str) -> str:
        # A spec asking for a huge width/precision would allocate absurd strings; refuse it.
        if any(len(n) > 5 or int(n) > MAX_FORMAT_WIDTH for n in _DIGITS.findall(format_spec)):
            raise _Refused("format spec too large")
        return format(value, format_spec)


def _item(value: Any, key: Any) -> Any:
    if not isinstance(value, (dict, list, tuple, str)):
        raise TypeError(f"{type(value).__name__!r} object is not subscriptable")
    return value[key]


_FORMATTER = _ResponseFormatter()


def _safe_format(fmt: str, args: tuple) -> str:
    """`fmt.format(*args)` restricted to item lookups; raises _Refused on any failure."""
    try:
        return _FORMATTER.vformat(fmt, args, {})
    except Exception as exc:  # KeyError, IndexError, ValueError, TypeError, _Refused, ...
        raise _Refused(str(exc)) from exc


def interpolate_text(template: str, values: dict) -> str:
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


def interpolate(value: Any, values: dict) -> Any:
    """Interpolate strings inside dicts/lists recursively (keys are left alone)."""
    if isinstance(value, str):
        return interpolate_text(value, values)
    if isinstance(value, dict):
        return {k: interpolate(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, values) for v in value]
    return value


def render_jinja_text(template: str, slots: dict, extra: Optional[dict] = None) -> str:
    """Opt-in jinja rendering (`metadata: {rendering: jinja}`): `{{ slots.x }}`; sandboxed."""
    try:
        return bounded_render(_compile_jinja(template), {**(extra or {}), "slots": slots})
    except Exception:  # syntax errors, SecurityError, undefined operations: keep the text
        return template


_JINJA_ENV = BoundedSandbox(autoescape=False, keep_trailing_newline=True)   # issue 14


@functools.lru_cache(maxsize=1024)
def _compile_jinja(template: str):
    return _JINJA_ENV.from_string(template)


def _interpolate_jinja(value: Any, slots: dict, extra: Optional[dict]) -> Any:
    if isinstance(value, str):
        return render_jinja_text(value, slots, extra)
    if isinstance(value, dict):
        return {k: _interpolate_jinja(v, slots, extra) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate_jinja(v, slots, extra) for v in value]
    return value


def _uses_jinja(variation: dict) -> bool:
    meta = variation.get("metadata")
    return isinstance(meta, dict) and meta.get("rendering") == "jinja"


# ------------------------------------------------------------------------------ rendering

def fill_variation(variation: dict, slots: dict, extra: Optional[dict] = None) -> dict:
    """A copy of `variation` with its interpolated keys filled from slots (+ extra overrides)."""
    filled = dict(variation)
    if _uses_jinja(variation):
        for key in INTERPOLATED_KEYS:
            if key in filled:
                filled[key] = _interpolate_jinja(filled[key], slots, extra)
        return filled
    values = {**slots, **(extra or {})}
    if not values:  # Rasa skips interpolation entirely when there is nothing to fill in
        return filled
    for key in INTERPOLATED_KEYS:
        if key in filled:
            filled[key] = interpolate(filled[key], values)
    return filled


def bot_from_draft(draft: dict) -> dict:
    """Split a message draft into the bot dict: data keys + everything else as metadata.

    Like Rasa, a message with an image and no attachment records the image as attachment too.
    """
    rest = dict(draft)
    bot = {key: rest.pop(key, None) for key in ("text", "elements", "quick_replies", "buttons")}
    attachment = rest.pop("attachment", None)
    bot["image"] = rest.pop("image", None)
    bot["attachment"] = attachment or bot["image"]
    bot["custom"] = rest.pop("custom", None)
    bot["metadata"] = rest
    return bot


def _render_draft(response: model.Response, slots: dict, channel: Optional[str],
                  rng: random.Random, extra: Optional[dict]) -> Optional[dict]:
    variation = select_variation(response, slots, channel, rng)
    if variation is None:
        return None
    draft = fill_variation(variation, slots, extra)
    draft["utter_action"] = response.name
    return draft


def render_response(response: model.Response, slots: dict, channel: Optional[str],
                    rng: random.Random, extra: Optional[dict] = None) -> Optional[dict]:
    """Render `response` as a bot message dict, or None when no variation is eligible."""
    draft = _render_draft(response, slots, channel, rng, extra)
    return None if draft is None else bot_from_draft(draft)


def render_action_response(entry: dict, domain: model.Domain, slots: dict,
                           channel: Optional[str], rng: random.Random) -> Optional[dict]:
    """One item of an action server's `responses` list -> bot dict (§10.2 point 2), or None."""
    if not isinstance(entry, dict):
        return None
    entry = dict(entry)
    name = entry.pop("response", None)
    if name:
        response = domain.response(name) if isinstance(name, str) else None
        if response is None:
            return None
        # The entry's remaining keys (text=None, buttons=[], custom kwargs...) are all passed as
        # interpolation arguments, as Rasa does, so they override equally named slots.
        draft = _render_draft(response, slots, channel, rng, entry)
        if draft is None:
            return None
    else:
        draft = {}
    buttons = entry.pop("buttons", None) or []
    if buttons:
        draft["buttons"] = list(draft.get("buttons") or []) + list(buttons)
    draft.update({k: v for k, v in entry.items() if v})
    return bot_from_draft(draft)


# ------------------------------------------------------------------------------ REST output

def _rest(recipient_id: str, **fields: Any) -> dict:
    message = {"recipient_id": recipient_id}
    message.update((k, v) for k, v in fields.items() if v is not None)
    return message


def to_rest_messages(bot: dict, recipient_id: str) -> list[dict]:
    """The REST channel's messages for one bot message (§9.2), in Rasa's order."""
    text = bot.get("text")
    image = bot.get("image")
    attachment = bot.get("attachment")
    if attachment == image:   # the attachment is only the image copied over (see bot_from_draft)
        attachment = None
    out: list[dict] = []
    if bot.get("quick_replies"):
        out.append(_rest(recipient_id, text=text, buttons=bot["quick_replies"]))
    elif bot.get("buttons"):
        out.append(_rest(recipient_id, text=text, buttons=bot["buttons"]))
    elif text:
        for part in str(text).strip().split("\n\n"):
            out.append(_rest(recipient_id, text=part))
    if bot.get("custom"):
        out.append(_rest(recipient_id, custom=bot["custom"]))
    if image:
        out.append(_rest(recipient_id, image=image))
    if attachment:
        out.append(_rest(recipient_id, attachment=attachment))
    for element in bot.get("elements") or ():
        if isinstance(element, dict):
            title = f"{element.get('title', '')} : {element.get('subtitle', '')}"
            out.append(_rest(recipient_id, text=title, buttons=element.get("buttons", [])))
    return out
