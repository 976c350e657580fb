"""Hidden tests of the ICA assignment: cases students do not see.

CANARY-ica-5be2d1: this string must never appear in anything a student receives.

Thresholds are calibrated on the reference (see the numbers next to each one),
with a margin: any implementation of the specified algorithm passes.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit

from helpers import check, check_close, check_shape, fmt, probe
from ica_support import (align_rows, amari_index, infomax_update, matched_correlations, mixes, non_symmetric_matrix,
                         seeds, step_fn, unmixer_fn)

ASSIGNMENT = "ica"

# Measured on the reference (whitened mixes, DEFAULT_ANNEAL, 1 thread): worst
# Amari index of the global system and weakest matched |correlation| over the
# seeds 0..N-1 that pass the "really mixed" filter (kept/N in brackets):
#   3 Laplace, 1,000 samples, Gaussian A [850/1000]:  Amari ≤ 0.0697, |corr| ≥ 0.984
#   5 Laplace, 2,000 samples [194/200]:                Amari ≤ 0.0437, |corr| ≥ 0.987
#   3 Laplace, 5,000 samples [91/100]:                 Amari ≤ 0.0556, |corr| ≥ 0.994
#   ill-conditioned A (cond 1e3) [170/200]: ≤ 0.0697; orthogonal A [176/200]: ≤ 0.0697;
#   all-positive A [124/200]: ≤ 0.0697
#   sparse sources [168/200]: ≤ 0.0292; scaled Laplace (std 0.1–10) [336/400]: ≤ 0.0703;
#   Student-t(5) [341/400]: ≤ 0.0992 (heavy tails make the per-sample steps noisy)
# Thresholds leave a margin of about 1.4× or more above the worst seen.
AMARI_5 = 0.07
MIN_CORR_5 = 0.975
AMARI_LONG = 0.08
AMARI_3 = 0.1
AMARI_SOURCES = {"sparse": 0.1, "scaled_laplace": 0.1, "student_t": 0.15}


def separation(impl, mix, threshold, what):
    d = mix.S.shape[1]
    W = check_shape(unmixer_fn(impl)(mix.Z), (d, d), "unmixer(Z)")
    check(np.isfinite(W).all(), f"unmixer returned a non-finite W: {fmt(W)}")
    P = mix.system(W)
    got = amari_index(P)
    check(got <= threshold, f"{what}: the sources were not separated: Amari index of W V A is {got:.3f}, expected "
                            f"≤ {threshold}\n  W V A = {fmt(P)}")
    return W


class TestMoreSources:
    @settings(max_examples=4)
    @given(mixes(n=2000, d=5))
    def test_five_laplace_sources(self, impl, mix):
        """5 Laplace sources, 2,000 whitened samples: separated (Amari ≤ 0.07) and each matched with |corr| ≥ 0.975."""
        W = separation(impl, mix, AMARI_5, "5 sources")
        match, corr = matched_correlations(mix.Z @ W.T, mix.S)  # the specified unmix, not the student's
        check(corr.min() >= MIN_CORR_5, f"5 sources: weakest matched |correlation| {corr.min():.3f}, expected "
                                        f"≥ {MIN_CORR_5}; matches {np.round(corr, 3).tolist()}")


class TestOtherMixing:
    @pytest.mark.parametrize("kind", ["ill_conditioned", "orthogonal", "positive"])
    @settings(max_examples=2)
    @given(data=st.data())
    def test_other_mixing_matrices(self, impl, kind, data):
        """Ill-conditioned (cond 1e3), orthogonal and all-positive mixing matrices are undone as well (Amari ≤ 0.1)."""
        mix = data.draw(mixes(n=1000, d=3, mixing=kind), label="mix")
        separation(impl, mix, AMARI_3, f"{kind} mixing")


class TestLongerSignals:
    @settings(max_examples=2)
    @given(mixes(n=5000, d=3))
    def test_five_thousand_samples(self, impl, mix):
        """5,000 whitened samples of 3 Laplace sources are separated (Amari ≤ 0.08)."""
        separation(impl, mix, AMARI_LONG, "5,000 samples")


class TestOtherSources:
    @pytest.mark.parametrize("kind", ["sparse", "student_t", "scaled_laplace"])
    @settings(max_examples=2)
    @given(data=st.data())
    def test_other_super_gaussian_sources(self, impl, kind, data):
        """Sparse, Student-t (Amari ≤ 0.15) and very unequally scaled super-Gaussian sources are separated (≤ 0.1)."""
        mix = data.draw(mixes(n=1000, d=3, sources=kind), label="mix")
        separation(impl, mix, AMARI_SOURCES[kind], f"{kind} sources")


@st.composite
def small_data(draw, n=(2, 30), d=(2, 4)):
    rng = np.random.default_rng(draw(seeds()))
    X = rng.laplace(size=(draw(st.integers(*n)), draw(st.integers(*d))))
    return X - X.mean(axis=0)


class TestAnnealSchedule:
    """The schedule, checked up to the free order and sign of W's rows (the recovered sources)."""

    @given(small_data(), st.lists(st.floats(1e-3, 0.1), min_size=1, max_size=6))
    def test_one_pass_per_learning_rate(self, impl, X, anneal):
        """From the identity, each learning rate in anneal makes one pass of infomax_step over the rows in order."""
        expected = probe(impl, "ica_apply_steps", X, anneal)
        got = check_shape(impl.unmixer(X, anneal), (X.shape[1],) * 2, "unmixer(X, anneal)")
        check_close(align_rows(got, expected), expected,
                    f"unmixer(X, anneal={[round(a, 4) for a in anneal]}) vs your infomax_step applied to each of the "
                    f"{len(X)} rows in order, one pass per learning rate (rows of W in any order and sign)",
                    rtol=1e-7, atol=1e-9)

    @given(small_data(), st.integers(1, 4))
    def test_number_of_steps(self, impl, X, passes):
        """With a tiny learning rate, W - I is (passes × rows) steps' worth of the first infomax step from I."""
        eps = 1e-8
        d = X.shape[1]
        # First order in eps: every step adds eps * (your step's gradient at I), so W - I counts the steps.
        one_pass = sum(np.asarray(impl.infomax_step(np.eye(d), x, eps), dtype=float) - np.eye(d) for x in X) / eps
        W = check_shape(impl.unmixer(X, [eps] * passes), (d, d), f"unmixer(X, [{eps}] * {passes})")
        got = (align_rows(W, np.eye(d)) - np.eye(d)) / eps
        steps = np.sum(got * one_pass) / np.sum(one_pass * one_pass) * len(X)
        check_close(got, passes * one_pass, f"(unmixer(X, [{eps}] * {passes}) - I) / {eps}: about {steps:.2f} steps "
                    f"were taken, expected {passes} passes × {len(X)} rows = {passes * len(X)}",
                    rtol=1e-4, atol=1e-4 * np.abs(one_pass).max())

    @given(small_data(), st.floats(1e-3, 0.1), st.integers(0, 2), st.integers(0, 2))
    def test_zero_learning_rates_do_nothing(self, impl, X, lr, before, after):
        """Passes with learning rate 0 leave W unchanged: [0]*a + [lr] + [0]*b gives the same W as [lr]."""
        anneal = [0.0] * before + [lr] + [0.0] * after
        expected = check_shape(impl.unmixer(X, [lr]), (X.shape[1],) * 2, f"unmixer(X, [{lr}])")
        got = check_shape(impl.unmixer(X, anneal), expected.shape, f"unmixer(X, {anneal})")
        check_close(align_rows(got, expected), expected, f"unmixer(X, {anneal}) vs unmixer(X, [{lr}])",
                    rtol=1e-12, atol=1e-12)

    @given(small_data(), st.integers(1, 3))
    def test_starts_at_the_identity(self, impl, X, passes):
        """With only zero learning rates unmixer returns its starting point, the identity."""
        d = X.shape[1]
        got = check_shape(impl.unmixer(X, [0.0] * passes), (d, d), f"unmixer(X, {[0.0] * passes})")
        check_close(align_rows(got, np.eye(d)), np.eye(d), f"unmixer(X, {[0.0] * passes}) (rows in any order and sign)",
                    rtol=0, atol=1e-15)


