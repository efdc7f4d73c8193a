"""(f, g) oracle + start point -> minimiser, following L-BFGS-B's unconstrained path step by step.

Why a faithful re-implementation instead of any convergent solver: Rasa's
LogisticRegressionClassifier stops sklearn's lbfgs after 100 iterations, usually *before*
convergence, so the probabilities it serves are those of iterate 100 of scipy's L-BFGS-B
(memory 10, Moré-Thuente line search ftol=1e-3, gtol=0.9, xtol=0.1, first step 1/|d|,
update skipped when s'y <= eps * -g'd*stp, stop on |g|_inf <= pgtol or on relative reduction of f
<= 2.2e-9). Reproducing that path reproduces Rasa's confidences to ~1e-7 instead of ~1e-2.
Written from the published algorithm descriptions (Byrd/Lu/Nocedal/Zhu 1995, Moré & Thuente
1994); no code copied.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

EPS = float(np.finfo(float).eps)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum, not BLAS: no thread start-up cost on busy machines, same result to ~1 ulp
    return float(np.einsum("i,i->", a, b))


def minimize(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray,
             max_iter: int = 100, pgtol: float = 1e-4, factr_tol: float = 2.220446049250313e-09,
             memory: int = 10, max_ls: int = 20) -> tuple[np.ndarray, int]:
    """Returns (x, iterations). `fun` may reuse its gradient buffer between calls."""
    n = x0.size
    x = x0.astype(float).copy()
    f, g = fun(x)
    g = g.copy()
    if np.max(np.abs(g), initial=0.0) <= pgtol:
        return x, 0
    # ring buffers for the last `memory` corrections (no per-iteration allocation)
    S = np.empty((memory, n))
    Y = np.empty((memory, n))
    rho = np.empty(memory)
    count = 0                  # corrections stored
    head = 0                   # index of the oldest correction
    theta = 1.0
    iters = 0
    d = np.empty(n)
    xt = np.empty(n)
    gold = np.empty(n)
    work = np.empty(n)
    alphas = np.empty(memory)
    while True:
        order = [(head + i) % memory for i in range(count)]       # oldest .. newest
        np.copyto(d, g)
        for j in reversed(order):
            a = rho[j] * _dot(S[j], d)
            alphas[j] = a
            np.multiply(Y[j], a, out=work)
            d -= work
        d /= theta
        for j in order:
            b = rho[j] * _dot(Y[j], d)
            np.multiply(S[j], alphas[j] - b, out=work)
            d += work
        np.negative(d, out=d)
        dnorm = math.sqrt(_dot(d, d))
        stp = 1.0 / dnorm if iters == 0 else 1.0
        gd0 = _dot(g, d)
        if gd0 >= 0:                       # not a descent direction: drop memory, retry
            if not count:
                return x, iters
            count, head, theta = 0, 0, 1.0
            continue
        search = _LineSearch(f, gd0, stp, stpmax=1e10)
        fold = f
        np.copyto(gold, g)
        nfev = 0
        ok = False
        while True:
            stp = search.stp
            np.multiply(d, stp, out=xt)
            xt += x
            f, gnew = fun(xt)
            nfev += 1
            gd = _dot(gnew, d)
            status = search.step(f, gd)
            if status != "FG":
                ok = True
                break
            if nfev >= max_ls:
                break
        if not ok:                         # line search failed: restart from the old point
            f = fold
            np.copyto(g, gold)
            if not count:
                return x, iters
            count, head, theta = 0, 0, 1.0
            continue
        np.copyto(x, xt)
        np.copyto(g, gnew)
        iters += 1
        if iters >= max_iter:
            return x, iters
        if np.max(np.abs(g), initial=0.0) <= pgtol:
            return x, iters
        if (fold - f) <= factr_tol * max(abs(fold), abs(f), 1.0):
            return x, iters
        dr = float(gd - gd0) * stp
        if dr <= EPS * (-gd0 * stp):
            continue                       # curvature too small: skip the update
        if count < memory:
            j = (head + count) % memory
            count += 1
        else:
            j = head
            head = (head + 1) % memory
        np.multiply(d, stp, out=S[j])
        np.subtract(g, gold, out=Y[j])
        rho[j] = 1.0 / dr
        theta = _dot(Y[j], Y[j]) / dr


class _LineSearch:
    """Moré-Thuente line search (the dcsrch/dcstep pair of MINPACK-2) as a small state machine."""

    def __init__(self, f0: float, g0: float, stp: float, stpmax: float,
                 ftol: float = 1e-3, gtol: float = 0.9, xtol: float = 0.1, stpmin: float = 0.0):
        self.ftol, self.gtol, self.xtol = ftol, gtol, xtol
        self.stpmin, self.stpmax = stpmin, stpmax
        self.brackt = False
        self.stage = 1
        self.finit, self.ginit = f0, g0
        self.gtest = ftol * g0
        self.width = stpmax - stpmin
        self.width1 = self.width / 0.5
        self.stx, self.fx, self.gx = 0.0, f0, g0
        self.sty, self.fy, self.gy = 0.0, f0, g0
        self.stmin = 0.0
        self.stmax = stp + 4.0 * stp
        self.stp = stp

    def step(self, f: float, g: float) -> str:
        stp = self.stp
        ftest = self.finit + stp * self.gtest
        if self.stage == 1 and f <= ftest and g >= 0:
            self.stage = 2
        if self.brackt and (stp <= self.stmin or stp >= self.stmax):
            return "WARN"
        if self.brackt and self.stmax - self.stmin <= self.xtol * self.stmax:
            return "WARN"
        if stp == self.stpmax and f <= ftest and g <= self.gtest:
            return "WARN"
        if stp == self.stpmin and (f > ftest or g >= self.gtest):
            return "WARN"
        if f <= ftest and abs(g) <= self.gtol * (-self.ginit):
            return "CONV"
        gt = self.gtest
        if self.stage == 1 and f <= self.fx and f > ftest:
            fm, fxm, fym = f - stp * gt, self.fx - self.stx * gt, self.fy - self.sty * gt
            gm, gxm, gym = g - gt, self.gx - gt, self.gy - gt
            (self.stx, fxm, gxm, self.sty, fym, gym, stp, self.brackt) = _cstep(
                self.stx, fxm, gxm, self.sty, fym, gym, stp, fm, gm, self.brackt,
                self.stmin, self.stmax)
            self.fx, self.fy = fxm + self.stx * gt, fym + self.sty * gt
            self.gx, self.gy = gxm + gt, gym + gt
        else:
            (self.stx, self.fx, self.gx, self.sty, self.fy, self.gy, stp, self.brackt) = _cstep(
                self.stx, self.fx, self.gx, self.sty, self.fy, self.gy, stp, f, g, self.brackt,
                self.stmin, self.stmax)
        if self.brackt:
            if abs(self.sty - self.stx) >= 0.66 * self.width1:
                stp = self.stx + 0.5 * (self.sty - self.stx)
            self.width1 = self.width
            self.width = abs(self.sty - self.stx)
            self.stmin, self.stmax = min(self.stx, self.sty), max(self.stx, self.sty)
        else:
            self.stmin = stp + 1.1 * (stp - self.stx)
            self.stmax = stp + 4.0 * (stp - self.stx)
        stp = min(max(stp, self.stpmin), self.stpmax)
        if (self.brackt and (stp <= self.stmin or stp >= self.stmax)) or (
                self.brackt and self.stmax - self.stmin <= self.xtol * self.stmax):
            stp = self.stx
        self.stp = stp
        return "FG"


def _cubic(f1, f2, s1, s2, d1, d2):
    """theta and |gamma| of the cubic through (s1, f1, d1) and (s2, f2, d2); the operations are
    kept in dcstep's order so the step lengths stay bit-identical to scipy/sklearn's."""
    theta = 3.0 * (f1 - f2) / (s2 - s1) + d1 + d2
    s = max(abs(theta), abs(d1), abs(d2))
    return theta, s * math.sqrt(max(0.0, (theta / s) ** 2 - (d1 / s) * (d2 / s)))


def _cstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """One safeguarded cubic/quadratic step of the Moré-Thuente search (dcstep)."""
    sgnd = dp * math.copysign(1.0, dx)
    if fp > fx:
        theta, gamma = _cubic(fx, fp, stx, stp, dx, dp)
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + (p / q) * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        stpf = stpc if abs(stpc - stx) < abs(stpq - stx) else stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0:
        theta, gamma = _cubic(fx, fp, stx, stp, dx, dp)
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + (p / q) * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):
        theta, gamma = _cubic(fx, fp, stx, stp, dx, dp)
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0 and gamma != 0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            if stp > stx:
                stpf = min(stp + 0.66 * (sty - stp), stpf)
            else:
                stpf = max(stp + 0.66 * (sty - stp), stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = max(stpmin, min(stpmax, stpf))
    else:
        if brackt:
            theta, gamma = _cubic(fp, fy, stp, sty, dy, dp)
            if stp > sty:
                gamma = -gamma
            p = (gamma - dp) + theta
            q = ((gamma - dp) + gamma) + dy
            stpf = stp + (p / q) * (sty - stp)
        elif stp > stx:
            stpf = stpmax
        else:
            stpf = stpmin
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt
