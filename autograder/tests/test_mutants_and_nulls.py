"""Generated null submissions and mutants: what they contain (fast; `course check` grades them)."""
from __future__ import annotations

import ast

import numpy as np
import pytest

from autograder.mutants import Mutant, generate, report, sample
from autograder.nulls import KINDS, graded_functions, null_source

TINY = '''import numpy as np


def scale(x, k):
    """Doc."""
    # BEGIN SOLUTION: hint
    y = np.array(x, copy=True)
    return np.argmin(np.maximum(y * k + 1, k), axis=0)
    # END SOLUTION


def untouched(x):
    return x + 1
'''


def _load(text: str, name: str):
    namespace: dict = {"__name__": name}
    import sys
    import types

    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(text, f"<{name}>", "exec"), module.__dict__)
    return module


def test_graded_functions_are_those_with_a_solution_region():
    from autograder.config import REPO_ROOT

    assert graded_functions(TINY) == ["scale"]
    assert graded_functions((REPO_ROOT / "solutions" / "cvae.py").read_text()) == [
        "one_hot", "CVAE.recognition_model", "CVAE.reparametrize", "CVAE.generation_model", "CVAE.forward",
        "loss_function", "train_cvae", "sample_digits"]


@pytest.mark.parametrize("kind", KINDS)
def test_null_kmeans_keeps_shapes_and_dtypes_but_does_no_work(kind):
    from autograder.config import REPO_ROOT

    null = _load(null_source(REPO_ROOT / "solutions" / "kmeans.py", kind), f"null_kmeans_{kind}")
    rng = np.random.default_rng(0)
    data, cents = rng.normal(size=(20, 3)), rng.normal(size=(4, 3))
    labels = null.assign_clusters(data, cents)
    assert labels.shape == (20,) and labels.dtype == np.int64
    assert len(set(labels.tolist())) == 1  # one constant label: no work
    out = null.train_kmeans(data, cents, num_iterations=5)
    assert out.shape == cents.shape and out.dtype == cents.dtype
    expected = {"zeros": np.zeros_like(cents), "constant": np.full_like(cents, 0.5), "initial": cents}.get(kind)
    if expected is not None:
        assert np.array_equal(out, expected)
    assert isinstance(null.kmeans_loss(data, cents), float)


def test_null_train_cvae_never_steps_the_model():
    torch = pytest.importorskip("torch")
    from autograder.config import REPO_ROOT

    null = _load(null_source(REPO_ROOT / "solutions" / "cvae.py", "constant"), "null_cvae")
    torch.manual_seed(0)
    model = null.CVAE(input_size=6, num_classes=2, latent_size=2, hidden_size=4)
    before = [p.detach().clone() for p in model.parameters()]
    x, y = torch.rand(4, 6), torch.tensor([0, 1, 0, 1])
    losses = null.train_cvae(model, [(x, y)] * 3, epochs=2, lr=0.1)
    assert losses == [0.5, 0.5]
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    x_hat, mu, logvar = model(x, null.one_hot(y, 2))
    assert x_hat.shape == (4, 6) and mu.shape == logvar.shape == (4, 2)
    assert torch.all(x_hat == 0.5)


def test_mutants_edit_only_the_solution_regions_and_have_stable_unique_ids():
    mutants = generate(TINY, "tiny.py")
    ids = [m.id for m in mutants]
    assert len(ids) == len(set(ids))
    assert ids == [m.id for m in generate(TINY, "tiny.py")]
    ops = {i.split(":")[1] for i in ids}
    assert {"drop_statement", "drop_array", "argmin>argmax", "axis0>1", "Add>Sub", "Mult>Div", "swap_args"} <= ops, ops
    for m in mutants:
        ast.parse(m.source)
        assert m.source != TINY
        assert m.source.endswith("def untouched(x):\n    return x + 1\n")
        assert m.diff.startswith("--- tiny.py")
    assert sample(mutants, 3, seed=0) == sample(mutants, 3, seed=0)
    assert len(sample(mutants, 3, seed=0)) == 3


def test_report_counts_and_names_unexplained_survivors(course):
    a = course.get("kmeans")
    fake = [(Mutant("f:Add>Sub:1", "Add>Sub in f", "", "--- diff"), "survived", 1.0),
            (Mutant("f:Add>Sub:2", "Add>Sub in f", "", ""), "killed", 1.0),
            (Mutant("f:swap_args:1", "swap_args in f", "", ""), "timeout", 3.0)]
    lines, unexplained = report(a, fake, total=10)
    assert unexplained == ["f:Add>Sub:1"]
    assert lines[0].startswith("mutants of kmeans: 3 run of 10 generated: 2 killed, 0 equivalent, 1 survived")
    assert "SURVIVED f:Add>Sub:1" in lines[1] and "--- diff" in lines[1]


def test_mutants_only_runs_the_named_ones_and_an_unknown_id_is_one_line(course_cli):
    proc = course_cli("mutants", "kmeans", "--only", "assign_clusters:nosuch:1")
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "no mutant assign_clusters:nosuch:1 of kmeans" in proc.stderr
