"""YAML text -> located Python values, read with YAML 1.2 core-schema rules as Rasa does.

Mappings become LMap, sequences LList, strings LStr; each carries `.span`. Scalars that are not
strings (numbers, booleans, null) are plain Python values: their position is kept by the parent
container (`LMap.value_span(key)`, `LList.item_span(i)`).

Why not PyYAML's default loader: it follows YAML 1.1, where an unquoted `yes`, `No` or `on` is a
boolean and `2024-01-01` a date; that corrupts slot values, button titles and response texts.
Duplicate keys are reported instead of silently keeping the last one. `${VAR}` in unquoted
scalars is expanded from the environment, as Rasa does.
"""

from __future__ import annotations

import os
import re
from typing import Any, Optional

import yaml
import yaml.cyaml  # noqa: F401 - libyaml bindings, when PyYAML was built with them
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import Diagnostic, ERROR, Span


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
            data = handle.read()
    except OSError as exc:
        return None, [Diagnostic(ERROR, "F105", f"cannot read file: {exc.strerror}", Span(shown))]
    text, diagnostics = decode(data, shown)
    if text is None:
        return None, diagnostics
    return load_yaml(text, shown, expand_env)
