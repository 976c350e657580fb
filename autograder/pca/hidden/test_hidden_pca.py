"""Hidden tests of the PCA assignment: cases students do not see.

CANARY-pca-3b9e14: this string must never appear in anything a student receives.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from helpers import check, check_close, check_shape
from pca_support import (EIG_RTOL, check_eigenvalues, check_orthonormal, check_pca_output, check_same_direction,
                         check_same_subspace, data_with_spectrum, discarded_sums, orthonormal_columns,
                         reconstruction_errors, separated_data, unpack)

ASSIGNMENT = "pca"


def faces() -> np.ndarray:
    """The 100 faces of scikit-image's LFW subset as (100, 625) rows, values in [0, 1]."""
    from skimage.data import lfw_subset

    return lfw_subset()[:100].reshape(100, -1)


@st.composite
def wide_data(draw, n=(2, 12), extra=(0, 40), offset=10.0):
    """(data, eigenvalues (d,), R (d, m)) with d >= N: m = N - 1 separated eigenvalues, d - m zeros."""
    n_ = draw(st.integers(*n))
    d_ = n_ + draw(st.integers(*extra))
    return draw(separated_data(n=(n_, n_), d=(d_, d_), offset=offset))


class TestMorePixelsThanImages:
    @given(wide_data())
    def test_known_spectrum_with_more_features_than_samples(self, impl, case):
        """d >= N: U is d × d; N-1 orthonormal eigenvectors (up to sign) with the known eigenvalues, then C's null space with eigenvalue 0."""
        data, eigenvalues, directions = case
        d, m = data.shape[1], directions.shape[1]
        U, vals = check_pca_output(data, impl.train_PCA(data))
        check_eigenvalues(vals, eigenvalues, eigenvalues[0], "eigenvalues (the last d - N + 1 should be 0)")
        for k in range(m):
            check_same_direction(U[:, k], directions[:, k], f"column {k} of U vs the known principal direction")
        err = reconstruction_errors(data, U[:, :m])[m]
        check_close(err, 0.0, f"reconstruction error with the first N-1 = {m} columns (should be 0: the data span "
                    "only N-1 directions)", rtol=0, atol=EIG_RTOL * eigenvalues[0])

    @settings(max_examples=6)
    @given(st.integers(10, 100))
    def test_faces(self, impl, n):
        """The first N faces of the LFW subset (625 pixels, N <= 100): every promise holds and scikit-learn's eigenvalues match."""
        data = faces()[:n]
        U, vals = check_pca_output(data, impl.train_PCA(data))
        ref = PCA(svd_solver="full").fit(data)
        check_eigenvalues(vals[:n - 1], ref.explained_variance_[:n - 1] * (n - 1) / n,
                          ref.explained_variance_[0],
                          "eigenvalues of the faces vs scikit-learn's explained_variance_ · (N-1)/N")


class TestMorePixelsThanImagesProjection:
    @given(wide_data(), st.data())
    def test_project_and_reconstruct_with_more_features_than_samples(self, impl, case, draw):
        """d >= N: codes of shape (N, k), and reconstructing from k >= N-1 codes gives the data back."""
        data, eigenvalues, directions = case
        n, d = data.shape
        m = directions.shape[1]
        mean = data.mean(axis=0)
        U = np.linalg.svd(directions, full_matrices=True)[0]  # d × d orthogonal, first m columns span the data
        k = draw.draw(st.integers(m, d), label="k")
        codes = check_shape(impl.pca_project(data, mean, U, k), (n, k), f"pca_project(data, mean, U, k={k})")
        check_close(codes, (data - mean) @ U[:, :k], f"pca_project with d = {d} >= N = {n}", rtol=1e-9,
                    atol=1e-9 * np.abs(data).max())
        rec = check_shape(impl.pca_reconstruct(codes, mean, U), (n, d), "pca_reconstruct")
        check_close(rec, data, f"reconstruction from k = {k} >= N-1 codes (should be the data)", rtol=1e-9,
                    atol=1e-9 * np.abs(data).max())


