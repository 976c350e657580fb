"""Colour quantisation with your K-Means: the figures of the kmeans notebook.

``run(kmeans)`` takes any module that follows the assignment's API (your
``kmeans.py`` or the reference) and draws the original photo beside its
quantisations with K = 2, 4, 8, 16, and the loss per Lloyd iteration.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

import labkit

KS = (2, 4, 8, 16)


def load_photo(step: int = 2) -> np.ndarray:
    """The china.jpg sample photo shipped with scikit-learn, floats in [0, 1], downsampled by ``step``."""
    return load_sample_image("china.jpg")[::step, ::step].astype(np.float64) / 255.0


def initial_centroids(pixels: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """K distinct pixels chosen with a fixed seed (the course's initialisation)."""
    rng = np.random.default_rng(seed)
    return pixels[rng.choice(len(pixels), size=k, replace=False)].copy()


def loss_curve(kmeans: ModuleType, pixels: np.ndarray, init: np.ndarray, iterations: int) -> list[float]:
    """Loss after 0, 1, …, ``iterations`` single Lloyd rounds, using the student's functions."""
    centroids, losses = init, [kmeans.kmeans_loss(pixels, init)]
    for _ in range(iterations):
        centroids = kmeans.train_kmeans(pixels, centroids, num_iterations=1)
        losses.append(kmeans.kmeans_loss(pixels, centroids))
    return losses


def quantisation_figure(kmeans: ModuleType, image: np.ndarray, ks=KS, iterations: int = 20, sample: int = 20_000):
    """Original beside the image quantised with each K (centroids trained on a pixel sample)."""
    pixels = image.reshape(-1, 3)
    rng = np.random.default_rng(0)
    train = pixels[rng.choice(len(pixels), size=min(sample, len(pixels)), replace=False)]
    fig, axes = plt.subplots(1, len(ks) + 1, figsize=(3.2 * (len(ks) + 1), 2.8))
    axes[0].imshow(image)
    axes[0].set_title("original")
    for ax, k in zip(axes[1:], ks):
        centroids = kmeans.train_kmeans(train, initial_centroids(train, k), num_iterations=iterations)
        ax.imshow(np.clip(kmeans.quantize_image(image, centroids), 0, 1))
        ax.set_title(f"K = {k}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def loss_figure(kmeans: ModuleType, image: np.ndarray, k: int = 16, iterations: int = 15, sample: int = 20_000):
    """K-Means loss per Lloyd iteration on a pixel sample (it must never go up)."""
    pixels = image.reshape(-1, 3)
    rng = np.random.default_rng(0)
    train = pixels[rng.choice(len(pixels), size=min(sample, len(pixels)), replace=False)]
    losses = loss_curve(kmeans, train, initial_centroids(train, k), iterations)
    return labkit.curve_figure(losses, "Lloyd iteration", "K-Means loss (sum of squared distances)",
                               f"Loss per iteration, K = {k}, {len(train)} pixels")


def run(kmeans: ModuleType, out_dir: Path | None = None) -> list[Path]:
    """Draw both figures; write them as PNG under ``out_dir`` when given."""
    image = load_photo()
    written = [labkit.save(quantisation_figure(kmeans, image), out_dir, "kmeans_quantisation.png"),
               labkit.save(loss_figure(kmeans, image), out_dir, "kmeans_loss.png")]
    return [p for p in written if p is not None]
