"""Hidden tests of the K-Means assignment: cases students do not see.

CANARY-kmeans-7f3a9c: this string must never appear in anything a student receives.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans

from helpers import check, check_close, check_shape, fmt
from kmeans_support import loss_fn, quantize_fn, train_fn
from strategies import blobs, point_sets

ASSIGNMENT = "kmeans"


def sqdist(data, centroids):
    diff = data[:, None, :] - centroids[None, :, :]
    return (diff**2).sum(-1)


class TestFarInit:
    @given(point_sets(n=(2, 30), k=(2, 4), scale=10.0))
    def test_far_away_centroids_stay_put(self, impl, case):
        """All but one initial centroid far from every point: they own nothing and must not move."""
        data, cents = case
        cents = cents.copy()
        cents[1:] += 1e4
        out = check_shape(train_fn(impl)(data, cents, num_iterations=20), cents.shape, "train_kmeans")
        check(np.isfinite(out).all(), f"non-finite centroids: {fmt(out)}")
        check_close(out[1:], cents[1:], "far-away centroids (own no points)", rtol=0, atol=0)
        check_close(out[0], data.mean(0), "the one centroid that owns every point", rtol=1e-9, atol=1e-9)

    @given(blobs())
    def test_lloyd_runs_beside_far_centroids(self, impl, case):
        """One centroid per blob plus two far away: the near ones move as Lloyd's algorithm (scikit-learn), the far ones stay."""
        data, init = case
        far = init[:2] + 1e4
        cents = np.concatenate([init, far])
        ref = KMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", max_iter=20, tol=0).fit(data)
        out = check_shape(impl.train_kmeans(data, cents, num_iterations=20), cents.shape, "train_kmeans")
        check_close(out[len(init):], far, "far-away centroids (own no points)", rtol=0, atol=0)
        check_close(out[:len(init)], ref.cluster_centers_, "centroids near the data", rtol=1e-9, atol=1e-9)


class TestLargeOffset:
    @given(blobs(offset=1e6))
    def test_data_far_from_the_origin(self, impl, case):
        """Clusters around 1e6: same centroids and loss as scikit-learn."""
        data, init = case
        ref = KMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", max_iter=50, tol=0).fit(data)
        out = train_fn(impl)(data, init, num_iterations=50)
        check_close(out, ref.cluster_centers_, "centroids", rtol=1e-9, atol=1e-6)


class TestLossLargeOffset:
    @given(blobs(offset=1e6))
    def test_loss_far_from_the_origin(self, impl, case):
        """kmeans_loss on clusters around 1e6 equals scikit-learn's inertia."""
        data, init = case
        ref = KMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", max_iter=50, tol=0).fit(data)
        check_close(loss_fn(impl)(data, ref.cluster_centers_), ref.inertia_, "kmeans_loss", rtol=1e-6, atol=1e-6)


class TestExactTies:
    @given(st.integers(1, 6), st.integers(1, 3))
    def test_midpoints_go_to_the_lower_index(self, impl, n, d):
        """A point exactly halfway between two centroids belongs to the lower of their indices, in either order."""
        a, b, far = np.zeros((1, d)), 2 * np.ones((1, d)), 50 * np.ones((1, d))
        data = np.ones((n, d))
        cases = ((np.vstack([a, b]), 0), (np.vstack([b, a]), 0), (np.vstack([b, b, a]), 0),
                 (np.vstack([far, a, b]), 1), (np.vstack([far, b, far, a]), 1), (np.vstack([far, far, b, a]), 2))
        for cents, want in cases:
            labels = check_shape(impl.assign_clusters(data, cents), (n,), "assign_clusters")
            check((labels == want).all(), f"midpoint ties should go to index {want}, got {fmt(labels)}")


class TestQuantizeTies:
    def test_quantize_uses_the_lower_index(self, impl):
        """Grey pixels exactly between two palette entries take the first entry."""
        image = np.full((2, 2, 3), 0.5)
        cents = np.array([[0.25, 0.25, 0.25], [0.75, 0.75, 0.75]])
        check_close(quantize_fn(impl)(image, cents), np.full((2, 2, 3), 0.25), "quantize_image on exact ties",
                    rtol=0, atol=0)


class TestBiggerInputs:
    @settings(max_examples=3)
    @given(st.integers(0, 1000))
    def test_thousands_of_pixels_against_scikit_learn(self, impl, seed):
        """20,000 colours in [0, 1]^3, K = 16: centroids and inertia match scikit-learn (the student's whole chain)."""
        rng = np.random.default_rng(seed)
        data = rng.random((20_000, 3))
        init = data[rng.choice(len(data), 16, replace=False)]
        ref = KMeans(n_clusters=16, init=init, n_init=1, algorithm="lloyd", max_iter=10, tol=0).fit(data)
        out = impl.train_kmeans(data, init, num_iterations=10)
        ref_loss = sqdist(data, ref.cluster_centers_).min(1).sum()
        out_loss = sqdist(data, np.asarray(out)).min(1).sum()
        check_close(out_loss, ref_loss, "loss after 10 iterations vs scikit-learn", rtol=1e-6, atol=0)


class TestManyCentroids:
    def test_more_than_65536_centroids(self, impl):
        """A palette of 70,000 colours (K far above N): each point still goes to its nearest centroid."""
        rng = np.random.default_rng(0)
        cents = rng.random((70_000, 3))
        idx = np.array([69_999, 65_536, 0, 12_345, 65_535])
        data = cents[idx]  # every point is exactly one centroid (random centroids: all distinct, none near-tied)
        labels = check_shape(impl.assign_clusters(data, cents), (len(idx),), "assign_clusters")
        check(np.array_equal(labels, idx), f"points equal to centroids {fmt(idx)} were assigned to {fmt(labels)}")
