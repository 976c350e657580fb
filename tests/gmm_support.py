"""Strategies and independent oracles for the GMM tests (public and hidden).

The oracles never use the student's code: the E-step is scipy's
``multivariate_normal.logpdf`` combined with ``logsumexp``, the M-step is a
weighted mean and ``np.cov(X.T, aweights=r_k, bias=True)``.
"""
from __future__ import annotations

import collections

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from helpers import WithStandIns, check, check_shape, fmt

# The tests build their own state: the API promises field names, not a class.
GMMState = collections.namedtuple("GMMState", ["pi", "mu", "sigma"])

# train_gmm may add up to 1e-6·I to every covariance in each M-step.
REG_ALLOWANCE = 1e-6


# ------------------------------------------------------- the student's functions, one at a time
# Each runs with correct stand-ins for the other graded functions it calls (probes.STAND_INS),
# so a mistake in log_gaussian_pdf costs log_gaussian_pdf's points, not train_gmm's too.
def gamma_fn(impl):
    """The student's compute_gamma, calling a correct log_gaussian_pdf."""
    return WithStandIns(impl, "gmm", "log_gaussian_pdf").compute_gamma


def train_fn(impl):
    """The student's train_gmm, calling a correct log_gaussian_pdf and compute_gamma."""
    return WithStandIns(impl, "gmm", "log_gaussian_pdf", "compute_gamma").train_gmm


def compress_fn(impl):
    """The student's gmm_compress, calling a correct log_gaussian_pdf and compute_gamma."""
    return WithStandIns(impl, "gmm", "log_gaussian_pdf", "compute_gamma").gmm_compress


