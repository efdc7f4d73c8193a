"""Compile-time training in a forked child: fn(*args) runs there, its JSON result comes back through a file.

The compiler trains the response selectors this way beside the intent scorer (the CRFs have
their own child, crf_train.py): scipy's L-BFGS-B is not safe to run in two threads at once
(concurrent fits gave other weights), and a child process shares nothing. JSON keeps floats
exact (repr round-trips) and needs no pickle. Whenever the child cannot be used (no fork, other
threads running, too little work) or fails, fn runs in the parent instead: the result is the
same either way.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from typing import Any, Callable

_FAILED = object()


class ForkedCall:
    """fn(*args), started in a child when `fork`; `result()` waits for it."""

    def __init__(self, fork: bool, fn: Callable[..., Any], *args: Any):
        self.fn, self.args = fn, args
        self.pid = 0
        self.path = ""
        if fork and hasattr(os, "fork") and threading.active_count() == 1:
            handle, self.path = tempfile.mkstemp(prefix="formc-fork-", suffix=".json")
            os.close(handle)
            self.pid = os.fork()
            if self.pid == 0:
                self._child()

    def _child(self) -> None:
        code = 1
        try:
            text = json.dumps(self.fn(*self.args))
            with open(self.path, "w", encoding="utf-8") as out:
                out.write(text)
            code = 0
        finally:
            os._exit(code)           # never return into the parent's code

    def result(self) -> Any:
        if self.pid:
            found = self._collect()
            if found is not _FAILED:
                return found
        return json.loads(json.dumps(self.fn(*self.args)))     # the child's very types

    def _collect(self) -> Any:
        try:
            _pid, status = os.waitpid(self.pid, 0)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                return _FAILED
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return _FAILED
        finally:
            self.pid = 0
            try:
                os.unlink(self.path)
            except OSError:
                pass
