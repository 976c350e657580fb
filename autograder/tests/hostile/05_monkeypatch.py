# base: stub
"""Case 5: rebinds numpy's and math's comparisons, builtins, copy.deepcopy and otter's own
test runner so that any check would pass, then returns wrong answers; update_centroids
computes the right means but writes them into its argument (an in-place mutation that a
patched deepcopy/array_equal would hide from a check run in the student's process)."""
import builtins
import copy
import math

import numpy as np
import numpy.testing


def _always(*args, **kwargs):
    return True


def _silent(*args, **kwargs):
    return None


np.allclose = np.array_equal = np.array_equiv = _always
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
numpy.testing.assert_allclose = numpy.testing.assert_array_equal = numpy.testing.assert_array_almost_equal = _silent
math.isclose = _always
copy.deepcopy = lambda value, memo=None: value
builtins.all = builtins.any = _always
try:
    import otter.test_files.abstract_test as _abstract
    import otter.test_files.exception_test as _exception

    _exception.ExceptionTestFile.run = _silent
    _abstract.TestFile.all_or_nothing = False
except Exception:
    pass


def assign_clusters(data, centroids):
    return np.full(len(data), len(centroids) - 1, dtype=np.int64)


def update_centroids(data, labels, centroids):
    data, labels = np.asarray(data, dtype=float), np.asarray(labels)
    for k in range(len(centroids)):
        if (labels == k).any():
            centroids[k] = data[labels == k].mean(axis=0)
    return centroids


def kmeans_loss(data, centroids):
    return 0.0


def train_kmeans(train_data, initial_centroids, num_iterations=50):
    return initial_centroids


def quantize_image(image, centroids):
    return image
