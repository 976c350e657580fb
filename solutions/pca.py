"""Principal component analysis by eigen-decomposition of the covariance, and eigenfaces.

Every function takes float64 arrays with one sample per row and never modifies
its arguments. The covariance is the biased one (divided by N, like
``np.cov(data, rowvar=False, bias=True)``); its eigenvectors are the principal
directions and its eigenvalues the variances of the data along them.
"""
from __future__ import annotations

import numpy as np


def train_PCA(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of the covariance of the centred data.

    Parameters
    ----------
    data : ndarray of shape (N, d)
        N samples (rows) of d features, e.g. N flattened face images of d pixels.

    Returns
    -------
    U : ndarray of shape (d, d), real
        Column k is a unit eigenvector of the covariance C for ``eigenvalues[k]``.
        Each column's sign is free, and so is the basis inside the eigenspace of a
        repeated eigenvalue. When N <= d the last columns span C's null space.
    eigenvalues : ndarray of shape (d,), real
        The eigenvalues of C in descending order (those of the null space are 0
        up to round-off).

    Notes
    -----
    ``C = (data - mean).T @ (data - mean) / N`` with ``mean = data.mean(axis=0)``.
    """
    data = np.asarray(data, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"data should be a 2-D array (N samples, d features), got shape {data.shape}")
    # BEGIN SOLUTION: centre the data, eigen-decompose the (d, d) covariance divided by N (np.linalg.eigh), and sort eigenvalues and eigenvectors (columns) in descending order
    n, d = data.shape
    mean = data.mean(axis=0)
    centred = data - mean
    if n > d:
        # More samples than features: eigen-decompose the d x d covariance directly.
        cov = centred.T @ centred / n
        eigenvalues, U = np.linalg.eigh(cov)  # ascending, orthonormal columns
        order = np.argsort(eigenvalues)[::-1]
        return U[:, order], eigenvalues[order]
    # N <= d (images: more pixels than pictures). Forming and decomposing the d x d
    # covariance costs O(d^3) (seconds for 64 x 64 images); the SVD of the centred
    # data, centred = A diag(s) Vt, gives the same eigenvectors (rows of Vt) and
    # eigenvalues s**2 / N at O(N^2 d). The other d - N eigenvalues are 0.
    # The SVD goes through a QR of the tall centred.T = q r (faster than
    # np.linalg.svd on a wide matrix): centred = r.T q.T and r.T = A diag(s) Z.
    q, r = np.linalg.qr(centred.T)
    _, s, z = np.linalg.svd(r.T)
    vt = z @ q.T
    eigenvalues = np.zeros(d)
    eigenvalues[:n] = s**2 / n
    return _complete_basis(vt), eigenvalues
    # END SOLUTION


def _complete_basis(vt: np.ndarray) -> np.ndarray:
    """(d, d) orthogonal matrix whose first r columns are the r orthonormal rows of ``vt``.

    A helper you may use, not required: when N <= d, a fast way to the eigenvectors
    is the SVD of the centred data, whose N right singular vectors (rows of ``vt``)
    this completes to a full d x d U (the extra columns span C's null space).

    The other d - r columns come from a block Householder reflector, built with
    one (d - r, r) x (r, d) product instead of an O(d^3) QR or SVD. With
    V = vt.T and its top r x r block V[:r] = a diag(sigma) b (SVD, 0 <= sigma <= 1),
    rotate V's basis by Q = b^T a^T so that S = (V Q)[:r] = a diag(sigma) a^T is
    symmetric positive semi-definite, and let W = E + V Q (E: the first r columns
    of the identity). Then W^T W = 2 (I + S) and the reflector
    H = I - 2 W (W^T W)^{-1} W^T = I - P diag(1 / (1 + sigma)) P^T, P = W a,
    maps E to -V Q: its last d - r columns are orthonormal and orthogonal to V.
    """
    r, d = vt.shape
    ut = np.empty((d, d))  # U transposed: its rows are written contiguously
    ut[:r] = vt
    if r == d:
        return ut.T
    a, sigma, b = np.linalg.svd(vt[:, :r].T)
    p = vt.T @ b.T  # P = W a = V b^T + E a
    p[:r] += a
    np.matmul(p[r:] / -(1.0 + sigma), p.T, out=ut[r:])  # rows r: of H (symmetric) without the identity
    ut.reshape(-1)[r * (d + 1)::d + 1] += 1.0  # + I on the diagonal of rows r:
    return ut.T


def pca_project(data: np.ndarray, mean: np.ndarray, U: np.ndarray, k: int) -> np.ndarray:
    """Coordinates of the centred data along the first k principal directions.

    Parameters
    ----------
    data : ndarray of shape (N, d)
    mean : ndarray of shape (d,)
        The mean that was removed before training (``data_train.mean(axis=0)``).
    U : ndarray of shape (d, d)
        Principal directions as columns (from ``train_PCA``).
    k : int
        Number of components to keep, ``0 <= k <= d``.

    Returns
    -------
    codes : ndarray of shape (N, k)
        ``(data - mean) @ U[:, :k]``.
    """
    # BEGIN SOLUTION: subtract the mean and multiply by the first k columns of U
    return (np.asarray(data, dtype=float) - mean) @ np.asarray(U, dtype=float)[:, :k]
    # END SOLUTION


def pca_reconstruct(codes: np.ndarray, mean: np.ndarray, U: np.ndarray) -> np.ndarray:
    """Map codes back to data space: the best rank-k approximation of the data.

    Parameters
    ----------
    codes : ndarray of shape (N, k)
        Coordinates along the first k principal directions (from ``pca_project``).
    mean : ndarray of shape (d,)
    U : ndarray of shape (d, d)
        Principal directions as columns.

    Returns
    -------
    reconstruction : ndarray of shape (N, d)
        ``codes @ U[:, :k].T + mean`` with ``k = codes.shape[1]``.
    """
    # BEGIN SOLUTION: combine the first k columns of U (k = codes.shape[1]) with the codes as weights, then add the mean back
    codes = np.asarray(codes, dtype=float)
    k = codes.shape[1]
    return codes @ np.asarray(U, dtype=float)[:, :k].T + mean
    # END SOLUTION
