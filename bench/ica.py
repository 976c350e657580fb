"""Benchmark: the reference infomax ``unmixer`` against scikit-learn's FastICA on the course audio.

Both separate the same five mixes (the course tracks mixed with the lab's fixed
matrix), measured side by side in one run:

- time to learn the unmixing matrix (and, for infomax, per per-sample step);
- separation quality per source after matching recovered to true tracks by
  |correlation| (Hungarian): the weakest and mean |correlation|, and the
  signal-to-distortion ratio SDR = 10 log10(|s|^2 / |s - a y|^2) with the best
  scale a, in dB (higher is better; 20 dB = 1% residual energy).

Rows: infomax on the shuffled samples (what the lab does), infomax on the
samples in time order (shows why the lab shuffles), FastICA (logcosh,
unit-variance whitening). Run from the repository root::

    python bench/ica.py [--threads N]
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
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    from scipy.optimize import linear_sum_assignment
    from sklearn.decomposition import FastICA

    sys.path[:0] = [str(ROOT / "assignments"), str(ROOT / "tests")]
    import ica_lab
    from helpers import load_module

    ica = load_module(ROOT / "solutions" / "ica.py", "ica")

    S, labels = ica_lab.load_sources()
    X = ica_lab.mix(S, ica_lab.mixing_matrix(S.shape[1]))
    Z, _ = ica_lab.whiten(X)
    n, d = X.shape
    steps = n * len(ica.DEFAULT_ANNEAL)

    def quality(Y: np.ndarray) -> tuple[float, float, float, float]:
        C = np.abs(np.corrcoef(Y.T, S.T)[:d, d:])
        rows, cols = linear_sum_assignment(-C)
        corr = C[rows, cols]
        sdr = []
        for r, c in zip(rows, cols):
            y, s = Y[:, r] - Y[:, r].mean(), S[:, c] - S[:, c].mean()
            a = (y @ s) / (y @ y)
            sdr.append(10 * np.log10((s @ s) / ((s - a * y) @ (s - a * y))))
        return corr.min(), corr.mean(), min(sdr), float(np.mean(sdr))

    rows = []

    def infomax(order: np.ndarray | None) -> np.ndarray:
        start = time.perf_counter()
        W = ica.unmixer(Z if order is None else Z[order])
        rows.append(time.perf_counter() - start)
        return ica.unmix(Z, W)

    results = []
    Y = infomax(np.random.default_rng(ica_lab.SHUFFLE_SEED).permutation(n))
    results.append(("infomax (reference), shuffled", rows[-1], f"{rows[-1] / steps * 1e6:.1f} us/step", quality(Y)))
    Y = infomax(None)
    results.append(("infomax (reference), time order", rows[-1], f"{rows[-1] / steps * 1e6:.1f} us/step", quality(Y)))
    start = time.perf_counter()
    fast = FastICA(n_components=d, whiten="unit-variance", random_state=0, max_iter=1000, tol=1e-5)
    Y = fast.fit_transform(X)
    elapsed = time.perf_counter() - start
    results.append(("FastICA (scikit-learn)", elapsed, f"{fast.n_iter_} iterations", quality(Y)))

    print(f"ICA on the course audio: {n} samples x {d} tracks at {ica_lab.RATE} Hz, "
          f"{len(ica.DEFAULT_ANNEAL)} infomax passes ({steps} steps), {args.threads} BLAS thread(s)")
    head = f"{'method':<33}{'time (s)':>9}  {'detail':<17}{'min |corr|':>11}{'mean |corr|':>12}{'min SDR':>9}{'mean SDR':>10}"
    print(head)
    print("-" * len(head))
    for name, seconds, detail, (cmin, cmean, smin, smean) in results:
        print(f"{name:<33}{seconds:>9.2f}  {detail:<17}{cmin:>11.4f}{cmean:>12.4f}{smin:>8.1f}dB{smean:>8.1f}dB")
    ratio = results[0][1] / results[2][1]
    print(f"\ninfomax (shuffled) takes {ratio:.1f}x FastICA's time; SDR difference of the means "
          f"{results[0][3][3] - results[2][3][3]:+.1f} dB")


if __name__ == "__main__":
    main()