class TestSigmoidLimits:
    @given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=3, max_dims=3, max_side=4),
                      elements=st.sampled_from([-1000.0, -745.5, -709.8, -37.0, -1e-300, 0.0, 1e-300, 37.0, 709.8,
                                                745.5, 1000.0])))
    def test_sigmoid_at_the_limits(self, impl, x):
        """sigmoid on a 3-d array of values at exp's limits: exact, same shape, no warning."""
        got, caught = probe(impl, "ica_sigmoid_warnings", x)
        check(not caught, f"sigmoid emitted warnings: {caught}")
        check_close(check_shape(got, x.shape, "sigmoid(x)"), expit(x), "sigmoid(x)", rtol=1e-9, atol=1e-12)


class TestStepSaturated:
    @given(seeds(), st.integers(6, 10), st.floats(10.0, 300.0))
    def test_step_with_saturated_units(self, impl, seed, d, scale):
        """Bigger W (up to 10×10) and samples large enough to saturate the sigmoid: still the infomax update."""
        rng = np.random.default_rng(seed)
        W = non_symmetric_matrix(rng, d)
        x = rng.uniform(-scale, scale, d)
        expected = infomax_update(W, x, 0.01)
        check_close(step_fn(impl)(W, x, 0.01), expected, "infomax_step(W, x, 0.01)",
                    rtol=1e-10, atol=1e-10 * np.abs(expected).max())


class TestUnmixBigger:
    @settings(max_examples=5)
    @given(seeds(), st.integers(6, 10))
    def test_many_samples_and_sources(self, impl, seed, d):
        """unmix(X, W) = X @ W.T for 20,000 samples of up to 10 sources."""
        rng = np.random.default_rng(seed)
        X, W = rng.standard_normal((20_000, d)), non_symmetric_matrix(rng, d)
        check_close(impl.unmix(X, W), X @ W.T, "unmix(X, W)", rtol=1e-12, atol=1e-12)
