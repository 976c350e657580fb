"""Public property tests of the PCA assignment (pca.py).

Each class is one graded part (see course.yml). Run them on your file with
``pytest`` from the handout folder.

The sign of every eigenvector is free (u and -u are both eigenvectors), and so
is the basis of the null space when N <= d: the tests check the eigen-equation
C u = λ u, variances and reconstruction errors, never one particular vector.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sklearn.decomposition import PCA

from helpers import call_unmodified, check_close, check_shape
from pca_support import (EIG_RTOL, biased_cov, check_descending, check_eigen_equation, check_eigenvalues,
                         check_orthonormal, check_pca_output, check_same_direction, discarded_sums, generic_data,
                         numerical_rank, reconstruction_errors, reference_eigenvalues, scale_of, separated_data,
                         unpack)

ASSIGNMENT = "pca"


class TestTrainPCA:
    @given(generic_data(n=(10, 40), d=(2, 8)))
    def test_U_is_real_and_orthonormal(self, impl, data):
        """With more samples than features, U is a real d × d matrix with orthonormal columns and the eigenvalues are real and descending."""
        d = data.shape[1]
        U, vals = unpack(impl.train_PCA(data), d)
        scale = scale_of(reference_eigenvalues(data))
        check_orthonormal(U, d)
        check_descending(vals, scale)

    @given(generic_data())
    def test_eigenvalues_are_those_of_the_biased_covariance(self, impl, data):
        """The eigenvalues are those of the covariance divided by N (np.cov(..., bias=True)), descending, and sum to its trace."""
        U, vals = unpack(impl.train_PCA(data), data.shape[1])
        ref = reference_eigenvalues(data)
        scale = scale_of(ref)
        check_descending(vals, scale)
        check_close(vals.sum(), np.trace(biased_cov(data)), "sum of the eigenvalues (should be the trace of the "
                    "covariance divided by N)", rtol=1e-9, atol=1e-12 * scale)
        check_eigenvalues(vals, ref, scale)

    @given(generic_data())
    def test_columns_satisfy_the_eigen_equation(self, impl, data):
        """Each column u_k of U satisfies C u_k = λ_k u_k for the biased covariance C (either sign of u_k)."""
        U, vals = unpack(impl.train_PCA(data), data.shape[1])
        ref = reference_eigenvalues(data)
        check_eigen_equation(biased_cov(data), U, vals, scale_of(ref), range(numerical_rank(ref)))

    @given(generic_data())
    def test_every_promise_holds_even_when_N_is_small(self, impl, data):
        """All properties together, including N <= d: the first rank(C) columns are orthonormal eigenvectors, the rest lie in C's null space."""
        check_pca_output(data, impl.train_PCA(data))

    @given(generic_data())
    def test_projection_variances_are_the_eigenvalues(self, impl, data):
        """The variance of the data projected on column k is λ_k, and projections on different columns are uncorrelated."""
        d = data.shape[1]
        U, vals = unpack(impl.train_PCA(data), d)
        scale = scale_of(reference_eigenvalues(data))
        scores = (data - data.mean(axis=0)) @ U
        check_close(scores.T @ scores / len(data), np.diag(vals), "covariance of the projections (data - mean) @ U "
                    "(should be diag(eigenvalues))", rtol=0, atol=EIG_RTOL * scale)

    @given(generic_data())
    def test_reconstruction_error_is_the_sum_of_discarded_eigenvalues(self, impl, data):
        """Keeping the first k columns, the mean squared reconstruction error is the sum of the other eigenvalues (0 for k = d)."""
        d = data.shape[1]
        U, _ = unpack(impl.train_PCA(data), d)
        ref = reference_eigenvalues(data)
        check_close(reconstruction_errors(data, U), discarded_sums(ref),
                    "reconstruction error with the first k columns of U, k = 0..d (should be the sum of the "
                    "eigenvalues k..d-1)", rtol=0, atol=EIG_RTOL * d * scale_of(ref))

    @given(separated_data(), st.integers(0, 2**32 - 1))
    def test_translating_the_data_changes_nothing(self, impl, case, seed):
        """Adding a constant vector to every sample leaves the eigenvalues and the directions (up to sign) unchanged."""
        data, eigenvalues, _ = case
        d, m = data.shape[1], numerical_rank(eigenvalues)
        shift = 1e3 * np.sqrt(eigenvalues[0]) * np.random.default_rng(seed).uniform(-1, 1, size=d)
        U1, vals1 = unpack(impl.train_PCA(data), d)
        U2, vals2 = unpack(impl.train_PCA(data + shift), d)
        check_close(vals2, vals1, "eigenvalues after translating the data", rtol=0, atol=EIG_RTOL * eigenvalues[0])
        for k in range(m):
            check_same_direction(U2[:, k], U1[:, k], f"column {k} of U after translating the data")

    @given(separated_data())
    def test_agrees_with_scikit_learn(self, impl, case):
        """Eigenvalues = scikit-learn's explained_variance_ · (N-1)/N, and columns of U = rows of components_ up to sign."""
        data, eigenvalues, _ = case
        n, d = data.shape
        m = numerical_rank(eigenvalues)
        U, vals = unpack(impl.train_PCA(data), d)
        ref = PCA(svd_solver="full").fit(data)
        check_eigenvalues(vals[:m], ref.explained_variance_[:m] * (n - 1) / n, eigenvalues[0],
                          "eigenvalues vs scikit-learn's explained_variance_ · (N-1)/N")
        for k in range(m):
            check_same_direction(U[:, k], ref.components_[k], f"column {k} of U vs scikit-learn's components_[{k}]")

    @given(generic_data())
    def test_data_is_not_modified(self, impl, data):
        """train_PCA leaves its argument unchanged."""
        call_unmodified(impl, "train_PCA", data)


