"""Image compression with your Gaussian mixture: the figures of the gmm notebook.

``run(gmm)`` takes any module that follows the assignment's API (your ``gmm.py``
or the reference) and draws the original photo beside its compression with
K = 5 components, and the mean log-likelihood per EM iteration.

Initialisation (the same for everyone): K pixels chosen with a fixed seed,
refined by a few K-Means (Lloyd) iterations written here in NumPy; each
component then starts with its K-Means cluster's mean, its share of the pixels
as weight, and its cluster's covariance plus 1e-4·I as covariance.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

import labkit

K = 5
ITERATIONS = 30
SAMPLE = 10_000


def load_photo(step: int = 2) -> np.ndarray:
    """The china.jpg sample photo shipped with scikit-learn, floats in [0, 1], downsampled by ``step``."""
    return load_sample_image("china.jpg")[::step, ::step].astype(np.float64) / 255.0


def training_pixels(image: np.ndarray, sample: int = SAMPLE, seed: int = 0) -> np.ndarray:
    """``sample`` pixels of the image, drawn without replacement with a fixed seed, as an (N, 3) array."""
    pixels = image.reshape(-1, image.shape[-1])
    rng = np.random.default_rng(seed)
    return pixels[rng.choice(len(pixels), size=min(sample, len(pixels)), replace=False)]


def kmeans_init(pixels: np.ndarray, k: int = K, iterations: int = 5, seed: int = 0):
    """Initial (pi, mu, sigma) from a few Lloyd iterations started at k seeded random pixels."""
    rng = np.random.default_rng(seed)
    centres = pixels[rng.choice(len(pixels), size=k, replace=False)].copy()
    for _ in range(iterations):
        labels = ((pixels[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
        for j in range(k):
            if (labels == j).any():
                centres[j] = pixels[labels == j].mean(axis=0)
    labels = ((pixels[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
    d = pixels.shape[1]
    pi = np.array([(labels == j).mean() for j in range(k)])
    sigma = np.stack([np.cov(pixels[labels == j].T, bias=True) if (labels == j).sum() > 1 else np.zeros((d, d))
                      for j in range(k)]) + 1e-4 * np.eye(d)
    pi = np.maximum(pi, 1e-3)  # a cluster left empty by K-Means still gets a small weight
    return pi / pi.sum(), centres, sigma


def fit(gmm: ModuleType, pixels: np.ndarray, init=None, iterations: int = ITERATIONS):
    """Run EM one iteration at a time with the student's ``train_gmm``.

    Returns the final state and the mean log-likelihood (``compute_gamma``'s
    log_totals averaged over the pixels) before the first and after every iteration.
    """
    pi, mu, sigma = kmeans_init(pixels) if init is None else init
    state = gmm.GMMState(pi, mu, sigma)
    lls = [float(np.mean(gmm.compute_gamma(*state, pixels)[1]))]
    for _ in range(iterations):
        state = gmm.train_gmm(pixels, *state, num_iterations=1)
        lls.append(float(np.mean(gmm.compute_gamma(*state, pixels)[1])))
    return state, lls


def compression_figure(gmm: ModuleType, image: np.ndarray, state):
    """The original photo beside the photo painted with the K component means."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    axes[0].imshow(image)
    axes[0].set_title("original")
    axes[1].imshow(np.clip(gmm.gmm_compress(image, state), 0, 1))
    axes[1].set_title(f"GMM compression, K = {len(state.pi)}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def log_likelihood_figure(lls, k: int = K, n: int = SAMPLE):
    """Mean log-likelihood per EM iteration (EM never lets it go down)."""
    return labkit.curve_figure(lls, "EM iteration", "mean log-likelihood per pixel",
                               f"Log-likelihood per iteration, K = {k}, {n} pixels", markersize=3)


def run(gmm: ModuleType, out_dir: Path | None = None) -> list[Path]:
    """Fit K = 5 on a pixel sample, draw both figures; write them as PNG under ``out_dir`` when given."""
    image = load_photo()
    pixels = training_pixels(image)
    state, lls = fit(gmm, pixels)
    written = [labkit.save(compression_figure(gmm, image, state), out_dir, "gmm_compression.png"),
               labkit.save(log_likelihood_figure(lls, len(state.pi), len(pixels)), out_dir, "gmm_log_likelihood.png")]
    return [p for p in written if p is not None]
