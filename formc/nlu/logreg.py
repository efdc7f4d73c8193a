"""Sparse feature rows + labels -> L2 logistic-regression weights, as Rasa's sklearn setup trains them.

Rasa's LogisticRegressionClassifier = sklearn LogisticRegression(solver="lbfgs", C=1,
class_weight="balanced", fit_intercept=True, max_iter=100, tol=1e-4). With sklearn 1.1 (the
version Rasa 3.6 pins) the objective is the *sum* of weighted losses + ||W||^2 / (2C) (the
intercept is not penalised); more than two classes -> multinomial softmax, two classes -> one
binomial weight vector (`multi_class="auto"`). We minimise the same objective with the solver
sklearn calls, scipy's L-BFGS-B, with sklearn 1.1's options (gtol=tol, maxiter=max_iter, scipy's
defaults otherwise). Rasa usually stops it at max_iter before convergence, so its confidences
are those of that iterate: the same solver reproduces them (recorded conversations agree to
< 1e-5; the hand-written L-BFGS-B this replaced drifted by up to 2.5e-3 on formbot).
"""

from __future__ import annotations

import numpy as np


class SparseRows:
    """A sparse matrix built from {column: value} dicts; products run in scipy's compiled code
    (the numpy gather/segment-sum version materialised nnz x classes temporaries and made
    training of 5,000-example bots take minutes)."""

    def __init__(self, rows: list[dict[int, float]], n_cols: int):
        from scipy.sparse import csr_matrix

        self.n_rows, self.n_cols = len(rows), n_cols
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        indices = np.fromiter((c for r in rows for c in sorted(r)), dtype=np.int64,
                              count=int(indptr[-1]))
        data = np.fromiter((r[c] for r in rows for c in sorted(r)), dtype=float,
                           count=int(indptr[-1]))
        self.csr = csr_matrix((data, indices, indptr), shape=(len(rows), n_cols))
        self.csr_t = self.csr.T.tocsr()

    def dot(self, W: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """X @ W for W of shape (n_cols, k)."""
        result = np.asarray(self.csr @ W)
        if out is None:
            return result
        out[...] = result
        return out

    def tdot(self, R: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """X^T @ R for R of shape (n_rows, k)."""
        result = np.asarray(self.csr_t @ R)
        if out is None:
            return result
        out[...] = result
        return out


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(float)
    per_class = len(y) / (n_classes * np.maximum(counts, 1.0))
    return per_class[y]


def fit(X: SparseRows, y: list[int], n_classes: int, C: float = 1.0, max_iter: int = 100,
        tol: float = 1e-4, balanced: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """Returns (coef (n_features, k), intercept (k,), iterations); k = n_classes, or 1 if binary."""
    y_arr = np.asarray(y, dtype=np.int64)
    sw = balanced_weights(y_arr, n_classes) if balanced else np.ones(len(y_arr))
    n_feat = X.n_cols
    l2 = 1.0 / C
    if n_classes == 2:
        target = (y_arr == 1).astype(float)

        def fun(w):
            coef, b = w[:n_feat], w[n_feat]
            raw = X.dot(coef[:, None])[:, 0] + b
            # log(1 + exp(raw)) - y * raw, computed stably
            loss_i = np.logaddexp(0.0, raw) - target * raw
            grad_i = sw * (_expit(raw) - target)
            f = float(sw @ loss_i) + 0.5 * l2 * float(coef @ coef)
            g = np.empty_like(w)
            g[:n_feat] = X.tdot(grad_i[:, None])[:, 0] + l2 * coef
            g[n_feat] = grad_i.sum()
            return f, g

        w, iters = minimize(fun, np.zeros(n_feat + 1), max_iter, tol)
        return w[:n_feat, None].copy(), w[n_feat:].copy(), iters

    k = n_classes
    onehot = np.zeros((len(y_arr), k))
    onehot[np.arange(len(y_arr)), y_arr] = 1.0

    G = np.empty((n_feat + 1, k))
    raw = np.empty((len(y_arr), k))

    def fun(w):
        W = w.reshape(n_feat + 1, k)
        coef, b = W[:n_feat], W[n_feat]
        X.dot(coef, out=raw)
        np.add(raw, b, out=raw)
        mx = raw.max(axis=1, keepdims=True)
        ex = np.exp(raw - mx)
        tot = ex.sum(axis=1, keepdims=True)
        lse = (np.log(tot) + mx)[:, 0]
        loss_i = lse - (raw * onehot).sum(axis=1)
        grad_i = sw[:, None] * (ex / tot - onehot)
        f = float(sw @ loss_i) + 0.5 * l2 * float(np.einsum("ij,ij->", coef, coef))
        X.tdot(grad_i, out=G[:n_feat])
        G[:n_feat] += l2 * coef
        G[n_feat] = grad_i.sum(axis=0)
        return f, G.reshape(-1)

    w, iters = minimize(fun, np.zeros((n_feat + 1) * k), max_iter, tol)
    W = w.reshape(n_feat + 1, k)
    return W[:n_feat].copy(), W[n_feat].copy(), iters


def minimize(fun, x0: np.ndarray, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    """(f, g) oracle + start point -> (x, iterations), as sklearn 1.1's `_logistic_regression_path`
    runs scipy (it also passes iprint=-1: scipy's default, an option that scipy deprecates and
    removes in 1.18, so it is left out)."""
    # imported here: training happens at compile time only, and scipy.optimize would add
    # ~0.2 s and ~40 MiB to every `formc serve` start
    from scipy.optimize import minimize as scipy_minimize
    from threadpoolctl import threadpool_limits

    def value_and_gradient(w):
        f, g = fun(w)
        return f, g.copy()      # `fun` reuses its gradient buffer between calls

    # scipy's L-BFGS-B makes a few BLAS level-1 calls per step on vectors of n_features x
    # classes; threaded, they made rasa-demo's training 4x slower on a busy 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        result = scipy_minimize(value_and_gradient, x0, method="L-BFGS-B", jac=True,
                                options={"gtol": tol, "maxiter": max_iter})
    return result.x, min(int(result.nit), max_iter)     # sklearn's _check_optimize_result


def _expit(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def predict_proba(raw: np.ndarray) -> np.ndarray:
    """Scores (k,) -> probabilities over classes (softmax; binary: [1-p, p])."""
    if raw.shape[0] == 1:
        p = float(_expit(raw.astype(float))[0])
        return np.array([1.0 - p, p])
    mx = raw.max()
    ex = np.exp(raw - mx)
    return ex / ex.sum()
