"""Public property tests of the K-Means assignment (kmeans.py).

Each class is one graded part (see course.yml). Run them on your file with
``pytest`` from the handout folder. The tests of kmeans_loss, train_kmeans and
quantize_image run your function with a correct assign_clusters (and update_centroids)
in place of yours, so a mistake there costs only that function's points; the hidden
tests check your whole chain once, on a bigger input.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.cluster import KMeans

from helpers import call_unmodified, check, check_close, check_shape, fmt
from kmeans_support import loss_fn, quantize_fn, train_fn
from strategies import blobs, point_sets

ASSIGNMENT = "kmeans"


def sqdist(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Exact (N, K) squared distances (differences, not the GEMM expansion)."""
    diff = data[:, None, :] - centroids[None, :, :]
    return (diff**2).sum(-1)


def partition_loss(data: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> float:
    return float(((data - centroids[labels]) ** 2).sum())


def rtol_for(data: np.ndarray) -> float:
    return 1e-12 * max(1.0, float((data**2).sum()))


class TestAssignClusters:
    @given(point_sets())
    def test_every_point_goes_to_a_nearest_centroid(self, impl, case):
        """assign_clusters picks a centroid at minimal squared distance."""
        data, cents = case
        labels = as_int(impl.assign_clusters(data, cents), len(data))
        check_nearest(data, cents, labels)

    @given(point_sets(integer=True, k=(2, 5)))
    def test_exact_ties_go_to_the_lowest_index(self, impl, case):
        """With exact ties (integer data, repeated centroids) the lowest index wins."""
        data, cents = case
        cents = np.concatenate([cents, cents[::-1]])  # every centroid appears twice
        labels = as_int(impl.assign_clusters(data, cents), len(data))
        check_nearest(data, cents, labels)  # a wrong centroid is reported as such, not as a tie
        expected = sqdist(data, cents).argmin(axis=1)
        check(np.array_equal(labels, expected), f"ties should go to the lowest index of the nearest centroids\n"
                                                f"  expected labels: {fmt(expected)}\n  actual labels:   {fmt(labels)}")

    @given(point_sets())
    def test_assignment_never_increases_the_loss(self, impl, case):
        """Reassigning points to their nearest centroid cannot increase the loss."""
        data, cents = case
        before = partition_loss(data, np.zeros(len(data), int), cents)
        labels = as_int(impl.assign_clusters(data, cents), len(data))
        after = partition_loss(data, labels, cents)
        check(after <= before + rtol_for(data), f"loss rose from {before} to {after} after assign_clusters")

    @given(point_sets())
    def test_arguments_are_not_modified(self, impl, case):
        """assign_clusters leaves data and centroids unchanged."""
        call_unmodified(impl, "assign_clusters", *case)


def check_nearest(data: np.ndarray, cents: np.ndarray, labels: np.ndarray) -> None:
    """Fail unless every label is in range and names a centroid at minimal squared distance."""
    check(((labels >= 0) & (labels < len(cents))).all(), f"labels outside range(K={len(cents)}): {fmt(labels)}")
    d = sqdist(data, cents)
    got = d[np.arange(len(data)), labels]
    best = d.min(axis=1)
    bad = np.flatnonzero(got > best + 1e-9 * (1 + best))
    if bad.size:
        i = int(bad[0])
        raise AssertionError(f"point {i} is not assigned to its nearest centroid: label {int(labels[i])} at squared "
                             f"distance {float(got[i])!r}, but centroid {int(d[i].argmin())} is at {float(best[i])!r}")


def as_int(labels, n: int) -> np.ndarray:
    arr = check_shape(labels, (n,), "labels")
    check(np.issubdtype(arr.dtype, np.integer), f"labels should be integers, got dtype {arr.dtype}")
    return arr


class TestUpdateCentroids:
    @given(point_sets(), st.data())
    def test_centroids_are_means_and_empty_clusters_stay(self, impl, case, draw):
        """Each centroid moves to the mean of its points; one without points keeps its place."""
        data, cents = case
        labels = np.array(draw.draw(st.lists(st.integers(0, len(cents) - 1), min_size=len(data), max_size=len(data))))
        got = impl.update_centroids(data, labels, cents)
        expected = cents.copy()
        for k in range(len(cents)):
            if (labels == k).any():
                expected[k] = data[labels == k].mean(axis=0)
        check_close(got, expected, "update_centroids(data, labels, centroids)", rtol=1e-9, atol=1e-9)

    @given(point_sets(k=(2, 5)))
    def test_a_cluster_with_no_points_keeps_its_centroid(self, impl, case):
        """All points in cluster 0: every other centroid is returned unchanged (no NaN)."""
        data, cents = case
        got = check_shape(impl.update_centroids(data, np.zeros(len(data), dtype=int), cents), cents.shape, "update_centroids")
        check(np.isfinite(got).all(), f"empty clusters produced non-finite centroids: {fmt(got)}")
        check_close(got[1:], cents[1:], "centroids of empty clusters", rtol=0, atol=0)

    @given(point_sets())
    def test_update_never_increases_the_loss(self, impl, case):
        """Moving centroids to the means cannot increase the loss of a fixed assignment."""
        data, cents = case
        labels = sqdist(data, cents).argmin(1)
        new = check_shape(impl.update_centroids(data, labels, cents), cents.shape, "update_centroids")
        before, after = partition_loss(data, labels, cents), partition_loss(data, labels, new)
        check(after <= before + rtol_for(data), f"loss rose from {before} to {after} after update_centroids")

    @given(point_sets())
    def test_arguments_are_not_modified(self, impl, case):
        """update_centroids leaves data, labels and centroids unchanged."""
        data, cents = case
        call_unmodified(impl, "update_centroids", data, sqdist(data, cents).argmin(1), cents)


class TestKmeansLoss:
    @given(point_sets())
    def test_loss_is_the_sum_of_squared_distances(self, impl, case):
        """kmeans_loss = sum over points of the squared distance to the nearest centroid."""
        data, cents = case
        got = loss_fn(impl)(data, cents)
        check(np.ndim(got) == 0, f"kmeans_loss should return one number, got {fmt(got)}")
        check_close(got, sqdist(data, cents).min(1).sum(), "kmeans_loss(data, centroids)", rtol=1e-9, atol=1e-9)

    @given(point_sets())
    def test_arguments_are_not_modified(self, impl, case):
        """kmeans_loss leaves its arguments unchanged."""
        call_unmodified(impl, "kmeans_loss", *case)


class TestTrainKmeans:
    @given(point_sets(n=(2, 25), k=(1, 4)))
    def test_returns_a_fixed_point(self, impl, case):
        """At return every point is at a nearest centroid and each non-empty centroid is its points' mean."""
        data, cents = case
        out = check_shape(train_fn(impl)(data, cents, num_iterations=300), cents.shape, "train_kmeans")
        d = sqdist(data, out)
        srt = np.sort(d, axis=1)
        assume(d.shape[1] == 1 or (srt[:, 1] - srt[:, 0] > 1e-6 * (1 + srt[:, 0])).all())  # no near-ties
        labels = d.argmin(1)
        expected = out.copy()
        for k in range(len(out)):
            if (labels == k).any():
                expected[k] = data[labels == k].mean(axis=0)
        check_close(out, expected, "centroids returned by train_kmeans (should equal the means of their points)",
                    rtol=1e-9, atol=1e-6)

    @given(point_sets(n=(2, 25), k=(1, 4)))
    def test_one_iteration_is_one_assign_and_update(self, impl, case):
        """num_iterations=1 performs exactly one assignment and one update."""
        data, cents = case
        labels = sqdist(data, cents).argmin(1)
        srt = np.sort(sqdist(data, cents), axis=1)
        assume(srt.shape[1] == 1 or (srt[:, 1] - srt[:, 0] > 1e-6 * (1 + srt[:, 0])).all())
        expected = cents.copy()
        for k in range(len(cents)):
            if (labels == k).any():
                expected[k] = data[labels == k].mean(axis=0)
        check_close(train_fn(impl)(data, cents, num_iterations=1), expected,
                    "train_kmeans(data, centroids, num_iterations=1)", rtol=1e-9, atol=1e-6)

    @given(blobs(), st.randoms(use_true_random=False))
    def test_row_order_does_not_matter(self, impl, case, rnd):
        """Shuffling the rows of the data leaves the trained centroids unchanged."""
        data, init = case
        perm = list(range(len(data)))
        rnd.shuffle(perm)
        a = train_fn(impl)(data, init)
        b = train_fn(impl)(data[perm], init)
        check_close(b, a, "centroids after shuffling the data rows", rtol=1e-9, atol=1e-9)

    @given(blobs())
    def test_agrees_with_scikit_learn(self, impl, case):
        """Same centroids and inertia as scikit-learn's KMeans (lloyd, n_init=1, same start)."""
        data, init = case
        ref = KMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", max_iter=50, tol=0).fit(data)
        out = train_fn(impl)(data, init, num_iterations=50)
        check_close(out, ref.cluster_centers_, "train_kmeans centroids vs scikit-learn", rtol=1e-7, atol=1e-7)

    @given(point_sets())
    def test_initial_centroids_are_not_modified(self, impl, case):
        """train_kmeans starts from a copy: data and initial_centroids stay unchanged."""
        call_unmodified(impl, "train_kmeans", *case, num_iterations=5)


@st.composite
def images(draw, k_extra=(0, 3)):
    """A small image with few distinct colours, and centroids containing all of them."""
    h, w, c = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.sampled_from([1, 3]))
    n_colours = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    palette = rng.random((n_colours, c))
    image = palette[rng.integers(0, n_colours, (h, w))]
    extra = rng.random((draw(st.integers(*k_extra)), c))
    cents = rng.permutation(np.concatenate([palette, extra]))
    return image, cents


