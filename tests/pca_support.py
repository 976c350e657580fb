"""Data builders and checks shared by the public and hidden PCA tests.

Nothing here uses the student's code. The oracle is the biased covariance
``np.cov(data, rowvar=False, bias=True)`` and ``np.linalg.eigvalsh``. Every check
accepts either sign of each eigenvector and any orthonormal basis of a repeated
eigenvalue's eigenspace: it tests the eigen-equation C u = λ u, variances,
projectors and reconstruction errors, never one particular vector.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from helpers import as_array, check, fmt

# Tolerances relative to the largest eigenvalue (float64 round-off is ~1e-16 of it).
EIG_RTOL = 1e-8  # eigen-equation residuals, variances, reconstruction errors
ORTHO_TOL = 1e-8  # entries of U_r^T U_r - I (np.linalg.eig stays ~1e-9 even at relative gaps of 1e-7)
RANK_RTOL = 1e-9  # eigenvalues below this fraction of the largest span the null space


# ----------------------------------------------------------------------------- oracles
def biased_cov(data: np.ndarray) -> np.ndarray:
    """(d, d) covariance divided by N, computed from the centred data."""
    centred = data - data.mean(axis=0)
    return centred.T @ centred / len(data)


def reference_eigenvalues(data: np.ndarray) -> np.ndarray:
    """(d,) eigenvalues of the biased covariance, descending (np.linalg.eigvalsh)."""
    return np.linalg.eigvalsh(biased_cov(data))[::-1]


def scale_of(eigenvalues: np.ndarray) -> float:
    """The largest eigenvalue, floored so that tolerances never collapse to 0."""
    return max(float(np.max(eigenvalues)), 1e-300)


def numerical_rank(eigenvalues: np.ndarray) -> int:
    return int(np.sum(eigenvalues > RANK_RTOL * scale_of(eigenvalues)))


# ----------------------------------------------------------------------------- data
def orthonormal_columns(rng: np.random.Generator, d: int, m: int) -> np.ndarray:
    """(d, m) matrix with orthonormal columns, uniformly random."""
    q, r = np.linalg.qr(rng.normal(size=(d, m)))
    return q * np.sign(np.diag(r))


def data_with_spectrum(rng: np.random.Generator, n: int, d: int, eigenvalues: np.ndarray,
                       offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """N × d data whose biased covariance is exactly ``R diag(eigenvalues) R^T``.

    ``eigenvalues`` has m <= min(N - 1, d) entries; returns (data, R) with R the
    (d, m) orthonormal principal directions. The mean is a random vector of size
    up to ``offset``.
    """
    m = len(eigenvalues)
    z = rng.normal(size=(n, m))
    z -= z.mean(axis=0)
    q, _ = np.linalg.qr(z)  # orthonormal columns, each orthogonal to the ones vector
    directions = orthonormal_columns(rng, d, m)
    centred = np.sqrt(n) * (q * np.sqrt(eigenvalues)) @ directions.T
    return centred + offset * rng.uniform(-1, 1, size=d), directions


@st.composite
def generic_data(draw, n=(2, 30), d=(2, 8), offset=1e3):
    """Correlated Gaussian-like data: N samples, d features with scales 0.1–10, mean up to ``offset``.

    N may be smaller than d (a rank-deficient covariance).
    """
    n_, d_ = draw(st.integers(*n)), draw(st.integers(*d))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scales = 10.0 ** rng.uniform(-1, 1, size=d_)
    data = (rng.normal(size=(n_, d_)) * scales) @ orthonormal_columns(rng, d_, d_).T
    return data + offset * rng.uniform(-1, 1, size=d_)


@st.composite
def separated_data(draw, n=(2, 30), d=(2, 8), offset=1e3, ratio=1.5, full_rank=False):
    """(data, eigenvalues (d,), R (d, m)): known spectrum whose consecutive eigenvalues differ by ≥ ``ratio``×.

    The m = min(N - 1, d) nonzero eigenvalues (m = d when ``full_rank``) are
    separated, so each principal direction is unique up to its sign; the other
    d - m eigenvalues are 0.
    """
    d_ = draw(st.integers(*d))
    low, high = (max(n[0], d_ + 1), max(n[1], d_ + 1)) if full_rank else n
    n_ = draw(st.integers(low, high))
    m = min(n_ - 1, d_)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = 10.0 ** rng.uniform(-2, 2)
    steps = ratio * (1 + rng.random(m))  # ratio..2·ratio between neighbours
    eigenvalues = top / np.cumprod(np.concatenate([[1.0], steps[1:]]))
    data, directions = data_with_spectrum(rng, n_, d_, eigenvalues, offset * np.sqrt(top))
    return data, np.concatenate([eigenvalues, np.zeros(d_ - m)]), directions


# ----------------------------------------------------------------------------- checks
def unpack(result: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(U, eigenvalues) from what train_PCA returned, with shape, dtype and finiteness checked."""
    __tracebackhide__ = True
    check(isinstance(result, (tuple, list)) and len(result) == 2,
          f"train_PCA should return a pair (U, eigenvalues), got {fmt(result, 200)}")
    U = as_array(result[0], "U (first value returned by train_PCA)")
    vals = as_array(result[1], "eigenvalues (second value returned by train_PCA)")
    for arr, name, shape in ((U, "U", (d, d)), (vals, "eigenvalues", (d,))):
        check(not np.iscomplexobj(arr), f"{name} should be real but has dtype {arr.dtype}: np.linalg.eig returns "
                                        f"complex arrays for some covariances; take .real or use np.linalg.eigh")
        check(arr.shape == shape, f"{name} has the wrong shape: expected {shape} for d = {d} features, got {arr.shape}"
                                  + (" (eigenvectors must be the columns of a d × d matrix)" if name == "U" else ""))
        check(np.isfinite(arr).all(), f"{name} contains NaN or inf: {fmt(arr)}")
    return U.astype(float), vals.astype(float)


