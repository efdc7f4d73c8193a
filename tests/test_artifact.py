"""The `.fsm` file: dump -> load -> dump gives the same bytes for every example bot, and anything
that is not a complete machine of this format version is refused with F501 and a clear message."""

from __future__ import annotations

import json
import os

import pytest

from formc.api import compile_project, load
from formc.artifact import (FORMAT, FORMAT_VERSION, dump_machine, dumps_machine, load_machine,
                            loads_machine)
from formc.errors import FormcError
from support.shared_paths import ROOT

EXAMPLES = sorted(d for d in os.listdir(os.path.join(ROOT, "examples"))
                  if os.path.isfile(os.path.join(ROOT, "examples", d, "domain.yml")))


def _compile(bot: str):
    machine, diagnostics = compile_project(bot)
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    return machine


@pytest.fixture(scope="module")
def hello_bytes() -> bytes:
    bot = os.path.join(ROOT, "examples", "hello")
    return dumps_machine(_compile(bot), root=bot)


def document_of(data: bytes) -> dict:
    """The JSON document of data, to edit; without its artifact digest (if the format has one), so
    the edited document is checked on its own merits rather than refused as a changed file."""
    document = json.loads(data)
    document.pop("artifact_sha256", None)
    return document


def refused(data: bytes, path: str = "bot.fsm") -> str:
    """The one F501 diagnostic loads_machine raises for data; returns its message."""
    with pytest.raises(FormcError) as caught:
        loads_machine(data, path)
    [d] = caught.value.diagnostics
    assert (d.code, d.severity, d.span.file) == ("F501", "error", path)
    assert d.hint
    return d.message


def test_examples_exist():
    assert {"hello", "restaurant", "phone-plan-zh"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_dump_load_dump_gives_identical_bytes(name, tmp_path):
    bot = os.path.join(ROOT, "examples", name)
    path = str(tmp_path / f"{name}.fsm")
    size = dump_machine(_compile(bot), path, root=bot)
    with open(path, "rb") as handle:
        first = handle.read()
    assert size == len(first) and first.endswith(b"\n")
    loaded = load_machine(path)
    again = dumps_machine(loaded, root=bot)
    assert again == first
    assert dumps_machine(loads_machine(again)) == first      # and once more, without a root
    assert load(path).summary() == loaded.summary()           # api.load reads the same file


def test_document_header(hello_bytes):
    document = json.loads(hello_bytes)
    assert (document["format"], document["format_version"]) == (FORMAT, FORMAT_VERSION)


def test_refuses_a_document_without_the_header(hello_bytes):
    document = document_of(hello_bytes)
    document["format"] = "rasa-model"
    message = refused(json.dumps(document).encode())
    assert message == "not a formc machine file (missing 'format: formc-fsm' header)"
    assert "missing 'format" in refused(b"[1, 2, 3]")
    assert "missing 'format" in refused(b'{"domain": {}}')


@pytest.mark.parametrize("version", [0, FORMAT_VERSION + 1, "1", None])
def test_refuses_another_format_version(hello_bytes, version):
    document = document_of(hello_bytes)
    document["format_version"] = version
    message = refused(json.dumps(document).encode())
    assert message.startswith(f"machine format version {version!r} is not supported by formc")
    assert f"(it reads version {FORMAT_VERSION})" in message


@pytest.mark.parametrize("cut", [1, 100, 0.5, -2])
def test_refuses_a_truncated_file(hello_bytes, cut):
    end = int(len(hello_bytes) * cut) if isinstance(cut, float) else cut
    message = refused(hello_bytes[:end])
    # refused as invalid JSON, or earlier, by the artifact digest when the format has one
    assert "invalid JSON" in message or "changed or cut after it was compiled" in message


def test_refuses_bytes_that_are_not_utf8():
    assert "invalid JSON" in refused(b'{"format": "formc-fsm\xff"}')


@pytest.mark.parametrize("key", ["domain", "nlu", "dialogue"])
def test_refuses_a_document_missing_a_part(hello_bytes, key):
    document = document_of(hello_bytes)
    del document[key]
    message = refused(json.dumps(document).encode())
    assert message == f"machine file is damaged or incomplete (KeyError: '{key}')"


@pytest.mark.parametrize("key, value", [("domain", []), ("dialogue", "states"),
                                        ("domain", {"slots": 3})])
def test_refuses_a_document_with_parts_of_the_wrong_shape(hello_bytes, key, value):
    document = document_of(hello_bytes)
    document[key] = value
    assert refused(json.dumps(document).encode()).startswith("machine file is damaged or incomplete")


def test_missing_file_is_refused_with_its_path(tmp_path):
    path = str(tmp_path / "nowhere.fsm")
    with pytest.raises(FormcError) as caught:
        load_machine(path)
    [d] = caught.value.diagnostics
    assert d.code == "F501" and d.span.file == path
    assert d.message == "cannot read machine file: No such file or directory"
