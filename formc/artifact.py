"""The compiled machine <-> the `.fsm` file: one versioned, deterministic JSON document.

Safe to load: plain JSON, a strict header check, and dataclasses rebuilt field by field from
their type hints (never pickle, never eval). Same input -> byte-identical output: keys sorted,
no timestamps, source paths relative to the bot directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from functools import lru_cache
from typing import Any

from . import __version__, model
from .dialogue.machine import DialogueMachine
from .errors import Diagnostic, ERROR, FormcError, Span
from .gcpause import gc_paused
from .machine import Machine

FORMAT = "formc-fsm"
FORMAT_VERSION = 1


# ------------------------------------------------------------------ dataclasses <-> JSON data

def to_data(value: Any, root: str = "") -> Any:
    """Dataclasses/tuples/spans -> JSON-able values. Default-valued fields are left out."""
    if isinstance(value, Span):
        file = value.file
        if root and (file == root or file.startswith(root.rstrip("/") + "/")):
            file = file[len(root.rstrip("/")) + 1:] or "."
        return f"{file}:{value.line}:{value.col}" if value.line else file
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_json"):
            return value.to_json()
        out = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and _equal(item, f.default):
                continue
            if f.default_factory is not dataclasses.MISSING and _equal(item, f.default_factory()):
                continue
            out[f.name] = to_data(item, root)
        return out
    if isinstance(value, (list, tuple)):
        return [to_data(v, root) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v, root) for k, v in value.items()}
    return value


def _equal(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and a == b
    except Exception:  # noqa: BLE001 - exotic values are simply kept
        return False


def _span_from(text: str) -> Span:
    parts = text.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return Span(parts[0], int(parts[1]), int(parts[2]))
    return Span(text)


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict:
    return typing.get_type_hints(cls)


def from_data(cls: Any, data: Any) -> Any:
    """Rebuild a value of type `cls` from to_data() output, guided by type hints."""
    origin = typing.get_origin(cls)
    if cls is Any or cls is None:
        return data
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(cls) if a is not type(None)]
        if data is None:
            return None
        return from_data(args[0], data) if len(args) == 1 else data
    if cls is Span:
        return _span_from(data) if isinstance(data, str) else None
    if origin is tuple:
        args = typing.get_args(cls)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_data(args[0], v) for v in data)
        return tuple(from_data(a, v) for a, v in zip(args, data))
    if origin is list:
        return [from_data(typing.get_args(cls)[0], v) for v in data]
    if origin is dict or cls is dict:
        return dict(data)
    if dataclasses.is_dataclass(cls):
        if hasattr(cls, "from_json"):
            return cls.from_json(data)
        if not isinstance(data, dict):
            raise ValueError(f"expected an object for {cls.__name__}")
        hints = _hints(cls)
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in data:
                kwargs[f.name] = from_data(hints[f.name], data[f.name])
        return cls(**kwargs)
    if cls in (int, float, str, bool) and data is not None:
        return cls(data)
    return data


# ------------------------------------------------------------------------------ .fsm files

def machine_to_document(machine: Machine, root: str = "") -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "formc_version": __version__,
        "name": machine.name,
        "source_sha256": machine.digest,
        "summary": machine.summary(),
        "domain": to_data(machine.domain, root),
        "config": to_data(machine.config, root),
        "endpoints": to_data(machine.endpoints, root),
        "nlu": machine.nlu_data,
        "dialogue": _relative_spans(to_data(machine.dialogue, root), root),
    }


def _relative_spans(value: Any, root: str) -> Any:
    """The dialogue keeps spans as "file:line:col" text: make those files relative to the bot."""
    prefix = root.rstrip("/") + "/" if root else ""
    if not prefix:
        return value
    if isinstance(value, dict):
        return {k: (v[len(prefix):] if k == "span" and isinstance(v, str) and v.startswith(prefix)
                    else _relative_spans(v, root)) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative_spans(v, root) for v in value]
    return value


@gc_paused
def dumps_machine(machine: Machine, root: str = "") -> bytes:
    document = machine_to_document(machine, root)
    body = (json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                       allow_nan=False) + "\n").encode("utf-8")
    # The artifact digest (first key, as keys are sorted): SHA-256 of the document without it,
    # so a truncated or hand-edited file is refused on load.
    return _DIGEST_HEAD + hashlib.sha256(body).hexdigest().encode() + b'",' + body[1:]


_DIGEST_HEAD = b'{"artifact_sha256":"'
_DIGEST_END = len(_DIGEST_HEAD) + 64


def artifact_digest(data: bytes) -> str:
    """"ok", "missing" (a file written before formc kept the digest) or "mismatch"."""
    if not data.startswith(_DIGEST_HEAD):
        return "missing"
    if data[_DIGEST_END:_DIGEST_END + 2] != b'",':
        return "mismatch"
    body = b"{" + data[_DIGEST_END + 2:]
    ok = hashlib.sha256(body).hexdigest().encode() == data[len(_DIGEST_HEAD):_DIGEST_END]
    return "ok" if ok else "mismatch"


def dump_machine(machine: Machine, path: str, root: str = "") -> int:
    """Write the .fsm file; returns its size in bytes."""
    data = dumps_machine(machine, root)
    with open(path, "wb") as handle:
        handle.write(data)
    return len(data)


def _refuse(path: str, message: str, hint: str = "") -> FormcError:
    return FormcError([Diagnostic(ERROR, "F501", message, Span(path), hint)])


@gc_paused
def loads_machine(data: bytes, path: str = "<fsm>") -> Machine:
    """Parse and check a .fsm document; raises FormcError with a clear message if it is not one."""
    if artifact_digest(data) == "mismatch":
        raise _refuse(path, "machine file was changed or cut after it was compiled (its "
                      "artifact_sha256 does not match)", "recompile the bot")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refuse(path, f"not a formc machine file (invalid JSON: {exc})",
                      "build one with 'formc compile BOT_DIR -o BOT.fsm'") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _refuse(path, "not a formc machine file (missing 'format: formc-fsm' header)",
                      "build one with 'formc compile BOT_DIR -o BOT.fsm'")
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise _refuse(path, f"machine format version {version!r} is not supported by formc "
                      f"{__version__} (it reads version {FORMAT_VERSION})",
                      "recompile the bot with this formc version")
    try:
        return Machine(
            name=str(document.get("name", "")),
            digest=str(document.get("source_sha256", "")),
            domain=from_data(model.Domain, document["domain"]),
            config=from_data(model.Config, document.get("config", {})),
            endpoints=from_data(model.Endpoints, document.get("endpoints", {})),
            nlu_data=document["nlu"],
            dialogue=DialogueMachine.from_json(document["dialogue"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _refuse(path, f"machine file is damaged or incomplete ({type(exc).__name__}: {exc})",
                      "recompile the bot") from None


def load_machine(path: str) -> Machine:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise _refuse(path, f"cannot read machine file: {exc.strerror}") from None
    return loads_machine(data, path)

