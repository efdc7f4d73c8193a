"""The intent classifier's weights come from scipy's L-BFGS-B run as sklearn 1.1 runs it.

Rasa stops the solver at max_iter, usually before convergence, so its confidences are those
of one particular iterate; only the same solver path reproduces them. formbot (100 iterations,
not converged) and nlu3 (max_iter 7) are the recordings where a different path shows: the
hand-written L-BFGS-B that scipy replaced was 2.5e-3 off on formbot, past the 1e-4 asked here.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile

import numpy as np
import pytest

from formc.api import compile_project
from formc.nlu import logreg

from test_oracle_conformance import HERE, _bot_dir

TOLERANCE = 1e-4


def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _ranking_differences(bot: str) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        machine, diagnostics = compile_project(_bot_dir(bot, tmp))
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    worst, compared = 0.0, 0
    for path in sorted(glob.glob(os.path.join(HERE, bot, "[0-9]*.json"))):
        record = _load(path)
        for turn in record["turns"]:
            text = turn["user"]
            if text == "__LONG__":
                text = _load(os.path.join(HERE, bot, "index.json"))["long_message"]
            if not turn.get("nlu") or not text.strip():
                continue
            ours = {r["name"]: r["confidence"]
                    for r in machine.nlu.parse(text).get("intent_ranking") or []}
            for r in turn["nlu"].get("intent_ranking") or []:
                worst = max(worst, abs(ours.get(r["name"], -1.0) - r["confidence"]))
                compared += 1
    return worst, compared


@pytest.mark.parametrize("bot", ["formbot", "nlu3", "responseselectorbot"])
def test_early_stopped_fits_give_rasas_confidences(bot):
    worst, compared = _ranking_differences(bot)
    assert compared > 20
    assert worst < TOLERANCE, f"{bot}: worst ranking confidence difference {worst:.2e}"


def _toy_problem(n_classes: int) -> tuple[logreg.SparseRows, list[int]]:
    rng = np.random.default_rng(7)
    rows, labels = [], []
    for i in range(60):
        label = i % n_classes
        row = {int(c): float(rng.integers(1, 3)) for c in rng.choice(12, size=4, replace=False)}
        row[12 + label] = 1.0          # one informative column per class
        rows.append(row)
        labels.append(label)
    return logreg.SparseRows(rows, 12 + n_classes), labels


def _gradient(X: logreg.SparseRows, y: list[int], k: int, coef, intercept) -> np.ndarray:
    """Gradient of sklearn 1.1's objective (balanced weights, sum loss, ||W||^2/2)."""
    dense = X.csr.toarray()
    sw = logreg.balanced_weights(np.asarray(y), k)
    raw = dense @ coef + intercept
    if k == 2:
        p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
        residual = (sw * (p - np.asarray(y)))[:, None]
    else:
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        onehot = np.eye(k)[y]
        residual = sw[:, None] * (e / e.sum(axis=1, keepdims=True) - onehot)
    return np.concatenate([(dense.T @ residual + coef).ravel(), residual.sum(axis=0)])


@pytest.mark.parametrize("k", [2, 4])
def test_converged_fit_is_a_stationary_point(k):
    X, y = _toy_problem(k)
    coef, intercept, iterations = logreg.fit(X, y, k, max_iter=1000, tol=1e-6)
    assert 0 < iterations < 1000        # stopped by gtol or by scipy's default ftol
    assert np.max(np.abs(_gradient(X, y, k, coef, intercept))) <= 1e-3


@pytest.mark.parametrize("k", [2, 4])
def test_max_iter_stops_the_solver_and_is_reported(k):
    X, y = _toy_problem(k)
    coef, intercept, iterations = logreg.fit(X, y, k, max_iter=2, tol=1e-12)
    assert iterations == 2
    assert np.max(np.abs(_gradient(X, y, k, coef, intercept))) > 1e-2
