"""Data and measures shared by the public and hidden ICA tests.

The tests judge an unmixing matrix only by what it does to the mixing: with
sources ``S``, mixing ``A`` and mixes ``X = S @ A.T``, the tests whiten the
mixes themselves (``Z = (X - mean) @ V.T``) and hand ``Z`` to ``unmixer``; the
learned ``W`` separates the sources when the global system ``P = W @ V @ A``
(columns scaled by the sources' standard deviations, so that a faint source
counts as much as a loud one) is a scaled permutation, whatever the order and
sign of the recovered sources. The Amari index of ``P`` measures the distance
to one (0: perfect, ~0.4 for a random rotation).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.special import expit

from helpers import WithStandIns

# Mixes whose whitened mixing V A is itself this close to a scaled permutation are
# rejected: there, returning the identity would already pass. Over 1,000 seeds of
# 3×3 Gaussian mixing, 2 in 10 fall below it.
MIN_MIXING_AMARI = 0.25


def step_fn(impl):
    """The student's infomax_step, calling a correct sigmoid (one mistake, one function's points)."""
    return WithStandIns(impl, "ica", "sigmoid").infomax_step


def unmixer_fn(impl):
    """The student's unmixer, calling a correct sigmoid and infomax_step: its separation tests
    judge the schedule and the loop, not the step (checked by infomax_step's own tests)."""
    return WithStandIns(impl, "ica", "sigmoid", "infomax_step").unmixer


def amari_index(P: np.ndarray) -> float:
    """Normalised Amari index of a square matrix: 0 for a scaled permutation, at most 1."""
    P = np.abs(np.asarray(P, dtype=float))
    d = len(P)
    rows = (P.sum(axis=1) / P.max(axis=1) - 1).sum()
    cols = (P.sum(axis=0) / P.max(axis=0) - 1).sum()
    return float((rows + cols) / (2 * d * (d - 1)))


def whiten(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred, symmetric-whitened mixes ``Z = (X - mean) @ V.T`` and the whitening matrix ``V``."""
    Xc = X - X.mean(axis=0)
    evals, U = np.linalg.eigh(Xc.T @ Xc / len(Xc))
    V = (U / np.sqrt(evals)) @ U.T
    return Xc @ V.T, V


def matched_correlations(Y: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair recovered and true sources by |correlation| (Hungarian); return (true index per recovered, |corr|)."""
    d = S.shape[1]
    C = np.abs(np.corrcoef(Y.T, S.T)[:d, d:])
    rows, cols = linear_sum_assignment(-C)  # rows = 0, 1, …, d-1 for a square C
    return cols, C[rows, cols]


def draw_sources(kind: str, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """n samples of d independent sources of the given kind."""
    if kind == "laplace":
        return rng.laplace(size=(n, d))
    if kind == "gaussian":
        return rng.standard_normal((n, d))
    if kind == "student_t":  # 5 degrees of freedom: heavy tails, kurtosis 6
        return rng.standard_t(5, size=(n, d))
    if kind == "sparse":  # silent 70% of the time, like speech
        return rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.3)
    if kind == "scaled_laplace":  # scales from 0.1 to 10
        return rng.laplace(size=(n, d)) * rng.uniform(0.1, 10.0, d)
    raise ValueError(kind)


def draw_mixing(kind: str, rng: np.random.Generator, d: int) -> np.ndarray:
    """A d×d mixing matrix of the given kind."""
    if kind == "gaussian":
        return rng.standard_normal((d, d))
    if kind == "orthogonal":
        return np.linalg.qr(rng.standard_normal((d, d)))[0]
    if kind == "ill_conditioned":  # singular values 1 … 1e-3
        U = np.linalg.qr(rng.standard_normal((d, d)))[0]
        Vt = np.linalg.qr(rng.standard_normal((d, d)))[0]
        return (U * np.logspace(0, -3, d)) @ Vt
    if kind == "positive":  # like microphones that all hear every source
        return rng.uniform(0.2, 1.0, (d, d))
    raise ValueError(kind)


class Mix(NamedTuple):
    S: np.ndarray  # (n, d) true sources
    A: np.ndarray  # (d, d) mixing
    Z: np.ndarray  # (n, d) whitened mixes, the input of unmixer
    V: np.ndarray  # (d, d) whitening: Z = (X - mean) @ V.T

    def system(self, W: np.ndarray) -> np.ndarray:
        """Global system W V A diag(std S): unit-variance sources to recovered sources."""
        return W @ self.V @ self.A * self.S.std(axis=0)


def make_mix(seed: int, n: int, d: int, sources: str = "laplace", mixing: str = "gaussian") -> Mix:
    rng = np.random.default_rng(seed)
    S = draw_sources(sources, rng, n, d)
    A = draw_mixing(mixing, rng, d)
    Z, V = whiten(S @ A.T)
    return Mix(S, A, Z, V)


@st.composite
def mixes(draw, n: int = 1000, d: int = 3, sources: str = "laplace", mixing: str = "gaussian") -> Mix:
    """Whitened mixes of independent sources that are really mixed (see MIN_MIXING_AMARI)."""
    mix = make_mix(draw(st.integers(0, 2**32 - 1)), n, d, sources, mixing)
    assume(amari_index(mix.system(np.eye(d))) >= MIN_MIXING_AMARI)
    return mix


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**32 - 1)


def non_symmetric_matrix(rng: np.random.Generator, d: int) -> np.ndarray:
    """A well-conditioned d×d matrix far from symmetric (W and W.T differ)."""
    while True:
        W = np.eye(d) + 0.5 * rng.standard_normal((d, d))
        if np.linalg.cond(W) < 50 and np.linalg.norm(W - W.T) > 0.3 * np.linalg.norm(W):
            return W


def infomax_update(W: np.ndarray, x: np.ndarray, alpha: float) -> np.ndarray:
    """The infomax step of the specification, written out independently of any submission."""
    y = 1.0 - 2.0 * expit(W @ x)
    return W + alpha * (np.outer(y, x) + np.linalg.inv(W).T)


def log_likelihood(W: np.ndarray, x: np.ndarray) -> float:
    """log|det W| + sum_i log g'(w_i . x), g the logistic sigmoid (g' = g (1 - g))."""
    u = W @ x
    log_g_prime = -np.logaddexp(0.0, u) - np.logaddexp(0.0, -u)
    return float(np.linalg.slogdet(W)[1] + log_g_prime.sum())


def numerical_gradient(f, W: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of the scalar function f at W, entry by entry."""
    grad = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        grad[idx] = (f(W + E) - f(W - E)) / (2 * h)
    return grad


def align_rows(got: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``got`` with its rows reordered and sign-flipped to match the rows of ``reference`` best.

    The order and sign of the recovered sources are free, so tests compare
    unmixing matrices up to a signed permutation of their rows.
    """
    got = np.asarray(got, dtype=float)
    plus = np.linalg.norm(got[:, None, :] - reference[None, :, :], axis=2)
    minus = np.linalg.norm(got[:, None, :] + reference[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(np.minimum(plus, minus))
    out = np.empty_like(got)
    for i, j in zip(rows, cols):
        out[j] = -got[i] if minus[i, j] < plus[i, j] else got[i]
    return out
