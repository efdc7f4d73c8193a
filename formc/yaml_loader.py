"""YAML text -> located Python values, read with YAML 1.2 core-schema rules as Rasa does.

Mappings become LMap, sequences LList, strings LStr; each carries `.span`. Scalars that are not
strings (numbers, booleans, null) are plain Python values: their position is kept by the parent
container (`LMap.value_span(key)`, `LList.item_span(i)`).

Why not PyYAML's default loader: it follows YAML 1.1, where an unquoted `yes`, `No` or `on` is a
boolean and `2024-01-01` a date; that corrupts slot values, button titles and response texts.
Duplicate keys are reported instead of silently keeping the last one. `${VAR}` in unquoted
scalars is expanded from the environment, as Rasa does.

Budgets (issue 14): a file over MAX_FILE_BYTES or with a line over MAX_LINE_CHARS is refused
before parsing, and alias expansion ("billion laughs") is refused once the built values
outgrow the document's own nodes by ALIAS_BUDGET, each with file:line and in milliseconds.
"""

from __future__ import annotations

import os
import re
from typing import Any, Optional

import yaml
import yaml.cyaml  # noqa: F401 - libyaml bindings, when PyYAML was built with them
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import Diagnostic, ERROR, Span

def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


# Real Rasa bots' YAML files are far below these (the corpus: < 200 kB, lines < 500 chars).
MAX_FILE_BYTES = _env_int("FORMC_MAX_YAML_BYTES", 8 * 1024 * 1024)
MAX_LINE_CHARS = _env_int("FORMC_MAX_YAML_LINE", 64 * 1024)
MAX_LOOKUP_BYTES = _env_int("FORMC_MAX_LOOKUP_BYTES", 64 * 1024 * 1024)
MAX_LOOKUP_ENTRIES = _env_int("FORMC_MAX_LOOKUP_ENTRIES", 2_000_000)
# Values built beyond the document's distinct nodes (aliases re-expanded): `<<: *defaults`
# merges stay far below; nine levels of nine aliases (9**9 values) are refused at once.
ALIAS_BUDGET = 100_000


class LMap(dict):
    """A YAML mapping with the span of the whole mapping and of each key and value."""

    span: Span
    key_spans: dict
    value_spans: dict

    def key_span(self, key) -> Span:
        return self.key_spans.get(key, self.span)

    def value_span(self, key) -> Span:
        return self.value_spans.get(key, self.key_span(key))


class LList(list):
    """A YAML sequence with the span of the whole sequence and of each item."""

    span: Span
    item_spans: list

    def item_span(self, index: int) -> Span:
        if 0 <= index < len(self.item_spans):
            return self.item_spans[index]
        return self.span


class LStr(str):
    """A YAML string scalar with its span; `style` is the YAML scalar style ('' = plain)."""

    span: Span
    style: str = ""


def span_of(value: Any, default: Optional[Span] = None) -> Optional[Span]:
    """The span of a located value, or `default` for plain scalars."""
    return getattr(value, "span", default)


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema: only true/false are booleans; no timestamps, no sexagesimals."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class _Composer(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
                yaml.composer.Composer, _Resolver):
    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)


if getattr(yaml, "__with_libyaml__", False):
    class _FastComposer(yaml.cyaml.CParser, _Resolver):
        """libyaml's parser and composer (C) with our YAML 1.2 resolver: ~10x faster."""

        def __init__(self, stream):
            yaml.cyaml.CParser.__init__(self, stream)
            _Resolver.__init__(self)

    _Composer = _FastComposer  # noqa: F811 - same interface, compiled code


_ENV = re.compile(r"\$\{([^}^{]+)\}")


