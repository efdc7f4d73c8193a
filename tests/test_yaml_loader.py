"""The YAML loader: YAML 1.2 scalars, positions, duplicate keys, and no traceback on any input."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings, strategies as st

from formc.yaml_loader import LList, LMap, LStr, load_yaml


def test_yaml_12_booleans_stay_strings():
    value, diagnostics = load_yaml("a: yes\nb: No\nc: on\nd: true\ne: False\nf: y\n", "x.yml")
    assert diagnostics == []
    assert value == {"a": "yes", "b": "No", "c": "on", "d": True, "e": False, "f": "y"}


def test_dates_and_sexagesimals_stay_strings():
    value, _ = load_yaml("d: 2024-01-01\nt: 1:30\n", "x.yml")
    assert value == {"d": "2024-01-01", "t": "1:30"}


def test_numbers_and_nulls():
    value, _ = load_yaml("a: 1\nb: -2.5\nc: ~\nd:\ne: .inf\nf: 0x1f\ng: 1e3\n", "x.yml")
    assert value["a"] == 1 and value["b"] == -2.5 and value["c"] is None and value["d"] is None
    assert math.isinf(value["e"]) and value["f"] == 31 and value["g"] == 1000.0


def test_positions_are_kept():
    value, _ = load_yaml("top:\n  - first\n  - key: value\n", "f.yml")
    assert isinstance(value, LMap) and isinstance(value["top"], LList)
    first = value["top"][0]
    assert isinstance(first, LStr) and (first.span.line, first.span.col) == (2, 5)
    inner = value["top"][1]
    assert str(inner.key_span("key")) == "f.yml:3:5"
    assert str(inner.value_span("key")) == "f.yml:3:10"


def test_duplicate_keys_are_errors_and_first_wins():
    value, diagnostics = load_yaml("a: 1\nb: 2\na: 3\n", "f.yml")
    assert value == {"a": 1, "b": 2}
    assert [(d.code, d.span.line, d.span.col) for d in diagnostics] == [("F101", 3, 1)]


def test_bom_is_ignored():
    value, diagnostics = load_yaml("\ufeffa: b\n", "f.yml")
    assert value == {"a": "b"} and diagnostics == []


def test_env_expansion_only_in_plain_scalars(monkeypatch):
    monkeypatch.setenv("FORMC_X", "hello")
    value, diagnostics = load_yaml("a: ${FORMC_X}/x\nb: '${FORMC_X}'\n", "f.yml")
    assert value == {"a": "hello/x", "b": "${FORMC_X}"} and diagnostics == []


YAMLISH = st.text(alphabet=st.sampled_from(list("ab:- \n\t'\"{}[],#&*!|>%@`?~yes0.9") + ["\u4e2d"]),
                  max_size=80)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(YAMLISH)
def test_loader_never_raises(text):
    value, diagnostics = load_yaml(text, "fuzz.yml")
    assert value is None or isinstance(value, (dict, list, str, int, float, bool))
    for d in diagnostics:
        assert d.span is not None and d.span.file == "fuzz.yml"
