"""NLU training data (YAML `nlu:` list, legacy Markdown) -> (NluData, diagnostics).

YAML rules follow reference §3.1 (block-string examples whose lines must start with "-",
list-of-dicts examples, metadata ignored, warnings for skipped items); Markdown follows §3.8
(grammar grammars/nlu_markdown.lark; comments removed; lookup file lines). Every example keeps
the exact line/column it was written at, also inside block scalars.
"""

from __future__ import annotations

import os
import re
from typing import Any, Optional

from lark.exceptions import LarkError

from ..errors import Diagnostic, ERROR, WARNING, Span
from ..yaml_loader import MAX_LOOKUP_BYTES
from ..model import LookupDef, NluData, NluExample, RegexDef, SynonymDef
from .grammars import parser
from .markup import parse_annotated

KINDS = ("intent", "synonym", "regex", "lookup")


# ------------------------------------------------------------------------------------ YAML

def read_nlu_yaml(items: Any, path: str) -> tuple[NluData, list[Diagnostic]]:
    """The located `nlu:` list of one YAML file -> NluData."""
    diags: list[Diagnostic] = []
    lines = _file_lines(path)
    examples, synonyms, regexes, lookups = [], [], [], []
    if items is None:
        return NluData(), diags
    if not isinstance(items, list):
        diags.append(Diagnostic(ERROR, "F304", "`nlu:` must be a list of intent/synonym/regex/"
                                "lookup items", getattr(items, "span", Span(path))))
        return NluData(), diags
    for index, item in enumerate(items):
        item_span = _item_span(items, index, path)
        if not isinstance(item, dict):
            diags.append(Diagnostic(WARNING, "F304", "skipped an `nlu:` item that is not a mapping",
                                    item_span, "start each item with `- intent: <name>`"))
            continue
        kind = next((k for k in KINDS if k in item), None)
        if kind is None:
            diags.append(Diagnostic(WARNING, "F304",
                                    "skipped an `nlu:` item without intent, synonym, regex or "
                                    "lookup key", item_span))
            continue
        name_span = _value_span(item, kind, item_span)
        name = item[kind]
        name = "" if name is None else str(name).strip()
        if not name:
            diags.append(Diagnostic(WARNING, "F305", f"skipped a `{kind}:` item with an empty name",
                                    name_span))
            continue
        if kind == "intent" and name.count("/") > 1:
            diags.append(Diagnostic(ERROR, "F308", f"intent name '{name}' has more than one '/'",
                                    name_span, "a retrieval intent looks like `faq/ask_name`"))
            continue
        raw = item.get("examples")
        ex_span = _value_span(item, "examples", item_span) if "examples" in item else item_span
        texts = _example_texts(raw, ex_span, kind, name, lines, diags)
        if kind == "intent":
            if not texts:
                diags.append(Diagnostic(WARNING, "F307", f"intent '{name}' has no examples",
                                        name_span))
            for text, span in texts:
                plain, ents, more = parse_annotated(text, span)
                diags.extend(more)
                examples.append(NluExample(plain, name, ents, span))
        elif kind == "synonym":
            synonyms.extend(SynonymDef(t, name, s) for t, s in texts)
        elif kind == "regex":
            regexes.extend(RegexDef(name, t, s) for t, s in texts)
        else:
            lookups.append(LookupDef(name, tuple(t for t, _ in texts), name_span))
    return NluData(tuple(examples), tuple(synonyms), tuple(regexes), tuple(lookups)), diags


