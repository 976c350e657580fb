# Student version: fill in every TODO, keep the names and signatures.
"""Gaussian mixture models fitted by expectation-maximisation, and image compression.

Every function takes float64 arrays with one sample per row and never modifies
its arguments. A mixture of K Gaussians in d dimensions is a ``GMMState``:
weights ``pi`` (K,), means ``mu`` (K, d) and full covariances ``sigma`` (K, d, d).

Work with logarithms: far from every component the densities themselves
underflow to 0, their logarithms do not (see ``scipy.special.logsumexp``).
"""
from __future__ import annotations

import collections

import numpy as np
from scipy.special import logsumexp

GMMState = collections.namedtuple("GMMState", ["pi", "mu", "sigma"])
GMMState.__doc__ = "Parameters of a Gaussian mixture: pi (K,), mu (K, d), sigma (K, d, d)."


def log_gaussian_pdf(data: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log-density of a multivariate normal with full covariance at every point.

    Parameters
    ----------
    data : ndarray of shape (N, d)
        The points x_n.
    mu : ndarray of shape (d,)
        The mean.
    sigma : ndarray of shape (d, d)
        The covariance, symmetric positive definite.

    Returns
    -------
    ndarray of shape (N,)
        log N(x_n; mu, sigma) = -1/2 (d log 2π + log det sigma + (x_n - mu)ᵀ sigma⁻¹ (x_n - mu)).
    """
    # TODO: compute -1/2 (d log(2π) + log det(sigma) + (x - mu)ᵀ sigma⁻¹ (x - mu)) for every row, without forming densities (np.linalg.slogdet, np.linalg.solve or a Cholesky factor help)
    raise NotImplementedError("TODO: compute -1/2 (d log(2π) + log det(sigma) + (x - mu)ᵀ sigma⁻¹ (x - mu)) for every row, without forming densities (np.linalg.slogdet, np.linalg.solve or a Cholesky factor help)")


def compute_gamma(pi: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                  data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E-step: the responsibility of every component for every point.

    Parameters
    ----------
    pi : ndarray of shape (K,)
        Mixture weights (non-negative, summing to 1).
    mu : ndarray of shape (K, d)
        Component means.
    sigma : ndarray of shape (K, d, d)
        Component covariances.
    data : ndarray of shape (N, d)
        The points.

    Returns
    -------
    gamma : ndarray of shape (K, N)
        gamma[k, n] = pi_k N(x_n; mu_k, sigma_k) / p(x_n); every column sums to 1.
    log_totals : ndarray of shape (N,)
        log p(x_n) = log Σ_k pi_k N(x_n; mu_k, sigma_k).

    Notes
    -----
    Both results must stay finite for points far from every component: combine
    the log-densities with the log-sum-exp trick instead of exponentiating them.
    """
    # TODO: build the (K, N) array log pi_k + log N(x_n; mu_k, sigma_k), take log-sum-exp over k for log_totals, then gamma = exp(difference)
    raise NotImplementedError("TODO: build the (K, N) array log pi_k + log N(x_n; mu_k, sigma_k), take log-sum-exp over k for log_totals, then gamma = exp(difference)")


def train_gmm(train_data: np.ndarray, init_pi: np.ndarray, init_mu: np.ndarray, init_sigma: np.ndarray,
              num_iterations: int = 50) -> GMMState:
    """Fit a Gaussian mixture by EM from the given parameters.

    Parameters
    ----------
    train_data : ndarray of shape (N, d)
        The points.
    init_pi : ndarray of shape (K,)
        Initial weights (left unchanged).
    init_mu : ndarray of shape (K, d)
        Initial means (left unchanged).
    init_sigma : ndarray of shape (K, d, d)
        Initial covariances (left unchanged).
    num_iterations : int, default 50
        Exactly this many EM iterations, each one E-step (``compute_gamma``)
        followed by one M-step.

    Returns
    -------
    GMMState
        The parameters after the last M-step: with N_k = Σ_n gamma[k, n],
        pi_k = N_k / N, mu_k = Σ_n gamma[k, n] x_n / N_k and
        sigma_k = Σ_n gamma[k, n] (x_n - mu_k)(x_n - mu_k)ᵀ / N_k (with the new mu_k).
        Adding at most 1e-6·I to each sigma_k, to keep it invertible, is allowed.
    """
    # TODO: repeat num_iterations times: gamma from compute_gamma, then N_k, pi, mu and sigma from gamma (start from copies of the initial parameters)
    raise NotImplementedError("TODO: repeat num_iterations times: gamma from compute_gamma, then N_k, pi, mu and sigma from gamma (start from copies of the initial parameters)")


def gmm_compress(image: np.ndarray, state: GMMState) -> np.ndarray:
    """Replace every pixel by the mean of its most responsible component.

    Parameters
    ----------
    image : ndarray of shape (H, W, C), floats
        The image.
    state : GMMState
        A mixture over C-dimensional colours: pi (K,), mu (K, C), sigma (K, C, C).

    Returns
    -------
    ndarray of shape (H, W, C)
        Pixel (i, j) becomes mu[k] for the k with the largest gamma[k, pixel].
    """
    # TODO: flatten to (H*W, C) pixels, take the argmax over components of gamma, and reshape the chosen means back to (H, W, C)
    raise NotImplementedError("TODO: flatten to (H*W, C) pixels, take the argmax over components of gamma, and reshape the chosen means back to (H, W, C)")
