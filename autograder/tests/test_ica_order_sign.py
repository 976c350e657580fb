"""Instructor test: the ICA tests accept a correct submission whose sources come back in another order or sign.

ICA recovers sources only up to order and sign (and scale). This wraps the
reference ``unmixer`` so that it returns the rows of W permuted and some of them
negated (a different choice on every call), writes that submission (one
self-contained file: the reference's text plus the wrapper) to a temporary
folder, and runs the public and hidden ICA tests on it: all of them must pass.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import load_module as load  # tests/ is on pytest's pythonpath

REPO = Path(__file__).resolve().parents[2]
SOLUTION = REPO / "solutions" / "ica.py"

# Appended to the reference solution's text: a single self-contained submission file.
WRAPPER = '''


# ---- variant for the order/sign test: the reference with W's rows permuted and negated ----
_reference_unmixer = unmixer
_calls = [0]


def unmixer(X, anneal=None):
    W = _reference_unmixer(X, anneal)
    d = W.shape[0]
    _calls[0] += 1
    rng = np.random.default_rng(_calls[0])  # a different choice on every call
    order = np.roll(rng.permutation(d), 1) if d > 1 else np.arange(d)
    signs = rng.choice([-1.0, 1.0], size=(d, 1))
    signs[_calls[0] % d] = -1.0  # at least one row negated
    return signs * W[order]
'''


def write_variant(folder: Path) -> Path:
    path = folder / "ica.py"
    path.write_text(SOLUTION.read_text() + WRAPPER)
    return path


def test_variant_really_differs_from_the_reference(tmp_path):
    """The wrapped submission returns a W with other row order and signs (else the next test proves nothing)."""
    ref = load(SOLUTION, "_ica_ref_check")
    var = load(write_variant(tmp_path), "_ica_var_check")
    X = np.random.default_rng(0).laplace(size=(50, 3))
    W_ref, W_var = ref.unmixer(X), var.unmixer(X)
    assert not np.allclose(W_ref, W_var)
    assert np.allclose(np.sort(np.abs(W_ref), axis=None), np.sort(np.abs(W_var), axis=None))


@pytest.mark.slow
def test_public_and_hidden_tests_give_full_marks(tmp_path):
    """Every public and hidden ICA test passes on the reference with sources in another order and sign."""
    path = write_variant(tmp_path)
    env = {**os.environ, "COURSE_IMPL": str(path), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("COURSE_MAX_EXAMPLES", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/ica", "autograder/ica/hidden"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, f"ICA tests failed on a correct submission (sources in another order/sign):\n{tail}"
    assert " passed" in proc.stdout and "failed" not in proc.stdout, tail