class _Builder:
    """Turns a composed node tree into located values, collecting diagnostics."""

    def __init__(self, path: str, diagnostics: list[Diagnostic], expand_env: bool):
        self.path = path
        self.diagnostics = diagnostics
        self.expand_env = expand_env

    def span(self, node) -> Span:
        s, e = node.start_mark, node.end_mark
        return Span(self.path, s.line + 1, s.column + 1, e.line + 1, e.column + 1)

    def error(self, code: str, message: str, span: Span, hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(ERROR, code, message, span, hint))

    def build(self, node) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            out = LList(self.build(child) for child in node.value)
            out.span = self.span(node)
            out.item_spans = [self.span(child) for child in node.value]
            return out
        if isinstance(node, MappingNode):
            return self.mapping(node)
        raise TypeError(node)  # pragma: no cover - composer produces only these

    def mapping(self, node: MappingNode) -> LMap:
        out = LMap()
        out.span = self.span(node)
        out.key_spans, out.value_spans = {}, {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = self.build(value_node)
                for source in merged if isinstance(merged, list) else [merged]:
                    if isinstance(source, LMap):
                        for k, v in source.items():
                            if k not in out:
                                out[k] = v
                                out.key_spans[k] = source.key_span(k)
                                out.value_spans[k] = source.value_span(k)
                continue
            key = self.build(key_node)
            if isinstance(key, (list, dict)):
                self.error("F102", "a mapping key must be a plain value, not a list or mapping",
                           self.span(key_node))
                continue
            if key in out:
                first = out.key_spans[key]
                self.error("F101", f"duplicate key '{key}' (first defined at line {first.line})",
                           self.span(key_node), "remove or rename one of the two keys")
                continue
            out[key] = self.build(value_node)
            out.key_spans[key] = self.span(key_node)
            out.value_spans[key] = self.span(value_node)
        return out

    def scalar(self, node: ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return text.lower() == "true"
        if tag == "tag:yaml.org,2002:int":
            try:
                if text.startswith("0o"):
                    return int(text[2:], 8)
                if text.startswith("0x"):
                    return int(text[2:], 16)
                return int(text, 10)
            except ValueError:
                pass
        if tag == "tag:yaml.org,2002:float":
            lowered = text.lower()
            if lowered.endswith(".inf"):
                return float("-inf") if lowered.startswith("-") else float("inf")
            if lowered == ".nan":
                return float("nan")
            try:
                return float(text)
            except ValueError:
                pass
        if self.expand_env and not node.style and "${" in text:  # plain: None (py) or "" (C)
            text = self.expand(text, node)
        out = LStr(text)
        out.span = self.span(node)
        out.style = node.style or ""
        return out

    def expand(self, text: str, node) -> str:
        def replace(match):
            name = match.group(1)
            if name not in os.environ:
                self.error("F103", f"environment variable '{name}' is not set", self.span(node),
                           f"export {name}=... before running formc, or write the value directly")
                return match.group(0)
            return os.environ[name]

        return _ENV.sub(replace, text)


def _children(node) -> list:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root, budget_extra: int) -> Optional[tuple[int, Any]]:
    """(budget, node) when the values built from the node graph (aliases expanded) would
    exceed twice the distinct nodes plus `budget_extra`, else None. Counted without building
    anything: each distinct node's expanded size is computed once (post-order, no recursion)."""
    sizes: dict[int, int] = {}
    order: list = []
    stack, seen = [root], set()
    while stack:                       # distinct nodes, parents before children
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(_children(node))
    budget = 2 * len(order) + budget_extra
    for node in reversed(order):       # children before parents (the graph has no cycles
        total = 1                      # unless an alias refers to its own anchor: counted 0)
        for child in _children(node):
            total += sizes.get(id(child), 0)
        sizes[id(node)] = total
        if total > budget:
            return budget, node
    return None


def too_large(size: int, path: str) -> Diagnostic:
    """F131: a bot file larger than MAX_FILE_BYTES."""
    return Diagnostic(ERROR, "F131", f"file is over {MAX_FILE_BYTES:,} bytes ({size:,}); formc "
                      "reads bot files of at most that size", Span(path, 1, 1),
                      "split the data into several files (or raise FORMC_MAX_YAML_BYTES)")


def size_problem(text: str, path: str) -> Optional[Diagnostic]:
    """F131/F132: a YAML text too large or with a line too long to be a bot file."""
    if len(text) > MAX_FILE_BYTES:
        return too_large(len(text), path)
    start = 0
    while True:
        end = text.find("\n", start)
        stop = len(text) if end < 0 else end
        if stop - start > MAX_LINE_CHARS:
            line = text.count("\n", 0, start) + 1
            return Diagnostic(ERROR, "F132", f"line is {stop - start:,} characters long; formc "
                              f"reads lines of at most {MAX_LINE_CHARS:,}", Span(path, line, 1),
                              "break the line (a YAML block scalar `|` keeps line breaks)")
        if end < 0:
            return None
        start = end + 1


def decode(data: bytes, path: str) -> tuple[Optional[str], list[Diagnostic]]:
    """Bytes -> text: UTF-8 with or without a BOM; anything else is a clear error."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Diagnostic(ERROR, "F104", f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                                 Span(path, line, col), "save the file as UTF-8")]


def load_yaml(text: str, path: str, expand_env: bool = True) -> tuple[Any, list[Diagnostic]]:
    """Parse one YAML document. Returns (value or None, diagnostics); never raises on bad input."""
    diagnostics: list[Diagnostic] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    too_big = size_problem(text, path)
    if too_big is not None:
        return None, [too_big]
    try:
        composer = _Composer(text)
        try:
            node = composer.get_single_node()
        finally:
            composer.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(path, mark.line + 1, mark.column + 1) if mark else Span(path)
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        return None, [Diagnostic(ERROR, "F100", f"invalid YAML: {problem}{context}", span,
                                 "check indentation, quoting and the ':' after keys")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(ERROR, "F100", f"invalid YAML: {exc}", Span(path))]
    if node is None:
        return None, diagnostics
    bomb = _check_expansion(node, ALIAS_BUDGET)
    if bomb is not None:
        budget, at = bomb
        mark = at.start_mark
        return None, [Diagnostic(ERROR, "F130", f"YAML aliases expand to more than {budget:,} "
                                 "values (an alias bomb?)", Span(path, mark.line + 1,
                                                                 mark.column + 1),
                                 "write the values out instead of nesting aliases of aliases")]
    try:
        value = _Builder(path, diagnostics, expand_env).build(node)
    except RecursionError:
        return None, [Diagnostic(ERROR, "F100", "invalid YAML: nesting is too deep", Span(path))]
    return value, diagnostics


def load_yaml_file(path: str, display_path: Optional[str] = None, expand_env: bool = True):
    """Read and parse a YAML file; errors (I/O, encoding, syntax) come back as diagnostics."""
    shown = display_path or path
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)   # a bigger file is refused unread
    except OSError as exc:
        return None, [Diagnostic(ERROR, "F105", f"cannot read file: {exc.strerror}", Span(shown))]
    if len(data) > MAX_FILE_BYTES:
        return None, [too_large(len(data), shown)]
    text, diagnostics = decode(data, shown)
    if text is None:
        return None, diagnostics
    return load_yaml(text, shown, expand_env)


class LookupTooLarge(OSError):
    """A lookup file over the size caps (an OSError so readers report it like an I/O error)."""


def read_lookup_lines(path: str) -> list[str]:
    """A lookup table file -> its non-empty stripped lines, refused over MAX_LOOKUP_BYTES bytes
    or MAX_LOOKUP_ENTRIES entries (raises LookupTooLarge) or lines over MAX_LINE_CHARS."""
    size = os.path.getsize(path)
    if size > MAX_LOOKUP_BYTES:
        raise LookupTooLarge(f"the file is {size:,} bytes; formc reads lookup tables of at most "
                             f"{MAX_LOOKUP_BYTES:,} bytes (FORMC_MAX_LOOKUP_BYTES)")
    out: list[str] = []
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            if len(line) > MAX_LINE_CHARS:
                raise LookupTooLarge(f"line {number} is {len(line):,} characters long; at most "
                                     f"{MAX_LINE_CHARS:,}")
            line = line.strip()
            if line:
                out.append(line)
                if len(out) > MAX_LOOKUP_ENTRIES:
                    raise LookupTooLarge(f"more than {MAX_LOOKUP_ENTRIES:,} entries "
                                         "(FORMC_MAX_LOOKUP_ENTRIES)")
    return out