def check_descending(vals: np.ndarray, scale: float) -> None:
    __tracebackhide__ = True
    rises = np.flatnonzero(np.diff(vals) > 1e-12 * scale)
    if rises.size:
        i = int(rises[0])
        check(False, f"eigenvalues must be sorted in descending order, but eigenvalues[{i}] = {float(vals[i])!r} < "
                     f"eigenvalues[{i + 1}] = {float(vals[i + 1])!r}: {fmt(vals)}")


def check_eigenvalues(vals: np.ndarray, expected: np.ndarray, scale: float, what: str = "eigenvalues") -> None:
    """Elementwise match within EIG_RTOL of the largest eigenvalue."""
    __tracebackhide__ = True
    err = np.abs(vals - expected)
    bad = np.flatnonzero(err > EIG_RTOL * scale + 1e-7 * np.abs(expected))
    check(bad.size == 0, f"{what} are wrong (first mismatch at index {bad[:1].tolist()}): expected the eigenvalues of "
                         f"the covariance divided by N\n  expected: {fmt(expected)}\n  actual:   {fmt(vals)}")


def check_orthonormal(U: np.ndarray, r: int, what: str = "U") -> None:
    """The first r columns are orthonormal."""
    __tracebackhide__ = True
    if r == 0:
        return
    gram = U[:, :r].T @ U[:, :r]
    err = np.abs(gram - np.eye(r))
    i, j = np.unravel_index(np.argmax(err), err.shape)
    check(err.max() <= ORTHO_TOL, f"the first {r} columns of {what} should be orthonormal, but column {i} · column {j} = "
                                  f"{float(gram[i, j])!r} (expected {float(i == j)})\n  U^T U = {fmt(gram)}")


