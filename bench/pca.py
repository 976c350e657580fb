"""Benchmark: the reference ``train_PCA`` against scikit-learn's PCA(svd_solver="full").

Both decompose the same data, measured side by side in one run:

- the 100 faces of scikit-image's LFW subset (100 × 625, the lab's data);
- synthetic 400 × 4096 data (a 64 × 64 "image" size: decaying spectrum plus noise).

Per data set: the median wall time of a fit over ``--repeat`` runs and its ratio
to scikit-learn's (goal <= 1.5×), and the agreement between the two: the largest
eigenvalue difference relative to λ_1 (scikit-learn's ``explained_variance_`` times
(N-1)/N, as it divides by N - 1), the largest principal-angle sine between the
top-50 subspaces, and the mean squared reconstruction error with k = 50 from
each. The reference returns the full d × d U (null space included), scikit-learn
only min(N, d) components; the row "of which null-space basis" times the
completion of the N leading eigenvectors to an orthonormal d × d U alone (one
(d - N) × N × d matrix product, 12 GFLOP at d = 4096). ``--eigh`` adds the textbook route, ``np.linalg.eigh``
of the d × d covariance (about 14 s at d = 4096 on one core). Run from the
repository root::

    python bench/pca.py [--threads N] [--repeat R] [--eigh]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1, as in grading)")
    parser.add_argument("--repeat", type=int, default=5, help="fits per method and data set (median reported)")
    parser.add_argument("--eigh", action="store_true", help="also time eigh of the d × d covariance")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    from sklearn.decomposition import PCA

    sys.path[:0] = [str(ROOT / "assignments"), str(ROOT / "tests")]
    import pca_lab
    from helpers import load_module

    pca = load_module(ROOT / "solutions" / "pca.py", "pca")

    def synthetic(n: int = 400, d: int = 4096, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        scales = 10.0 / (1.0 + np.arange(n))  # decaying spectrum of N directions, plus isotropic noise
        basis = np.linalg.qr(rng.normal(size=(d, n)))[0]
        return (rng.normal(size=(n, n)) * scales) @ basis.T + 0.01 * rng.normal(size=(n, d)) + 0.5

    def timed(fit, repeat: int):
        times, result = [], None
        for _ in range(repeat):
            start = time.perf_counter()
            result = fit()
            times.append(time.perf_counter() - start)
        return float(np.median(times)), result

    def sin_angle(A: np.ndarray, B: np.ndarray) -> float:
        """Sine of the largest principal angle between span(A) and span(B) (orthonormal columns)."""
        return float(np.linalg.norm(B - A @ (A.T @ B), 2))

    k = 50
    rows = []
    for name, data in (("faces 100 × 625", pca_lab.load_faces()), ("synthetic 400 × 4096", synthetic())):
        n, d = data.shape
        mean = data.mean(axis=0)
        t_ref, (U, vals) = timed(lambda: pca.train_PCA(data), args.repeat)
        t_sk, sk = timed(lambda: PCA(svd_solver="full").fit(data), args.repeat)
        m = n - 1
        sk_vals = sk.explained_variance_[:m] * (n - 1) / n
        eig_err = float(np.abs(vals[:m] - sk_vals).max() / vals[0])
        angle = sin_angle(U[:, :k], sk.components_[:k].T)
        rec = pca.pca_reconstruct(pca.pca_project(data, mean, U, k), mean, U)
        mse_ref = float(((data - rec) ** 2).sum(axis=1).mean())
        sk_rec = (data - sk.mean_) @ sk.components_[:k].T @ sk.components_[:k] + sk.mean_
        mse_sk = float(((data - sk_rec) ** 2).sum(axis=1).mean())
        t_null, _ = timed(lambda: pca._complete_basis(np.ascontiguousarray(U[:, :n].T)), args.repeat)
        rows.append((name, "train_PCA (reference)", t_ref, t_ref / t_sk, eig_err, angle, mse_ref))
        rows.append((name, "  of which null-space basis", t_null, t_null / t_sk, float("nan"), float("nan"),
                     float("nan")))
        rows.append((name, 'PCA(svd_solver="full")', t_sk, 1.0, 0.0, 0.0, mse_sk))
        if args.eigh:
            cov = (data - mean).T @ (data - mean) / n
            t_eigh, _ = timed(lambda: np.linalg.eigh(cov), 1)
            rows.append((name, "eigh of the d × d covariance", t_eigh, t_eigh / t_sk, float("nan"), float("nan"),
                         float("nan")))

    print(f"PCA fits, median of {args.repeat}, {args.threads} BLAS thread(s); k = {k} for the subspace and "
          "reconstruction columns\n")
    header = (f"{'data':<22} {'method':<30} {'time (s)':>9} {'× sklearn':>10} {'|Δλ|/λ1':>9} "
              f"{'sin∠ top-50':>12} {'MSE k=50':>10}")
    print(header)
    print("-" * len(header))
    def cell(value: float, spec: str, width: int) -> str:
        return f"{'-':>{width}}" if np.isnan(value) else f"{value:>{width}{spec}}"

    for name, method, t, ratio, err, angle, mse in rows:
        print(f"{name:<22} {method:<30} {t:>9.4f} {ratio:>10.2f} {cell(err, '.1e', 9)} {cell(angle, '.1e', 12)} "
              f"{cell(mse, '.4g', 10)}")
    print("\ngoal: train_PCA <= 1.5 × scikit-learn's time, with the same eigenvalues and subspaces")


if __name__ == "__main__":
    main()
