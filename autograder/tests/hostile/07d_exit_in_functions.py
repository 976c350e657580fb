# base: solution
"""Case 7: the solution, except that three functions end their process: train_kmeans calls
sys.exit(0), kmeans_loss raises KeyboardInterrupt and quantize_image calls os._exit(0).
assign_clusters and update_centroids are honest and keep their points."""
import os
import sys


def train_kmeans(train_data, initial_centroids, num_iterations=50):
    sys.exit(0)


def kmeans_loss(data, centroids):
    raise KeyboardInterrupt


def quantize_image(image, centroids):
    os._exit(0)
