# Student version: fill in every TODO, keep the names and signatures.
"""Blind source separation with Bell–Sejnowski infomax ICA.

Mixed signals ``X`` (one sample per row, one microphone per column) are
``X = S @ A.T`` for unknown independent sources ``S`` and an unknown square
mixing matrix ``A``. Infomax learns an unmixing matrix ``W`` by stochastic
gradient ascent on the entropy of ``sigmoid(W x)``, one sample at a time; the
estimated sources are then ``X @ W.T``, up to order and scale.

Every function takes float64 arrays and never modifies its arguments.
"""
from __future__ import annotations

import numpy as np

#: Learning-rate schedule of :func:`unmixer`: one pass over the data per entry.
DEFAULT_ANNEAL = [0.1] * 3 + [0.05] * 3 + [0.02] * 2 + [0.01] * 2


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, elementwise.

    Must be numerically stable: correct and without an overflow warning for
    ``|x|`` up to 1e3. ``1 / (1 + np.exp(-x))`` overflows (with a warning) for
    x below about -710; use ``scipy.special.expit``, or a formula that never
    exponentiates a large positive number (e.g. ``exp(-|x|)`` on each side).

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    ndarray of the same shape as ``x``
        Values in [0, 1].
    """
    # TODO: return 1 / (1 + exp(-x)) computed without ever exponentiating a large positive number
    raise NotImplementedError("TODO: return 1 / (1 + exp(-x)) computed without ever exponentiating a large positive number")


def infomax_step(W: np.ndarray, x: np.ndarray, alpha: float) -> np.ndarray:
    """One stochastic-gradient ascent step of infomax on one sample.

    ``W_new = W + alpha * (outer(1 - 2 * sigmoid(W @ x), x) + inv(W.T))``:
    the gradient of ``log|det W| + sum_i log g'(w_i . x)`` with ``g`` the
    logistic sigmoid and ``w_i`` the rows of ``W``.

    Parameters
    ----------
    W : ndarray of shape (d, d)
        Current unmixing matrix (invertible); left unchanged.
    x : ndarray of shape (d,)
        One sample (one row of the data).
    alpha : float
        Learning rate.

    Returns
    -------
    W_new : ndarray of shape (d, d)
    """
    # TODO: return a new matrix W + alpha * (outer(1 - 2*sigmoid(W @ x), x) + inv(W.T)); do not update W in place
    raise NotImplementedError("TODO: return a new matrix W + alpha * (outer(1 - 2*sigmoid(W @ x), x) + inv(W.T)); do not update W in place")


def unmixer(X: np.ndarray, anneal: list[float] | None = None) -> np.ndarray:
    """Learn an unmixing matrix with infomax, annealing the learning rate.

    ``W`` starts at the identity; for each learning rate in ``anneal``, in
    order, one pass over the rows of ``X`` in order applies
    :func:`infomax_step` to every row. The per-sample algorithm needs roughly
    white inputs (zero mean, identity covariance): whiten the mixes first.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        The mixes, one sample per row; left unchanged.
    anneal : list of float, optional
        Learning rate of each pass; ``None`` (the default) means
        :data:`DEFAULT_ANNEAL`.

    Returns
    -------
    W : ndarray of shape (d, d)
        The unmixing matrix: the sources are estimated by ``X @ W.T``.
    """
    # TODO: start from the identity; for each learning rate in anneal (DEFAULT_ANNEAL when None), apply infomax_step to every row of X in order
    raise NotImplementedError("TODO: start from the identity; for each learning rate in anneal (DEFAULT_ANNEAL when None), apply infomax_step to every row of X in order")


def unmix(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Apply an unmixing matrix to every sample.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        The mixes, one sample per row.
    W : ndarray of shape (d, d)
        Unmixing matrix.

    Returns
    -------
    S : ndarray of shape (N, d)
        The estimated sources ``X @ W.T`` (row n is ``W @ X[n]``).
    """
    # TODO: apply W to every row of X (one matrix product)
    raise NotImplementedError("TODO: apply W to every row of X (one matrix product)")
