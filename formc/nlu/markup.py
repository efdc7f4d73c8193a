"""Annotated example text -> (plain text, entity annotations, diagnostics) (reference §3.2).

`[Rome]{"entity": "city", "role": "departure"}` / `[LA](city:Los Angeles)` / `[x](e)` /
`[x][{"entity": "a"}, {"entity": "b"}]`; offsets index the plain text (markup removed).
The lexical shape of an annotation comes from grammars/entity_markup.lark; JSON payloads are
validated here. Positions in diagnostics are computed from `span` (where `text` starts).
"""

from __future__ import annotations

import json
from typing import Any, Optional

from lark.exceptions import LarkError

from ..errors import Diagnostic, ERROR, Span
from ..model import EntityAnnotation
from .grammars import parser


def parse_annotated(text: str, span: Optional[Span] = None
                    ) -> tuple[str, tuple[EntityAnnotation, ...], list[Diagnostic]]:
    """Strip entity markup from `text`; annotations get offsets into the returned plain text."""
    diags: list[Diagnostic] = []
    if "[" not in text:
        return text, (), diags
    try:
        tree = parser("entity_markup").parse(text)
    except LarkError as exc:              # the grammar accepts every string; be total anyway
        diags.append(Diagnostic(ERROR, "F301", f"cannot read entity markup: {exc}", span))
        return text, (), diags
    plain: list[str] = []
    length = 0
    entities: list[EntityAnnotation] = []
    for piece in tree.children:
        token = piece.children[0]
        raw = str(token)
        if piece.data != "annotation":
            plain.append(raw)
            length += len(raw)
            continue
        close = raw.index("]")
        surface = raw[1:close]
        suffix = raw[close + 1:]
        where = _offset_span(span, token.start_pos)
        start, end = length, length + len(surface)
        for ann in _annotations(surface, suffix, start, end, where, diags):
            entities.append(ann)
        plain.append(surface)
        length = end
    return "".join(plain), tuple(entities), diags


def _annotations(surface: str, suffix: str, start: int, end: int, span: Optional[Span],
                 diags: list[Diagnostic]) -> list[EntityAnnotation]:
    if suffix.startswith("("):
        body = suffix[1:-1]
        entity, sep, value = body.partition(":")
        return [EntityAnnotation(start, end, value if sep else surface, entity)]
    if suffix.startswith("{"):
        objs = _load_json(suffix, span, diags)
        objs = [objs] if objs is not None else []
    else:
        loaded = _load_json(suffix, span, diags)
        if loaded is None:
            objs = []
        elif isinstance(loaded, list):
            objs = loaded
        else:
            objs = [loaded]
    out = []
    for obj in objs:
        ann = _from_dict(obj, surface, start, end, span, diags)
        if ann is not None:
            out.append(ann)
    return out


def _load_json(source: str, span: Optional[Span], diags: list[Diagnostic]) -> Any:
    try:
        return json.loads(source)
    except ValueError as exc:
        diags.append(Diagnostic(
            ERROR, "F301", f"invalid JSON in entity annotation {source!r}: {exc}", span,
            'write it like [text]{"entity": "name", "value": "canonical"} with double quotes'))
        return None


def _from_dict(obj: Any, surface: str, start: int, end: int, span: Optional[Span],
               diags: list[Diagnostic]) -> Optional[EntityAnnotation]:
    if not isinstance(obj, dict) or not isinstance(obj.get("entity"), str) or not obj["entity"]:
        diags.append(Diagnostic(ERROR, "F301",
                                f"entity annotation {json.dumps(obj)} has no \"entity\" name", span,
                                'every annotation object needs "entity": "<name>"'))
        return None
    value = obj.get("value", surface)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        diags.append(Diagnostic(ERROR, "F301",
                                f"entity value must be a string or a number, found {value!r}", span))
        value = surface
    role, group = obj.get("role"), obj.get("group")
    return EntityAnnotation(start, end, value, obj["entity"],
                            None if role is None else str(role),
                            None if group is None else str(group))


def _offset_span(span: Optional[Span], offset: int) -> Optional[Span]:
    if span is None:
        return None
    if not span.line:
        return span
    return Span(span.file, span.line, span.col + offset, span.line, span.col + offset + 1)
