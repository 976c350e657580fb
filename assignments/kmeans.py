# Student version: fill in every TODO, keep the names and signatures.
"""K-Means clustering (Lloyd's algorithm) and colour quantisation.

Every function takes float64 arrays with one sample per row and never modifies
its arguments.
"""
from __future__ import annotations

import numpy as np


def _squared_distances(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(N, K) squared Euclidean distances, computed as exact differences.

    Differences (not the ||x||^2 - 2 x.c + ||c||^2 expansion) keep exact ties
    exact and stay accurate for data far from the origin.
    """
    dist = np.zeros((len(data), len(centroids)))
    diff = np.empty_like(dist)
    for j in range(data.shape[1]):  # one (N, K) pass per feature: no (N, K, d) temporary
        np.subtract(data[:, j, None], centroids[None, :, j], out=diff)
        np.multiply(diff, diff, out=diff)
        dist += diff
    return dist


def assign_clusters(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Assign every point to its nearest centroid.

    Parameters
    ----------
    data : ndarray of shape (N, d)
        The points.
    centroids : ndarray of shape (K, d)
        The cluster centres.

    Returns
    -------
    labels : ndarray of shape (N,), int
        Index of the nearest centroid in squared Euclidean distance; exact ties
        go to the lowest index.
    """
    # TODO: compute the (N, K) squared distances and take the argmin over centroids (np.argmin keeps the lowest index on ties)
    raise NotImplementedError("TODO: compute the (N, K) squared distances and take the argmin over centroids (np.argmin keeps the lowest index on ties)")


def update_centroids(data: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Move every centroid to the mean of the points assigned to it.

    Parameters
    ----------
    data : ndarray of shape (N, d)
        The points.
    labels : ndarray of shape (N,), int
        Cluster index of every point, in ``range(K)``.
    centroids : ndarray of shape (K, d)
        The current centres; a cluster with no points keeps its centre.

    Returns
    -------
    new_centroids : ndarray of shape (K, d)
    """
    # TODO: average the points of each cluster; a cluster with no points keeps its old centroid (do not modify the argument)
    raise NotImplementedError("TODO: average the points of each cluster; a cluster with no points keeps its old centroid (do not modify the argument)")


def kmeans_loss(data: np.ndarray, centroids: np.ndarray) -> float:
    """Sum over points of the squared distance to the nearest centroid.

    Parameters
    ----------
    data : ndarray of shape (N, d)
    centroids : ndarray of shape (K, d)

    Returns
    -------
    float
        The K-Means objective (scikit-learn's ``inertia_``).
    """
    # TODO: sum, over all points, the squared distance to the nearest centroid
    raise NotImplementedError("TODO: sum, over all points, the squared distance to the nearest centroid")


def train_kmeans(train_data: np.ndarray, initial_centroids: np.ndarray, num_iterations: int = 50) -> np.ndarray:
    """Lloyd's algorithm from the given centroids.

    Parameters
    ----------
    train_data : ndarray of shape (N, d)
    initial_centroids : ndarray of shape (K, d)
        Starting centres (left unchanged).
    num_iterations : int, default 50
        Maximum number of assign + update rounds; may stop early once the
        assignments stop changing.

    Returns
    -------
    centroids : ndarray of shape (K, d)
    """
    # TODO: alternate assign_clusters and update_centroids for num_iterations rounds, starting from a copy of initial_centroids
    raise NotImplementedError("TODO: alternate assign_clusters and update_centroids for num_iterations rounds, starting from a copy of initial_centroids")


def quantize_image(image: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Replace every pixel by its nearest centroid colour.

    Parameters
    ----------
    image : ndarray of shape (H, W, C), floats in [0, 1]
    centroids : ndarray of shape (K, C)

    Returns
    -------
    ndarray of shape (H, W, C)
        The quantised image.
    """
    # TODO: flatten to (H*W, C) pixels, assign each to a centroid, and reshape the centroid colours back to (H, W, C)
    raise NotImplementedError("TODO: flatten to (H*W, C) pixels, assign each to a centroid, and reshape the centroid colours back to (H, W, C)")
