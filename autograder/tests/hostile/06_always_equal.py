# base: stub
"""Case 6: returns objects that compare equal to anything: an object with __eq__,
__array_ufunc__ and __array__, an ndarray subclass that claims to be numpy's own, and a
float subclass."""
import numpy as np


class Anything:
    shape = property(lambda self: (0,))
    dtype = np.dtype(np.int64)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array_ufunc__(self, *args, **kwargs):
        return True

    def __array__(self, *args, **kwargs):
        return np.zeros(0)

    def __float__(self):
        return 0.0

    def __len__(self):
        return 0

    __hash__ = object.__hash__


class EqualArray(np.ndarray):
    __module__ = "numpy"  # pretends to be a plain array on the wire

    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)

    def __array_ufunc__(self, *args, **kwargs):
        return True


class EqualFloat(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


def assign_clusters(data, centroids):
    return Anything()


def update_centroids(data, labels, centroids):
    return np.zeros(np.shape(centroids)).view(EqualArray)


def kmeans_loss(data, centroids):
    return EqualFloat(-1.0)


def train_kmeans(train_data, initial_centroids, num_iterations=50):
    return [Anything()]


def quantize_image(image, centroids):
    return np.zeros(np.shape(image)).view(EqualArray)
