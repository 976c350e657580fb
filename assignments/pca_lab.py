"""Eigenfaces with your PCA: the figures of the pca notebook.

``run(pca)`` takes any module that follows the assignment's API (your ``pca.py``
or the reference) and draws the mean face with the top 16 eigenfaces, a few
faces rebuilt from k = 5, 10, 25 and 50 components, and the explained-variance
curve. The faces are the 100 face images of scikit-image's LFW subset.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

import matplotlib.pyplot as plt
import numpy as np

import labkit

KS = (5, 10, 25, 50)
SHAPE = (25, 25)


def load_faces() -> np.ndarray:
    """The 100 faces of scikit-image's LFW subset as rows of 625 pixels in [0, 1] (images 25 × 25)."""
    from skimage.data import lfw_subset

    return lfw_subset()[:100].reshape(100, -1).astype(np.float64)


def _show(ax, image: np.ndarray, title: str, **kwargs) -> None:
    ax.imshow(image.reshape(SHAPE), cmap="gray", **kwargs)
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def eigenface_figure(pca: ModuleType, faces: np.ndarray, count: int = 16):
    """The mean face (left) and the first ``count`` eigenfaces, columns of U shown as images."""
    U, eigenvalues = pca.train_PCA(faces)
    U, eigenvalues = np.asarray(U), np.asarray(eigenvalues)
    side = int(np.ceil(np.sqrt(count)))
    fig = plt.figure(figsize=(2.2 * side + 3.2, 2.2 * side))
    grid = fig.add_gridspec(side, side + 2)
    _show(fig.add_subplot(grid[:, :2]), faces.mean(axis=0), "mean face", vmin=0, vmax=1)
    for k in range(count):
        ax = fig.add_subplot(grid[k // side, 2 + k % side])
        _show(ax, U[:, k], f"eigenface {k + 1}\nλ = {eigenvalues[k]:.3g}")
    fig.suptitle(f"Mean face and the top {count} eigenfaces ({len(faces)} faces of {faces.shape[1]} pixels)")
    fig.tight_layout()
    return fig


def reconstruction_figure(pca: ModuleType, faces: np.ndarray, which=(0, 7, 21, 42), ks=KS):
    """Each chosen face (rows): the original, then its reconstruction from the first k components."""
    U, _ = pca.train_PCA(faces)
    mean = faces.mean(axis=0)
    chosen = faces[list(which)]
    fig, axes = plt.subplots(len(which), len(ks) + 1, figsize=(1.9 * (len(ks) + 1), 2.0 * len(which)), squeeze=False)
    for row, face in enumerate(chosen):
        _show(axes[row, 0], face, "original" if row == 0 else "", vmin=0, vmax=1)
        for col, k in enumerate(ks, start=1):
            codes = pca.pca_project(face[None, :], mean, U, k)
            rebuilt = np.asarray(pca.pca_reconstruct(codes, mean, U))[0]
            rms = np.sqrt(np.mean((rebuilt - face) ** 2))
            _show(axes[row, col], np.clip(rebuilt, 0, 1), (f"k = {k}\n" if row == 0 else "") + f"rms {rms:.3f}",
                  vmin=0, vmax=1)
    fig.suptitle("Faces rebuilt from their first k principal components")
    fig.tight_layout()
    return fig


def explained_variance_figure(pca: ModuleType, faces: np.ndarray, ks=KS):
    """Fraction of the total variance captured by the first k components, k = 1..N."""
    _, eigenvalues = pca.train_PCA(faces)
    eigenvalues = np.clip(np.asarray(eigenvalues, dtype=float), 0, None)[: len(faces)]
    cumulative = np.cumsum(eigenvalues) / eigenvalues.sum()
    k = np.arange(1, len(cumulative) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(k, cumulative, marker=".", markersize=3)
    for kk in ks:
        left.annotate(f"k = {kk}: {cumulative[kk - 1]:.0%}", (kk, cumulative[kk - 1]),
                      textcoords="offset points", xytext=(6, -14), fontsize=8)
        left.plot([kk], [cumulative[kk - 1]], "o", color="C3")
    left.set_xlabel("number of components k")
    left.set_ylabel("fraction of the variance explained")
    left.set_ylim(0, 1.02)
    left.grid(alpha=0.3)
    left.set_title("Cumulative explained variance")
    right.semilogy(k[:-1], eigenvalues[:-1] / eigenvalues.sum(), marker=".", markersize=3)
    right.set_xlabel("component")
    right.set_ylabel("fraction of the variance (log scale)")
    right.grid(alpha=0.3)
    right.set_title("Variance of each component")
    fig.tight_layout()
    return fig


def run(pca: ModuleType, out_dir: Path | None = None) -> list[Path]:
    """Draw the three figures; write them as PNG under ``out_dir`` when given."""
    faces = load_faces()
    written = [labkit.save(eigenface_figure(pca, faces), out_dir, "pca_eigenfaces.png"),
               labkit.save(reconstruction_figure(pca, faces), out_dir, "pca_reconstructions.png"),
               labkit.save(explained_variance_figure(pca, faces), out_dir, "pca_explained_variance.png")]
    return [p for p in written if p is not None]
