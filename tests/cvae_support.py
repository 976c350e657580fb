"""Data, strategies and reference formulas shared by the public and hidden cvae tests.

Everything here runs in the test process; the student's code runs wherever
``impl`` lives. Tensors sent to the student are float32 (data, one-hot labels)
and int64 (labels), as the assignment's API says.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from hypothesis import strategies as st

from helpers import as_array, check

torch.set_num_threads(1)  # tiny models: one thread is fastest and keeps timings stable


@lru_cache(maxsize=1)
def small_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 real 8 x 8 digits: x (N, 64) float32 in [0, 1], labels (N,) int64."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy((bunch.data / 16.0).astype(np.float32))
    y = torch.from_numpy(bunch.target.astype(np.int64))
    return x, y


def batches(x: torch.Tensor, y: torch.Tensor, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A loader for train_cvae: equal-size (x, labels) batches (the remainder is dropped)."""
    n = len(x) // size * size
    return [(x[i:i + size].clone(), y[i:i + size].clone()) for i in range(0, n, size)]


def onehot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The tests' own one-hot encoding (float32), independent of the student's one_hot."""
    return torch.nn.functional.one_hot(labels.long(), num_classes).float()


@st.composite
def sizes(draw, input_size=(8, 64), num_classes=(2, 10), latent_size=(1, 8), hidden_size=(8, 32)):
    """Constructor keywords of a small CVAE."""
    return dict(input_size=draw(st.integers(*input_size)), num_classes=draw(st.integers(*num_classes)),
                latent_size=draw(st.integers(*latent_size)), hidden_size=draw(st.integers(*hidden_size)))


def inputs(seed: int, batch: int, dims: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random (x in [0, 1], labels, one-hot c) for a model of the given sizes."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, dims["input_size"], generator=g)
    labels = torch.randint(0, dims["num_classes"], (batch,), generator=g)
    return x, labels, onehot(labels, dims["num_classes"])


def as_tensor64(value, what: str) -> np.ndarray:
    """A returned tensor as a float64 array (fails with a clear message otherwise)."""
    return as_array(value, what).astype(np.float64)


def bce_sum(x_hat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Binary cross-entropy summed over pixels, per example (float64; x_hat strictly inside (0, 1))."""
    return -(x * np.log(x_hat) + (1 - x) * np.log1p(-x_hat)).sum(axis=1)


def kl_closed_form(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, from torch.distributions (float64)."""
    q = torch.distributions.Normal(torch.from_numpy(mu), torch.from_numpy(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))
    return torch.distributions.kl_divergence(q, p).sum(dim=1).numpy()


def negative_elbo(x_hat, x, mu, logvar) -> float:
    """The tests' own batch-averaged negative ELBO of forward's outputs (float64, x_hat clipped)."""
    xh = np.clip(as_tensor64(x_hat, "x_hat"), 1e-7, 1 - 1e-7)
    m, lv = as_tensor64(mu, "mu"), as_tensor64(logvar, "logvar")
    return float((bce_sum(xh, np.asarray(x, dtype=np.float64)) + kl_closed_form(m, lv)).mean())


def loss_case(seed: int, batch: int, pixels: int, latent: int, binary: bool = False):
    """Fixed tensors for loss_function: x_hat in [1e-6, 1 - 1e-6], x in [0, 1], mu, logvar (float32)."""
    rng = np.random.default_rng(seed)
    x = (rng.random((batch, pixels)) < 0.3) if binary else rng.random((batch, pixels))
    x_hat = np.clip(1 / (1 + np.exp(-rng.normal(0, 3, (batch, pixels)))), 1e-6, 1 - 1e-6)
    mu = rng.normal(0, 1.5, (batch, latent))
    logvar = rng.uniform(-3, 2, (batch, latent))
    return tuple(torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in (x_hat, x, mu, logvar))


def scalar(value, what: str) -> float:
    """A returned loss as a Python float; fails unless it is a single number.

    Shape (1,) is let through as well: the grader's wire format may deliver a 0-d tensor that way.
    """
    arr = as_array(value, what)
    check(arr.size == 1 and arr.ndim <= 1, f"{what} should be a scalar tensor (shape ()), got shape {arr.shape}")
    arr = arr.reshape(())
    return float(arr)


def flat_parameters(params, what: str) -> np.ndarray:
    """A probe's list of parameter tensors as one float64 vector."""
    check(isinstance(params, (list, tuple)) and len(params) > 0,
          f"{what}: the model has no parameters (nn.Module layers must be attributes of the model)")
    return np.concatenate([as_tensor64(p, what).ravel() for p in params])