# ----------------------------------------------------------------------------- oracles
def log_pdf(data: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(N,) log N(x_n; mu, sigma) from scipy."""
    return np.atleast_1d(multivariate_normal.logpdf(data, mean=mu, cov=sigma)).reshape(len(data))


def log_weighted(pi, mu, sigma, data) -> np.ndarray:
    """(K, N) log pi_k + log N(x_n; mu_k, sigma_k)."""
    with np.errstate(divide="ignore"):
        return np.stack([np.log(pi[k]) + log_pdf(data, mu[k], sigma[k]) for k in range(len(pi))])


def e_step(pi, mu, sigma, data) -> tuple[np.ndarray, np.ndarray]:
    """(gamma (K, N), log_totals (N,)) from scipy and logsumexp."""
    lw = log_weighted(pi, mu, sigma, data)
    log_totals = logsumexp(lw, axis=0)
    return np.exp(lw - log_totals), log_totals


def m_step(data: np.ndarray, gamma: np.ndarray, reg: float = 0.0) -> GMMState:
    """pi = N_k / N, weighted means, np.cov(X.T, aweights=gamma_k, bias=True) (+ reg·I)."""
    n, d = data.shape
    nk = gamma.sum(axis=1)
    mu = np.stack([np.average(data, axis=0, weights=g) for g in gamma])
    sigma = np.stack([np.atleast_2d(np.cov(data.T, aweights=g, bias=True)) + reg * np.eye(d) for g in gamma])
    return GMMState(nk / n, mu, sigma)


def em(data, pi, mu, sigma, iterations: int, reg: float = 0.0) -> GMMState:
    """The oracle EM: ``iterations`` rounds of scipy E-step then np.cov M-step."""
    state = GMMState(pi, mu, sigma)
    for _ in range(iterations):
        state = m_step(data, e_step(*state, data)[0], reg)
    return state


def mean_log_likelihood(state, data) -> float:
    """Average log p(x_n) under a mixture, from scipy."""
    return float(e_step(state.pi, state.mu, state.sigma, data)[1].mean())


# ----------------------------------------------------------------------------- checks
def as_state(out, k: int, d: int, what: str = "train_gmm") -> GMMState:
    """The (pi, mu, sigma) arrays of a returned state, with shapes checked."""
    __tracebackhide__ = True
    check(all(hasattr(out, f) for f in ("pi", "mu", "sigma")),
          f"{what} should return a GMMState(pi, mu, sigma) namedtuple, got {fmt(out, 200)}")
    return GMMState(check_shape(out.pi, (k,), f"{what}(...).pi").astype(float),
                    check_shape(out.mu, (k, d), f"{what}(...).mu").astype(float),
                    check_shape(out.sigma, (k, d, d), f"{what}(...).sigma").astype(float))


def as_gamma(out, k: int, n: int, what: str = "compute_gamma") -> tuple[np.ndarray, np.ndarray]:
    """(gamma, log_totals) of a compute_gamma result, with shapes checked."""
    __tracebackhide__ = True
    check(isinstance(out, (tuple, list)) and len(out) == 2,
          f"{what} should return a pair (gamma, log_totals), got {fmt(out, 200)}")
    return (check_shape(out[0], (k, n), f"{what}(...)[0] (gamma, one row per component)").astype(float),
            check_shape(out[1], (n,), f"{what}(...)[1] (log_totals)").astype(float))


# ----------------------------------------------------------------------------- strategies
def random_spd(rng: np.random.Generator, d: int, scale: float = 1.0, floor: float = 0.1) -> np.ndarray:
    """A random symmetric positive definite matrix with eigenvalues ≳ floor·scale²."""
    a = rng.normal(size=(d, d)) * scale
    return a @ a.T / d + floor * scale**2 * np.eye(d)


def params_from(rng: np.random.Generator, k: int, d: int, spread: float = 5.0) -> GMMState:
    """Hand-set mixture parameters: weights ≥ 0.3/K, means in ±spread, random covariances."""
    pi = 0.7 * rng.dirichlet(np.ones(k)) + 0.3 / k
    mu = rng.uniform(-spread, spread, (k, d))
    sigma = np.stack([random_spd(rng, d, scale=rng.uniform(0.5, 3.0)) for _ in range(k)])
    return GMMState(pi / pi.sum(), mu, sigma)


@st.composite
def mixture_params(draw, k=(1, 4), d=(1, 3)) -> GMMState:
    """Hand-set parameters of a mixture of K components in d dimensions."""
    k_, d_ = draw(st.integers(*k)), draw(st.integers(*d))
    return params_from(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), k_, d_)


@st.composite
def e_step_cases(draw, n=(1, 30), k=(1, 4), d=(1, 3), scale=20.0):
    """(state, data): hand-set parameters and N points in ±scale (hypothesis shrinks the points)."""
    state = draw(mixture_params(k=k, d=d))
    data = draw(hnp.arrays(np.float64, (draw(st.integers(*n)), state.mu.shape[1]),
                           elements=st.floats(-scale, scale, allow_nan=False, allow_subnormal=False)))
    return state, data


def sample_mixture(rng: np.random.Generator, k: int, d: int, sizes, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """(data, centres): points of k Gaussian clusters with random covariances, centres in ±spread, shuffled."""
    centres = rng.uniform(-spread, spread, (k, d))
    parts = [rng.multivariate_normal(c, random_spd(rng, d, scale=rng.uniform(0.5, 1.5), floor=0.3), size=m)
             for c, m in zip(centres, sizes)]
    return rng.permutation(np.concatenate(parts)), centres


def broad_init(rng: np.random.Generator, data: np.ndarray, centres: np.ndarray) -> GMMState:
    """A start with one mean near each cluster centre, the data covariance for all, equal weights."""
    k, d = centres.shape
    mu = centres + rng.normal(0, 0.5, centres.shape)
    cov = np.atleast_2d(np.cov(data.T, bias=True)) + 0.1 * np.eye(d)
    return GMMState(np.full(k, 1.0 / k), mu, np.repeat(cov[None], k, axis=0))


@st.composite
def mixtures(draw, k=(1, 4), d=(1, 3), per=(15, 40), spread=4.0, offset=0.0):
    """(data, init): overlapping Gaussian clusters and a broad initial state, one mean near each cluster.

    Every cluster has at least ``per[0]`` points and its own starting mean, so no
    component of a correct EM collapses onto a few points in the iterations the
    tests run (checked over thousands of examples without regularisation).
    """
    k_, d_ = draw(st.integers(*k)), draw(st.integers(*d))
    sizes = [draw(st.integers(*per)) for _ in range(k_)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data, centres = sample_mixture(rng, k_, d_, sizes, spread)
    return data + offset, broad_init(rng, data + offset, centres + offset)


@st.composite
def separated_blobs(draw, k=(2, 4), d=(1, 3), per=(10, 25), gap=30.0):
    """(data, init): far-apart clusters, and a start with one mean inside each cluster, unit covariances."""
    k_, d_ = draw(st.integers(*k)), draw(st.integers(*d))
    sizes = [draw(st.integers(*per)) for _ in range(k_)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    centres = np.arange(k_)[:, None] * gap * np.ones(d_) + rng.uniform(-3, 3, (k_, d_))
    parts = [rng.multivariate_normal(c, random_spd(rng, d_, scale=1.0, floor=0.3), size=m)
             for c, m in zip(centres, sizes)]
    mu = np.stack([p[rng.integers(len(p))] for p in parts])
    data = rng.permutation(np.concatenate(parts))
    return data, GMMState(np.full(k_, 1.0 / k_), mu, np.repeat(np.eye(d_)[None], k_, axis=0))


def far_points(rng: np.random.Generator, state: GMMState, n: int, stds: float = 1e3) -> np.ndarray:
    """n points at least about ``stds`` standard deviations away from every component."""
    d = state.mu.shape[1]
    biggest = max(float(np.sqrt(np.linalg.eigvalsh(s).max())) for s in state.sigma)
    spread = float(np.abs(state.mu).max())
    directions = rng.normal(size=(n, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions * (stds * biggest + 2 * spread) * rng.uniform(1, 3, (n, 1))
