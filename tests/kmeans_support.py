"""Support for the K-Means tests (public and hidden): the student's functions run with
correct stand-ins for the other graded functions they call (see ``probes.STAND_INS``),
so that one mistake costs only the points of the function it is in."""
from __future__ import annotations

from helpers import WithStandIns

ASSIGNMENT = "kmeans"


def loss_fn(impl):
    """The student's kmeans_loss, calling a correct assign_clusters."""
    return WithStandIns(impl, ASSIGNMENT, "assign_clusters").kmeans_loss


def train_fn(impl):
    """The student's train_kmeans, calling a correct assign_clusters and update_centroids."""
    return WithStandIns(impl, ASSIGNMENT, "assign_clusters", "update_centroids").train_kmeans


def quantize_fn(impl):
    """The student's quantize_image, calling a correct assign_clusters."""
    return WithStandIns(impl, ASSIGNMENT, "assign_clusters").quantize_image
