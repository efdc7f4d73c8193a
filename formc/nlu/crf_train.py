"""The pipeline's entity CRFs, trained beside the intent scorer: features here, crfsuite in a forked child.

crfsuite holds the GIL while it trains, so on a large bot the compiler forks a child that runs
it (writing crfsuite's model files into a temporary folder, no pickling) while the parent trains
the intent scorer on the other core; `result()` waits and reads the files. The bytes are the
same as training in-process, which is what happens for small bots, when the process has other
threads (forking them is unsafe) and whenever the child fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from typing import Optional

from .crf import (DEFAULT_FEATURES, SUPPORTED, _has_features, _options, _train, finish_crf,
                  prepare_crf)

FORK_MIN_EXAMPLES = 1000       # below this a fork is not worth it


class PendingCrfs:
    """CRF models being trained; `result()` -> the model dicts in pipeline order."""

    def __init__(self, prepared: list[tuple]):
        self.prepared = prepared
        self.pid: Optional[int] = None
        self.tmp: Optional[str] = None
        work = sum(len(x) for _meta, sets, _opts in prepared for _n, x, _y in sets)
        if work >= FORK_MIN_EXAMPLES and hasattr(os, "fork") and threading.active_count() == 1:
            self.tmp = tempfile.mkdtemp(prefix="formc-crf-")
            self.pid = _fork(prepared, self.tmp)

    def result(self) -> list[dict]:
        models = self._collect() if self.pid else None
        out = []
        for i, (meta, sets, opts) in enumerate(self.prepared):
            blobs = models[i] if models else [_train(x, y, opts) for _n, x, y in sets]
            out.append(finish_crf(meta, sets, blobs))
        return out

    def _collect(self) -> Optional[list[list[bytes]]]:
        """The child's model files, or None when it did not finish them all."""
        try:
            _pid, status = os.waitpid(self.pid, 0)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                return None
            out = []
            for i, (_meta, sets, _opts) in enumerate(self.prepared):
                blobs = []
                for j in range(len(sets)):
                    with open(os.path.join(self.tmp, f"{i}-{j}.crfsuite"), "rb") as handle:
                        blobs.append(handle.read())
                out.append(blobs)
            return out
        except OSError:
            return None
        finally:
            self.pid = None
            shutil.rmtree(self.tmp, ignore_errors=True)


def _fork(prepared: list[tuple], folder: str) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1                                     # the child: train, write, leave at once
    try:
        for i, (_meta, sets, opts) in enumerate(prepared):
            for j, (_name, xs, ys) in enumerate(sets):
                _train(xs, ys, opts, os.path.join(folder, f"{i}-{j}.crfsuite"))
        code = 0
    finally:
        os._exit(code)


def start_entity_crfs(examples: list, config, regexes: list, lookups: list,
                      boundaries: bool, cjk: str) -> PendingCrfs:
    """One CRF per CRFEntityExtractor / entity-recognising DIETClassifier of the pipeline
    (`config` a model.NluConfig), in pipeline order; none without one or without entities."""
    from .featurize import lookup_pattern

    if not config.entity_crfs or not _has_features(config.pipeline, regexes, lookups,
                                                   config.regex_featurizer):
        return PendingCrfs([])
    patterns: list[tuple[str, str]] = []
    if config.regex_featurizer:      # the token "pattern" feature comes from RegexFeaturizer
        patterns += [(n, p) for n, p in regexes]
        patterns += [(n, lookup_pattern(el, boundaries)) for n, el in lookups if el]
    names = [p.rsplit(".", 1)[-1] for p in config.pipeline]
    regex_at = names.index("RegexEntityExtractor") if "RegexEntityExtractor" in names else -1
    prepared = []
    for pairs in config.entity_crfs:
        options = _options(pairs)
        options["features"] = [[f for f in window if f in SUPPORTED]
                               for window in options.get("features") or DEFAULT_FEATURES]
        found = prepare_crf(examples, options, patterns, config.regex_featurizer_case_sensitive,
                            cjk)
        if found is not None:
            found[0]["before_regex"] = int(options.get("position", 0)) < regex_at
            prepared.append(found)
    return PendingCrfs(prepared)
