"""The F-code registry (formc.errors.CODES) is complete and every code in it is tested: each code
the sources emit is registered, each registered code is emitted, and each is named by a test."""

from __future__ import annotations

import glob
import os
import re

from formc.errors import CODES, ERROR, INFO, WARNING

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUOTED_CODE = re.compile(r"""["'](F\d{3})["']""")
CODE = re.compile(r"\bF\d{3}\b")

# Codes added by engineers working on other issues at the same time as this registry; their
# tests are theirs to land. Remove an entry once a test names the code.
AWAITING_TESTS: frozenset = frozenset()


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def emitted_codes() -> dict:
    """code -> the formc source files (other than the registry itself) that mention it quoted."""
    out: dict = {}
    for path in glob.glob(os.path.join(ROOT, "formc", "**", "*.py"), recursive=True):
        if os.path.samefile(path, os.path.join(ROOT, "formc", "errors.py")):
            continue
        for code in QUOTED_CODE.findall(_read(path)):
            out.setdefault(code, set()).add(os.path.relpath(path, ROOT))
    return out


def codes_named_by_tests() -> set:
    """Codes named by a test module (this one aside) or by a tests/cases expectation."""
    here = os.path.abspath(__file__)
    files = [p for p in glob.glob(os.path.join(ROOT, "tests", "**", "*.py"), recursive=True)
             if os.path.abspath(p) != here]
    files += glob.glob(os.path.join(ROOT, "tests", "cases", "**", "*.json"), recursive=True)
    return {code for path in files for code in CODE.findall(_read(path))}


def test_every_emitted_code_is_registered():
    missing = {code: sorted(paths) for code, paths in emitted_codes().items() if code not in CODES}
    assert not missing, f"add these codes to formc.errors.CODES: {missing}"


def test_every_registered_code_is_emitted():
    assert sorted(set(CODES) - set(emitted_codes())) == [], "registered but never emitted"


def test_registry_entries_are_well_formed():
    for code, (severity, title) in CODES.items():
        assert re.fullmatch(r"F\d{3}", code)
        assert severity in (ERROR, WARNING, INFO), code
        assert title and "\n" not in title and len(title) <= 80, code
    assert list(CODES) == sorted(CODES)


def test_every_registered_code_is_named_by_a_test():
    untested = sorted(set(CODES) - codes_named_by_tests() - AWAITING_TESTS)
    assert not untested, f"no test triggers {untested}: add a case to tests/test_fcodes_cases.py"


def test_awaiting_tests_names_registered_codes():
    assert sorted(AWAITING_TESTS - set(CODES)) == []