def _example_texts(raw: Any, span: Span, kind: str, name: str, lines: Optional[list[str]],
                   diags: list[Diagnostic]) -> list[tuple[str, Span]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return _block_lines(raw, span, lines, diags)
    if isinstance(raw, list) and kind == "intent":
        out = []
        for i, element in enumerate(raw):
            el_span = raw.item_span(i) if hasattr(raw, "item_span") else span
            if isinstance(element, dict) and "text" in element:
                text = element["text"]
                el_span = _value_span(element, "text", el_span)
            elif isinstance(element, str):
                text = element
            else:
                diags.append(Diagnostic(ERROR, "F304", f"an example of intent '{name}' must be a "
                                        "mapping with a `text:` key", el_span))
                continue
            text = "" if text is None else str(text)
            out.append((text.strip(" \r\n"), el_span))
        return out
    diags.append(Diagnostic(ERROR, "F309", f"`examples` of {kind} '{name}' must be a block string "
                            "of `- ` lines", span, "write `examples: |` and one `- item` per line"))
    return []


def _block_lines(raw: str, span: Span, lines: Optional[list[str]],
                 diags: list[Diagnostic]) -> list[tuple[str, Span]]:
    style = getattr(raw, "style", "")
    # In a block scalar (| or >) the content starts on the line after the indicator.
    first_line = span.line + 1 if style in ("|", ">") else span.line
    out = []
    for i, line in enumerate(str(raw).split("\n")):
        line_no = first_line + i if span.line else 0
        stripped = line.strip()
        col = _column(lines, line_no, line)
        if not stripped.startswith("-"):
            if stripped:
                diags.append(Diagnostic(WARNING, "F306", f"skipped example line {stripped!r}: "
                                        "it does not start with '-'", Span(span.file, line_no, col)))
            continue
        dash = line.index("-")
        body = line[dash + 1:]
        text = body.strip(" \r\n")
        lead = len(body) - len(body.lstrip(" \r\n"))
        text_col = col + (dash - (len(line) - len(line.lstrip()))) + 1 + lead
        out.append((text, Span(span.file, line_no, text_col, line_no, text_col + len(text))))
    return out


def _column(lines: Optional[list[str]], line_no: int, content: str) -> int:
    """1-based column where `content` (stripped) starts on file line `line_no`."""
    stripped = content.strip()
    if lines and 0 < line_no <= len(lines) and stripped:
        found = lines[line_no - 1].find(stripped)
        if found >= 0:
            return found + 1
    return len(content) - len(content.lstrip()) + 1


def _file_lines(path: str) -> Optional[list[str]]:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return None


def _item_span(items: Any, index: int, path: str) -> Span:
    if hasattr(items, "item_span"):
        return items.item_span(index)
    return Span(path)


def _value_span(mapping: Any, key: str, default: Span) -> Span:
    value = mapping.get(key)
    span = getattr(value, "span", None)
    if span is not None:
        return span
    if hasattr(mapping, "value_span"):
        return mapping.value_span(key)
    return default


# -------------------------------------------------------------------------------- Markdown

_COMMENT = re.compile(r"<!--.*?-->", re.S)


def read_nlu_markdown(text: str, path: str, root: str) -> tuple[NluData, list[Diagnostic]]:
    """A legacy Markdown NLU file -> NluData; lookup files resolve against `root`, then cwd."""
    diags: list[Diagnostic] = []
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    # Comments are blanked line-preservingly so positions stay those of the user's file.
    text = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    try:
        tree = parser("nlu_markdown").parse(text)
    except LarkError as exc:                 # every line is classifiable; stay total anyway
        return NluData(), [Diagnostic(ERROR, "F311", f"cannot read Markdown NLU: {exc}", Span(path))]
    examples, synonyms, regexes, lookups = [], [], [], []
    section: Optional[tuple[str, str, Span]] = None
    pending: list[str] = []                  # inline lookup items of the current section

    def flush():
        if section and section[0] == "lookup" and pending:
            lookups.append(LookupDef(section[1], tuple(pending), section[2]))
        pending.clear()

    for node in tree.children:
        if not hasattr(node, "data"):
            continue                          # NEWLINE
        token = node.children[0]
        line = str(token)
        span = Span(path, token.line, token.column, token.line, token.column + len(line))
        if node.data == "header":
            flush()
            body = line.strip()[2:].lstrip()
            kind, _, title = body.partition(":")
            kind = kind.strip()
            if kind not in KINDS:
                diags.append(Diagnostic(ERROR, "F311", f"unknown Markdown NLU section type "
                                        f"'{kind}'", span, "use intent, synonym, regex or lookup"))
                section = None
                continue
            if title != title.strip():
                diags.append(Diagnostic(WARNING, "F312", f"section title {title!r} has surrounding "
                                        "spaces; they were removed", span))
            section = (kind, title.strip(), span)
        elif node.data == "item":
            if section is None:
                continue
            stripped = line.lstrip(" \t")
            content = stripped[1:].strip()
            col = token.column + (len(line) - len(stripped)) + 1
            col += len(stripped[1:]) - len(stripped[1:].lstrip())
            item_span = Span(path, token.line, col, token.line, col + len(content))
            kind, title = section[0], section[1]
            if kind == "intent":
                plain, ents, more = parse_annotated(content, item_span)
                diags.extend(more)
                examples.append(NluExample(plain, title, ents, item_span))
            elif kind == "synonym":
                synonyms.append(SynonymDef(content, title, item_span))
            elif kind == "regex":
                regexes.append(RegexDef(title, content, item_span))
            else:
                pending.append(content)
        elif section is not None and section[0] == "lookup" and line.strip():
            flush()
            file_name = line.strip()
            elements, more = read_lookup_file(file_name, root, span)
            diags.extend(more)
            lookups.append(LookupDef(section[1], tuple(elements), span))
    flush()
    return NluData(tuple(examples), tuple(synonyms), tuple(regexes), tuple(lookups)), diags


def read_lookup_file(file_name: str, root: str, span: Optional[Span] = None
                     ) -> tuple[list[str], list[Diagnostic]]:
    """A lookup-table text file -> elements (one per line, trimmed, blanks skipped).

    UTF-8 with or without BOM, LF or CRLF. Looked up relative to `root`, then the cwd."""
    candidates = [file_name] if os.path.isabs(file_name) else [os.path.join(root, file_name),
                                                                 file_name]
    found = next((c for c in candidates if os.path.isfile(c)), None)
    if found is None:
        return [], [Diagnostic(ERROR, "F303", f"lookup table file '{file_name}' not found",
                               span, f"looked in {root or '.'} and the working directory")]
    if os.path.getsize(found) > MAX_LOOKUP_BYTES:   # issue 14: size cap
        return [], [Diagnostic(ERROR, "F303", f"lookup table file '{file_name}' is larger than "
                               f"{MAX_LOOKUP_BYTES:,} bytes (FORMC_MAX_LOOKUP_BYTES)", span)]
    try:
        with open(found, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return [], [Diagnostic(ERROR, "F303", f"cannot read lookup table file '{file_name}': "
                               f"{exc.strerror}", span)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return [], [Diagnostic(ERROR, "F303", f"lookup table file '{file_name}' is not valid "
                               f"UTF-8 (byte 0x{data[exc.start]:02x} on line {line})", span,
                               "save the file as UTF-8")]
    return [ln.strip() for ln in text.splitlines() if ln.strip()], []