@st.composite
def near_repeated(draw, n=(2, 30), d=(2, 8)):
    """(data, eigenvalues (d,), clusters): groups of eigenvalues whose relative gaps are 1e-6 to 1e-4."""
    d_ = draw(st.integers(*d))
    n_ = draw(st.integers(*n))
    m = min(n_ - 1, d_)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes, left = [], m
    while left:
        sizes.append(int(rng.integers(1, min(3, left) + 1)))
        left -= sizes[-1]
    base = 10.0 ** rng.uniform(-1, 1) / np.cumprod(2 + rng.random(len(sizes)))
    eigenvalues, clusters, start = [], [], 0
    for b, size in zip(base, sizes):
        gap = 10.0 ** rng.uniform(-6, -4)
        eigenvalues += [b * (1 - gap * j) for j in range(size)]
        clusters.append((start, start + size))
        start += size
    eigenvalues = np.array(eigenvalues)
    data, directions = data_with_spectrum(rng, n_, d_, eigenvalues, offset=10.0)
    return data, np.concatenate([eigenvalues, np.zeros(d_ - m)]), directions, clusters


class TestNearRepeated:
    @given(near_repeated())
    def test_nearly_equal_eigenvalues(self, impl, case):
        """Eigenvalues within 1e-6 to 1e-4 of each other: the right eigenvalues, orthonormal columns spanning each group's eigenspace."""
        data, eigenvalues, directions, clusters = case
        d, m = data.shape[1], directions.shape[1]
        U, vals = unpack(impl.train_PCA(data), d)
        check_eigenvalues(vals, eigenvalues, eigenvalues[0])
        check_orthonormal(U, m)
        for a, b in clusters:
            check_same_subspace(U[:, a:b], directions[:, a:b], f"columns {a}..{b - 1} of U (eigenvalues "
                                f"{eigenvalues[a]:.9g} … {eigenvalues[b - 1]:.9g})")
        bounds = [0] + [b for _, b in clusters]
        check_close(reconstruction_errors(data, U)[bounds], discarded_sums(eigenvalues)[bounds],
                    f"reconstruction errors with k = {bounds} components", rtol=0, atol=EIG_RTOL * d * eigenvalues[0])


class TestLargeOffset:
    @given(separated_data(n=(2, 30), d=(2, 6), offset=1e6))
    def test_data_far_from_the_origin(self, impl, case):
        """A mean a million times the spread: the eigenvalues and directions of the centred data, to 1e-8 of the largest eigenvalue."""
        data, eigenvalues, directions = case
        U, vals = check_pca_output(data, impl.train_PCA(data))
        check_eigenvalues(vals, eigenvalues, eigenvalues[0])
        for k in range(directions.shape[1]):
            check_same_direction(U[:, k], directions[:, k], f"column {k} of U vs the known principal direction")

    @given(separated_data(n=(10, 30), d=(2, 6), offset=1e6, full_rank=True))
    def test_many_samples_far_from_the_origin(self, impl, case):
        """N > d with a mean a million times the spread: the eigenvalues of the centred data (no E[x xᵀ] - μ μᵀ cancellation)."""
        data, eigenvalues, directions = case
        U, vals = check_pca_output(data, impl.train_PCA(data))
        check_eigenvalues(vals, eigenvalues, eigenvalues[0])


class TestLargeOffsetProjection:
    @given(separated_data(n=(2, 30), d=(2, 6), offset=1e6), st.integers(0, 2**32 - 1))
    def test_project_and_reconstruct_far_from_the_origin(self, impl, case, seed):
        """Data around 1e6: project then reconstruct with k = d and an orthogonal U returns the data to 1e-9 of its spread."""
        data, eigenvalues, _ = case
        n, d = data.shape
        mean = data.mean(axis=0)
        U = orthonormal_columns(np.random.default_rng(seed), d, d)
        codes = check_shape(impl.pca_project(data, mean, U, d), (n, d), "pca_project(data, mean, U, k=d)")
        check_close(codes, (data - mean) @ U, "codes of data far from the origin", rtol=0,
                    atol=1e-9 * np.sqrt(eigenvalues[0]) * d)
        rec = check_shape(impl.pca_reconstruct(codes, mean, U), (n, d), "pca_reconstruct")
        check_close(rec, data, "reconstruction with all d components", rtol=0, atol=1e-9 * np.sqrt(eigenvalues[0]) * d)
        check(np.isfinite(rec).all(), "reconstruction contains NaN or inf")
