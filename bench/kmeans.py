"""K-Means: the reference `train_kmeans` against scikit-learn's KMeans, side by side.

1e6 × 3 pixels (a photo's colours, tiled), K = 16, the same initial centroids,
Lloyd's algorithm for a fixed number of iterations (scikit-learn: n_init=1, tol=0).
Prints time per Lloyd iteration, the ratio, and both final inertias.
Goal: reference ≤ 2× scikit-learn's time at equal inertia.

Usage: python bench/kmeans.py [--n 1000000] [--k 16] [--iters 10] [--repeats 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_sample_image

ROOT = Path(__file__).resolve().parent.parent


def load_reference():
    spec = importlib.util.spec_from_file_location("kmeans", ROOT / "solutions" / "kmeans.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    km = load_reference()
    pixels = load_sample_image("china.jpg").reshape(-1, 3).astype(np.float64) / 255.0
    rng = np.random.default_rng(0)
    data = pixels[rng.integers(0, len(pixels), args.n)] + rng.normal(0, 1e-3, (args.n, 3))
    init = data[rng.choice(args.n, args.k, replace=False)].copy()

    # Count the reference's rounds the same way scikit-learn does (it may stop early).
    t_ref, cents = best_of(lambda: km.train_kmeans(data, init, num_iterations=args.iters), args.repeats)
    t_skl, model = best_of(lambda: KMeans(args.k, init=init, n_init=1, algorithm="lloyd", max_iter=args.iters,
                                          tol=0).fit(data), args.repeats)
    ref_inertia = km.kmeans_loss(data, cents)
    print(f"data {args.n} x 3, K = {args.k}, {args.iters} Lloyd iterations, best of {args.repeats}")
    print(f"{'':<14} {'s/iteration':>12} {'inertia':>14}")
    print(f"{'reference':<14} {t_ref / args.iters:>12.4f} {ref_inertia:>14.4f}")
    print(f"{'scikit-learn':<14} {t_skl / model.n_iter_:>12.4f} {model.inertia_:>14.4f}   (n_iter_={model.n_iter_})")
    print(f"ratio reference / scikit-learn: {(t_ref / args.iters) / (t_skl / model.n_iter_):.2f}x time, "
          f"inertia relative difference {abs(ref_inertia - model.inertia_) / model.inertia_:.1e}")


if __name__ == "__main__":
    main()
