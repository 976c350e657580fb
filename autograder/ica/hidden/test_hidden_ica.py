"""Hidden tests of the ICA assignment: cases students do not see.

CANARY-ica-5be2d1: this string must never appear in anything a student receives.

Thresholds are calibrated on the reference (see the numbers next to each one),
with a margin: any implementation of the specified algorithm passes.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit

from helpers import check, check_close, check_shape, fmt, probe
from ica_support import amari_index, infomax_update, matched_correlations, mixes, non_symmetric_matrix, seeds

ASSIGNMENT = "ica"

# Reference, whitened mixes, DEFAULT_ANNEAL; worst over the seeds that pass the
# "really mixed" filter (number of seeds in brackets):
#   5 Laplace sources, 2,000 samples [200]:             Amari ≤ 0.0xx, |corr| ≥ 0.9xx
#   3 Laplace, 5,000 samples [100]:                     Amari ≤ 0.0xx
#   3 Laplace, 1,000 samples, ill-conditioned A [200]:  Amari ≤ 0.0xx
#   … orthogonal A [200]: ≤ 0.0xx; positive A [200]: ≤ 0.0xx
#   3 sparse / Student-t(5) / scaled Laplace sources [200 each]: ≤ 0.0xx / 0.0xx / 0.0xx
AMARI_5 = 0.1
MIN_CORR_5 = 0.97
AMARI_LONG = 0.06
AMARI_3 = 0.1


def separation(impl, mix, threshold, what):
    d = mix.S.shape[1]
    W = check_shape(impl.unmixer(mix.Z), (d, d), "unmixer(Z)")
    check(np.isfinite(W).all(), f"unmixer returned a non-finite W: {fmt(W)}")
    P = W @ mix.V @ mix.A
    got = amari_index(P)
    check(got <= threshold, f"{what}: the sources were not separated: Amari index of W V A is {got:.3f}, expected "
                            f"≤ {threshold}\n  W V A = {fmt(P)}")
    return W


class TestMoreSources:
    @settings(max_examples=4)
    @given(mixes(n=2000, d=5))
    def test_five_laplace_sources(self, impl, mix):
        """5 Laplace sources, 2,000 whitened samples: separated (Amari ≤ 0.1) and each matched with |corr| ≥ 0.97."""
        W = separation(impl, mix, AMARI_5, "5 sources")
        match, corr = matched_correlations(check_shape(impl.unmix(mix.Z, W), mix.Z.shape, "unmix(Z, W)"), mix.S)
        check(corr.min() >= MIN_CORR_5, f"5 sources: weakest matched |correlation| {corr.min():.3f}, expected "
                                        f"≥ {MIN_CORR_5}; matches {np.round(corr, 3).tolist()}")


class TestOtherMixing:
    @settings(max_examples=3)
    @given(st.sampled_from(["ill_conditioned", "orthogonal", "positive"]).flatmap(
        lambda kind: mixes(n=1000, d=3, mixing=kind).map(lambda m: (kind, m))))
    def test_other_mixing_matrices(self, impl, case):
        """Ill-conditioned (cond 1e3), orthogonal and all-positive mixing matrices are undone as well (Amari ≤ 0.1)."""
        kind, mix = case
        separation(impl, mix, AMARI_3, f"{kind} mixing")


class TestLongerSignals:
    @settings(max_examples=2)
    @given(mixes(n=5000, d=3))
    def test_five_thousand_samples(self, impl, mix):
        """5,000 whitened samples of 3 Laplace sources: a closer separation (Amari ≤ 0.06)."""
        separation(impl, mix, AMARI_LONG, "5,000 samples")


class TestOtherSources:
    @settings(max_examples=3)
    @given(st.sampled_from(["sparse", "student_t", "scaled_laplace"]).flatmap(
        lambda kind: mixes(n=1000, d=3, sources=kind).map(lambda m: (kind, m))))
    def test_other_super_gaussian_sources(self, impl, case):
        """Sparse, Student-t and very unequally scaled super-Gaussian sources are separated (Amari ≤ 0.1)."""
        kind, mix = case
        separation(impl, mix, AMARI_3, f"{kind} sources")


@st.composite
def small_data(draw, n=(2, 30), d=(2, 4)):
    rng = np.random.default_rng(draw(seeds()))
    X = rng.laplace(size=(draw(st.integers(*n)), draw(st.integers(*d))))
    return X - X.mean(axis=0)


class TestAnnealSchedule:
    @given(small_data(), st.integers(1, 4))
    def test_number_of_steps(self, impl, X, passes):
        """With a tiny learning rate, W - I is (passes × rows) steps' worth of the first infomax step from I."""
        eps = 1e-8
        d = X.shape[1]
        # First order: each step adds eps * (its gradient at I); count the steps by that sum.
        one_pass = sum(np.asarray(impl.infomax_step(np.eye(d), x, eps), dtype=float) - np.eye(d) for x in X) / eps
        got = (check_shape(impl.unmixer(X, [eps] * passes), (d, d), "unmixer") - np.eye(d)) / eps
        steps = np.sum(got * one_pass) / np.sum(one_pass * one_pass) * len(X)
        check_close(got, passes * one_pass, f"(unmixer(X, [{eps}] * {passes}) - I) / {eps} — about {steps:.2f} "
                    f"steps were taken, expected {passes} passes × {len(X)} rows = {passes * len(X)}",
                    rtol=1e-4, atol=1e-4 * np.abs(one_pass).max())

    @given(small_data(), st.floats(1e-3, 0.1), st.integers(0, 2), st.integers(0, 2))
    def test_zero_learning_rates_do_nothing(self, impl, X, lr, before, after):
        """Passes with learning rate 0 leave W unchanged: [0]*a + [lr] + [0]*b gives the same W as [lr]."""
        expected = impl.unmixer(X, [lr])
        check_close(impl.unmixer(X, [0.0] * before + [lr] + [0.0] * after), expected,
                    f"unmixer(X, {[0.0] * before + [lr] + [0.0] * after}) vs unmixer(X, [{lr}])", rtol=1e-12, atol=1e-12)

    @given(small_data(), st.integers(1, 3))
    def test_starts_at_the_identity(self, impl, X, passes):
        """With only zero learning rates unmixer returns its starting point, the identity."""
        d = X.shape[1]
        check_close(impl.unmixer(X, [0.0] * passes), np.eye(d), f"unmixer(X, {[0.0] * passes})", rtol=0, atol=1e-15)

    @settings(max_examples=10)
    @given(small_data(n=(5, 40)), st.lists(st.floats(1e-3, 0.1), min_size=4, max_size=6))
    def test_longer_schedules(self, impl, X, anneal):
        """4–6 learning rates: one pass of your infomax_step per rate, in the given order."""
        expected = probe(impl, "ica_apply_steps", X, anneal)
        check_close(impl.unmixer(X, anneal), expected, f"unmixer(X, anneal={[round(a, 4) for a in anneal]})",
                    rtol=1e-7, atol=1e-9)


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
        check_close(impl.infomax_step(W, x, 0.01), expected, "infomax_step(W, x, 0.01)",
                    rtol=1e-10, atol=1e-10 * np.abs(expected).max())


class TestUnmixBigger:
    @settings(max_examples=5)
    @given(seeds(), st.integers(6, 10))
    def test_many_samples_and_sources(self, impl, seed, d):
        """unmix(X, W) = X @ W.T for 20,000 samples of up to 10 sources."""
        rng = np.random.default_rng(seed)
        X, W = rng.standard_normal((20_000, d)), non_symmetric_matrix(rng, d)
        check_close(impl.unmix(X, W), X @ W.T, "unmix(X, W)", rtol=1e-12, atol=1e-12)
