"""Data, strategies and reference formulas shared by the public and hidden cvae tests.

Everything here runs in the test process; the student's code runs wherever
``impl`` lives. The tests build their inputs with NumPy and compare plain arrays;
``tensor`` turns an input into what the student's code receives: a torch tensor
here, and under the grader (whose test process never imports torch) an array the
wire format delivers to the student's process as a tensor. Tensors sent to the
student are float32 (data, one-hot labels) and int64 (labels), as the assignment's
API says.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from hypothesis import strategies as st

from helpers import as_array, check, is_tensor

_WIRE: list[Any] = []  # [AsTensor] while the tests run against a sandboxed submission


def use_tensors_for(impl: Any) -> None:
    """Make ``tensor`` build inputs for ``impl``: torch tensors, or wire tensors for the grader's proxy."""
    _WIRE.clear()
    if getattr(impl, "__course_remote__", False):
        from autograder.sandbox.protocol import AsTensor  # the grader's process: no torch here

        _WIRE.append(AsTensor)
    else:
        import torch

        torch.set_num_threads(1)  # tiny models: one thread is fastest and keeps timings stable


def tensor(values: Any, dtype: Any = None) -> Any:
    """``values`` as a tensor argument for the student's code (a copy: the caller's array stays the tests').

    float64 becomes float32, the dtype of every float input in the assignment's API.
    """
    arr = np.array(values, dtype=dtype)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    if _WIRE:
        return _WIRE[0](arr)
    import torch

    return torch.from_numpy(arr)


def is_float_tensor(value: Any) -> bool:
    """Whether a returned value is a floating-point torch tensor (not a NumPy array)."""
    if not is_tensor(value):
        return False
    dtype = value.dtype
    return bool(getattr(dtype, "is_floating_point", False)) or (isinstance(dtype, np.dtype) and dtype.kind == "f")


@lru_cache(maxsize=1)
def small_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real 8 x 8 digits: x (N, 64) float32 in [0, 1], labels (N,) int64."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def batches(x: np.ndarray, y: np.ndarray, size: int) -> list[tuple[Any, Any]]:
    """A loader for train_cvae: equal-size (x, labels) tensor batches (the remainder is dropped)."""
    n = len(x) // size * size
    return [(tensor(x[i:i + size]), tensor(y[i:i + size])) for i in range(0, n, size)]


def onehot(labels: Any, num_classes: int) -> np.ndarray:
    """The tests' own one-hot encoding (float32), independent of the student's one_hot."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64)]


def labels_of(seed: int, batch: int, num_classes: int) -> np.ndarray:
    """``batch`` random int64 labels in [0, num_classes)."""
    return np.random.default_rng(seed).integers(0, num_classes, batch).astype(np.int64)


def normal(seed: int, *shape: int) -> np.ndarray:
    """Standard normal float32 draws."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@st.composite
def sizes(draw, input_size=(8, 64), num_classes=(2, 10), latent_size=(1, 8), hidden_size=(8, 32)):
    """Constructor keywords of a small CVAE."""
    return dict(input_size=draw(st.integers(*input_size)), num_classes=draw(st.integers(*num_classes)),
                latent_size=draw(st.integers(*latent_size)), hidden_size=draw(st.integers(*hidden_size)))


def inputs(seed: int, batch: int, dims: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random (x in [0, 1], labels, one-hot c) arrays for a model of the given sizes (pass them through ``tensor``)."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, dims["input_size"]), dtype=np.float32)
    labels = rng.integers(0, dims["num_classes"], batch).astype(np.int64)
    return x, labels, onehot(labels, dims["num_classes"])


def as_tensor64(value, what: str) -> np.ndarray:
    """A returned tensor as a float64 array (fails with a clear message otherwise)."""
    return as_array(value, what).astype(np.float64)


def bce_sum(x_hat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Binary cross-entropy summed over pixels, per example (float64; x_hat strictly inside (0, 1))."""
    x_hat, x = np.asarray(x_hat, dtype=np.float64), np.asarray(x, dtype=np.float64)
    return -(x * np.log(x_hat) + (1 - x) * np.log1p(-x_hat)).sum(axis=1)


def kl_closed_form(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, in float64, computed as torch.distributions does.

    Per dimension 1/2 (r + mu² - 1 - log r) with the variance ratio r = std² (std = exp(logvar / 2)).
    """
    mu, logvar = np.asarray(mu, dtype=np.float64), np.asarray(logvar, dtype=np.float64)
    ratio = np.exp(0.5 * logvar) ** 2
    return (0.5 * (ratio + mu ** 2 - 1 - np.log(ratio))).sum(axis=1)


def negative_elbo(x_hat, x, mu, logvar) -> float:
    """The tests' own batch-averaged negative ELBO of forward's outputs (float64, x_hat clipped)."""
    xh = np.clip(as_tensor64(x_hat, "x_hat"), 1e-7, 1 - 1e-7)
    m, lv = as_tensor64(mu, "mu"), as_tensor64(logvar, "logvar")
    return float((bce_sum(xh, np.asarray(x, dtype=np.float64)) + kl_closed_form(m, lv)).mean())


def loss_case(seed: int, batch: int, pixels: int, latent: int, binary: bool = False):
    """Fixed float32 arrays for loss_function: x_hat in [1e-6, 1 - 1e-6], x in [0, 1], mu, logvar."""
    rng = np.random.default_rng(seed)
    x = (rng.random((batch, pixels)) < 0.3) if binary else rng.random((batch, pixels))
    x_hat = np.clip(1 / (1 + np.exp(-rng.normal(0, 3, (batch, pixels)))), 1e-6, 1 - 1e-6)
    mu = rng.normal(0, 1.5, (batch, latent))
    logvar = rng.uniform(-3, 2, (batch, latent))
    return tuple(np.asarray(a, dtype=np.float32) for a in (x_hat, x, mu, logvar))


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
