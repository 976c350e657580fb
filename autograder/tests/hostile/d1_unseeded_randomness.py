# base: stub
"""Determinism: only train_kmeans is written, and now and then (drawn from unseeded random,
np.random and a fresh np.random.default_rng()) it nudges its answer off the fixed point, so
whether its parts pass depends on the random state alone. (The stub's other functions fail
at once, which keeps ten gradings short.)"""
import random

import numpy as np


def train_kmeans(train_data, initial_centroids, num_iterations=50):
    data, centroids = np.asarray(train_data, dtype=float), np.array(initial_centroids, dtype=float)
    labels = None
    for _ in range(num_iterations):
        new = ((data[:, None, :] - centroids[None, :, :]) ** 2).sum(-1).argmin(1)
        if labels is not None and (new == labels).all():
            break
        labels = new
        for k in range(len(centroids)):
            if (labels == k).any():
                centroids[k] = data[labels == k].mean(axis=0)
    if min(random.random(), np.random.rand(), np.random.default_rng().random()) < 0.002:
        centroids += 1e-3
    return centroids