class TestQuantizeImage:
    @given(images())
    def test_lossless_when_every_colour_is_a_centroid(self, impl, case):
        """K ≥ the number of distinct colours (all of them centroids): the image comes back unchanged."""
        image, cents = case
        check_close(quantize_fn(impl)(image, cents), image, "quantize_image(image, centroids)", rtol=0, atol=1e-12)

    @given(images(), st.integers(1, 4), st.integers(0, 2**31 - 1))
    def test_each_pixel_becomes_its_nearest_centroid(self, impl, case, k, seed):
        """Same shape as the input, every pixel replaced by the colour of its nearest centroid."""
        image, _ = case
        cents = np.random.default_rng(seed).random((k, image.shape[-1]))
        pixels = image.reshape(-1, image.shape[-1])
        d = sqdist(pixels, cents)
        srt = np.sort(d, axis=1)
        assume(k == 1 or (srt[:, 1] - srt[:, 0] > 1e-9).all())
        expected = cents[d.argmin(1)].reshape(image.shape)
        check_close(quantize_fn(impl)(image, cents), expected, "quantize_image(image, centroids)", rtol=0, atol=1e-12)

    @given(images())
    def test_arguments_are_not_modified(self, impl, case):
        """quantize_image leaves the image and centroids unchanged."""
        call_unmodified(impl, "quantize_image", *case)
