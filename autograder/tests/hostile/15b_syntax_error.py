import numpy as np


def assign_clusters(data, centroids:
    return np.argmin(data)