@st.composite
def projection_case(draw, n=(1, 20), d=(1, 8)):
    """(data, mean, U, k): arbitrary data and mean, an arbitrary (not orthogonal) d × d U, 0 <= k <= d."""
    n_, d_ = draw(st.integers(*n)), draw(st.integers(*d))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = rng.normal(size=(n_, d_)) * 10 + rng.uniform(-100, 100, size=d_)
    return data, rng.normal(size=d_) * 100, rng.normal(size=(d_, d_)), draw(st.integers(0, d_))


class TestPcaProject:
    @given(projection_case())
    def test_codes_are_centred_data_times_the_first_k_columns(self, impl, case):
        """pca_project returns (data - mean) @ U[:, :k], shape (N, k), for any U."""
        data, mean, U, k = case
        expected = (data - mean) @ U[:, :k]
        got = check_shape(impl.pca_project(data, mean, U, k), expected.shape, f"pca_project(data, mean, U, k={k})")
        check_close(got, expected, f"pca_project(data, mean, U, k={k})", rtol=1e-9, atol=1e-9 * np.abs(expected).max(initial=1))

    @given(generic_data())
    def test_codes_of_the_training_data_have_the_eigenvalues_as_variances(self, impl, data):
        """Projected on principal directions (from np.linalg.eigh here), the training data has mean 0 and variances λ_k."""
        mean = data.mean(axis=0)
        vals, vecs = np.linalg.eigh(biased_cov(data))
        U, vals = vecs[:, ::-1], vals[::-1]
        d = data.shape[1]
        codes = check_shape(impl.pca_project(data, mean, U, d), data.shape, "pca_project(data, mean, U, k=d)")
        scale = scale_of(vals)
        check_close(codes.mean(axis=0), np.zeros(d), "mean of the codes of the training data", rtol=0,
                    atol=1e-9 * np.sqrt(scale))
        check_close((codes**2).mean(axis=0), vals, "variance of each code (should be the eigenvalues)", rtol=0,
                    atol=EIG_RTOL * scale)

    @given(projection_case())
    def test_arguments_are_not_modified(self, impl, case):
        """pca_project leaves data, mean and U unchanged."""
        call_unmodified(impl, "pca_project", *case)


class TestPcaReconstruct:
    @given(projection_case())
    def test_reconstruction_is_codes_times_the_first_k_columns_plus_mean(self, impl, case):
        """pca_reconstruct returns codes @ U[:, :k].T + mean with k = codes.shape[1], for any U."""
        data, mean, U, k = case
        codes = data[:, :k] + 1.0
        expected = codes @ U[:, :k].T + mean
        got = check_shape(impl.pca_reconstruct(codes, mean, U), expected.shape,
                          f"pca_reconstruct(codes of shape {codes.shape}, mean, U)")
        check_close(got, expected, "pca_reconstruct(codes, mean, U)", rtol=1e-9,
                    atol=1e-9 * np.abs(expected).max(initial=1))

    @given(generic_data(), st.data())
    def test_reconstruction_error_is_the_sum_of_discarded_eigenvalues(self, impl, data, draw):
        """Reconstructing the training data from k codes leaves a mean squared error of λ_k + … + λ_d; k = d gives the data back."""
        mean = data.mean(axis=0)
        vals, vecs = np.linalg.eigh(biased_cov(data))
        U, vals = vecs[:, ::-1], vals[::-1]
        n, d = data.shape
        k = draw.draw(st.integers(0, d), label="k")
        codes = (data - mean) @ U[:, :k]
        rec = check_shape(impl.pca_reconstruct(codes, mean, U), data.shape, f"pca_reconstruct with k = {k}")
        err = float(((data - rec) ** 2).sum()) / n
        scale = scale_of(vals)
        check_close(err, vals[k:].sum(), f"mean squared reconstruction error with k = {k} of d = {d} components "
                    "(should be the sum of the discarded eigenvalues)", rtol=0, atol=EIG_RTOL * d * scale)
        if k == d:
            check_close(rec, data, "reconstruction with all d components (should be the data)", rtol=1e-9,
                        atol=1e-9 * np.abs(data).max())

    @given(projection_case())
    def test_arguments_are_not_modified(self, impl, case):
        """pca_reconstruct leaves codes, mean and U unchanged."""
        data, mean, U, k = case
        call_unmodified(impl, "pca_reconstruct", data[:, :k] + 1.0, mean, U)
