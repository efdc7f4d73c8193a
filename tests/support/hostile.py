"""Helpers for the hostile-input tests (issue 14): bots with hostile regexes, alias bombs, raw HTTP."""
from __future__ import annotations

import json
import os
import shutil
import socket
import time

from support.shared_paths import ROOT

HELLO = os.path.join(ROOT, "examples", "hello")
PLACEHOLDER = "placeholderpattern"


def hello_copy(tmp: str, name: str = "hello") -> str:
    """A writable copy of examples/hello."""
    bot = os.path.join(tmp, name)
    shutil.copytree(HELLO, bot)
    return bot


def add_regex(bot: str, name: str, pattern: str) -> str:
    """Append a `regex:` item to the bot's nlu.yml; returns the nlu.yml path."""
    path = os.path.join(bot, "data", "nlu.yml")
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"\n- regex: {name}\n  examples: |\n    - {pattern}\n")
    return path


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """YAML whose aliases expand to width**levels values (the "billion laughs")."""
    lines = ["bomb0: &a0 [" + ",".join(['"x"'] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"bomb{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def hostile_fsm(tmp: str, pattern: str) -> str:
    """examples/hello + an entity regex `pattern` the compiler would refuse (F331), as a
    valid .fsm: compiled with a harmless placeholder that is then swapped in the machine's
    NLU tables before the file (and its digest) is written, as a model from an older formc
    or another tool could carry it."""
    from formc.api import compile_project
    from formc.artifact import dump_machine
    bot = hello_copy(tmp, "hostile-bot")
    add_regex(bot, "account", PLACEHOLDER)
    with open(os.path.join(bot, "domain.yml"), "a", encoding="utf-8") as f:
        f.write("\nentities:\n  - account\n")
    with open(os.path.join(bot, "config.yml")) as handle:
        config = handle.read()
    config = config.replace(
        "  - name: CountVectorsFeaturizer\n", "  - name: RegexFeaturizer\n"
        "  - name: CountVectorsFeaturizer\n", 1).replace(
        "  - name: LogisticRegressionClassifier\n", "  - name: LogisticRegressionClassifier\n"
        "  - name: RegexEntityExtractor\n", 1)
    with open(os.path.join(bot, "config.yml"), "w", encoding="utf-8") as f:
        f.write(config)
    machine, diagnostics = compile_project(bot)
    assert machine is not None, [d.render() for d in diagnostics]

    def swap(value):
        if isinstance(value, dict):
            return {k: (pattern if v == PLACEHOLDER else swap(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value
    machine.nlu_data.update(swap(machine.nlu_data))
    assert pattern in json.dumps(machine.nlu_data)
    out = os.path.join(tmp, "hostile.fsm")
    dump_machine(machine, out, root=bot)
    return out


def raw_http(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send raw bytes to 127.0.0.1:port; -> (status, body) of the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep and b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.partition(b"\r\n\r\n")[2]
