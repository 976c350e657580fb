"""Instructor test: the PCA tests accept every correct answer, whatever the eigenvector signs.

An eigenvector's sign is arbitrary, and when N <= d so is the basis of the
covariance's null space. These tests wrap the reference ``train_PCA`` so that it
flips the sign of some columns (a different choice on every call) or also
rotates the null-space columns, write that submission (one self-contained
file: the reference's text plus the wrapper) to a temporary folder, and run the
public and hidden PCA tests on it: all of them must pass.
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
SOLUTION = REPO / "solutions" / "pca.py"

# Appended to the reference solution's text: a single self-contained submission file.
WRAPPER = '''


# ---- variant for the sign-freedom test: the reference with {what} ----
_reference_train_PCA = train_PCA
_calls = [0]


def train_PCA(data):
    U, eigenvalues = _reference_train_PCA(data)
    U = np.array(U, dtype=float, copy=True)
    d = U.shape[1]
    _calls[0] += 1
    rng = np.random.default_rng(_calls[0])  # a different choice on every call
    signs = rng.choice([-1.0, 1.0], size=d)
    signs[_calls[0] % d] = -1.0  # at least one column flipped
    U *= signs
{extra}
    return U, eigenvalues
'''

ROTATE_NULL_SPACE = '''
    r = int(np.sum(eigenvalues > 1e-9 * max(float(eigenvalues[0]), 1e-300)))
    if d - r > 1:
        q, _ = np.linalg.qr(rng.normal(size=(d - r, d - r)))
        U[:, r:] = U[:, r:] @ q
'''

VARIANTS = {
    "signs_flipped": ("the sign of some columns flipped", ""),
    "null_space_rotated": ("signs flipped and the null-space columns rotated", ROTATE_NULL_SPACE),
}


def write_variant(folder: Path, name: str) -> Path:
    what, extra = VARIANTS[name]
    path = folder / "pca.py"
    path.write_text(SOLUTION.read_text() + WRAPPER.format(what=what, extra=extra))
    return path


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_really_differs_from_the_reference(tmp_path, variant):
    """The wrapped submission returns different columns from the reference (else the next test proves nothing)."""
    ref = load(SOLUTION, "_pca_ref_check")
    var = load(write_variant(tmp_path, variant), "_pca_var_check")
    data = np.random.default_rng(0).normal(size=(5, 9))
    U_ref, vals_ref = ref.train_PCA(data)
    U_var, vals_var = var.train_PCA(data)
    np.testing.assert_array_equal(vals_var, vals_ref)
    dots = np.einsum("ik,ik->k", U_ref, U_var)
    assert np.any(np.isclose(dots, -1.0)), "no column had its sign flipped"
    if variant == "null_space_rotated":
        assert np.any(np.abs(dots[4:]) < 0.999), "the null-space columns were not rotated"


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_public_and_hidden_tests_give_full_marks(tmp_path, variant):
    """Every public and hidden PCA test passes on the reference with other signs (and another null-space basis)."""
    path = write_variant(tmp_path, variant)
    env = {**os.environ, "COURSE_IMPL": str(path), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("COURSE_MAX_EXAMPLES", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/pca",
                           "autograder/pca/hidden"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, f"PCA tests failed on a correct submission ({VARIANTS[variant][0]}):\n{tail}"
    assert " passed" in proc.stdout and "failed" not in proc.stdout, tail