def check_eigen_equation(cov: np.ndarray, U: np.ndarray, vals: np.ndarray, scale: float, columns=None) -> None:
    """C u_k = λ_k u_k for each column k (all columns unless given)."""
    __tracebackhide__ = True
    columns = range(U.shape[1]) if columns is None else columns
    for k in columns:
        u = U[:, k]
        res = np.linalg.norm(cov @ u - vals[k] * u)
        check(res <= EIG_RTOL * scale * max(1.0, np.linalg.norm(u)),
              f"column {k} of U is not an eigenvector of the covariance (divided by N) for eigenvalues[{k}] = "
              f"{float(vals[k])!r}: |C u - λ u| = {res:.3g}, expected ≈ 0 (largest eigenvalue {scale:.6g}); "
              f"C u / u = {fmt((cov @ u)[:6] / np.where(u[:6] == 0, np.nan, u[:6]))} (should all equal λ)"
              + ("; is U transposed (eigenvectors in rows)?" if np.linalg.norm(cov @ U[k] - vals[k] * U[k]) <= EIG_RTOL * scale else ""))


def check_null_columns(cov: np.ndarray, U: np.ndarray, r: int, scale: float) -> None:
    """Columns r: lie in the covariance's null space and have at most unit length."""
    __tracebackhide__ = True
    for k in range(r, U.shape[1]):
        u = U[:, k]
        norm, res = np.linalg.norm(u), np.linalg.norm(cov @ u)
        check(norm <= 1 + ORTHO_TOL, f"column {k} of U has length {float(norm)!r}; eigenvectors are unit vectors")
        check(res <= EIG_RTOL * scale, f"column {k} of U (eigenvalue ≈ 0) should lie in the covariance's null space, "
                                       f"but |C u| = {res:.3g} (largest eigenvalue {scale:.6g})")


def check_pca_output(data: np.ndarray, result: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every promise of train_PCA about ``data``: shapes, real, descending, C u = λ u, orthonormal, null space."""
    __tracebackhide__ = True
    d = data.shape[1]
    U, vals = unpack(result, d)
    cov = biased_cov(data)
    ref = reference_eigenvalues(data)
    scale, r = scale_of(ref), numerical_rank(ref)
    check_descending(vals, scale)
    check_eigenvalues(vals, ref, scale)
    check_orthonormal(U, r)
    check_eigen_equation(cov, U, vals, scale, range(r))
    check_null_columns(cov, U, r, scale)
    return U, vals


def check_same_direction(u: np.ndarray, v: np.ndarray, what: str, tol: float = 1e-6) -> None:
    """u = ±v (unit vectors): |u · v| ≈ 1, either sign accepted."""
    __tracebackhide__ = True
    cos = abs(float(u @ v)) / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-300)
    check(cos >= 1 - tol, f"{what}: directions differ (|cos angle| = {cos:.9f}, expected 1 up to sign)\n"
                          f"  expected ±{fmt(v)}\n  actual:   {fmt(u)}")


def check_same_subspace(A: np.ndarray, B: np.ndarray, what: str, tol: float = 1e-6) -> None:
    """span(A) = span(B) for matrices with orthonormal columns: equal projectors A A^T = B B^T."""
    __tracebackhide__ = True
    diff = np.abs(A @ A.T - B @ B.T).max() if A.size else 0.0
    check(diff <= tol, f"{what}: the spanned subspaces differ (largest entry of the projector difference {diff:.3g})")


def reconstruction_errors(data: np.ndarray, U: np.ndarray) -> np.ndarray:
    """(d + 1,) mean squared reconstruction error with the first k columns of U, k = 0..d (computed here)."""
    centred = data - data.mean(axis=0)
    errors = []
    for k in range(U.shape[1] + 1):
        rest = centred - (centred @ U[:, :k]) @ U[:, :k].T
        errors.append(float(np.einsum("nd,nd->", rest, rest)) / len(data))
    return np.array(errors)


def discarded_sums(eigenvalues: np.ndarray) -> np.ndarray:
    """(d + 1,) sum of eigenvalues k.. for k = 0..d (the PCA reconstruction error)."""
    return np.concatenate([np.cumsum(eigenvalues[::-1])[::-1], [0.0]])
