"""Hidden tests of the Gaussian mixture assignment: cases students do not see.

CANARY-gmm-4e81b7: this string must never appear in anything a student receives.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

import gmm_support as gs
from helpers import check, check_close, check_shape, fmt

ASSIGNMENT = "gmm"

SIGMA_ATOL = 1.5 * gs.REG_ALLOWANCE


class TestHighDimension:
    @settings(max_examples=8)
    @given(st.integers(1, 4), st.integers(1, 40), st.integers(0, 2**32 - 1))
    def test_e_step_in_50_dimensions(self, impl, k, n, seed):
        """d = 50: log_gaussian_pdf, gamma and log_totals agree with scipy and logsumexp."""
        rng = np.random.default_rng(seed)
        state = gs.params_from(rng, k, 50, spread=2.0)
        data = state.mu[rng.integers(k, size=n)] + rng.normal(0, 2.0, (n, 50))
        for j in range(k):
            check_close(impl.log_gaussian_pdf(data, state.mu[j], state.sigma[j]), gs.log_pdf(data, state.mu[j], state.sigma[j]),
                        f"log_gaussian_pdf in 50 dimensions (component {j})", rtol=1e-9, atol=1e-8)
        gamma, log_totals = gs.as_gamma(gs.gamma_fn(impl)(*state, data), k, n)
        want_gamma, want_totals = gs.e_step(*state, data)
        check_close(log_totals, want_totals, "log_totals in 50 dimensions", rtol=1e-9, atol=1e-8)
        check_close(gamma, want_gamma, "gamma in 50 dimensions", rtol=1e-6, atol=1e-7)

    @settings(max_examples=5)
    @given(st.integers(1, 3), st.integers(0, 2**32 - 1))
    def test_one_em_iteration_in_50_dimensions(self, impl, k, seed):
        """d = 50, a few hundred points per component: one iteration equals the oracle E-step then M-step."""
        rng = np.random.default_rng(seed)
        data, centres = gs.sample_mixture(rng, k, 50, [int(rng.integers(150, 250)) for _ in range(k)], spread=2.0)
        init = gs.broad_init(rng, data, centres)
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=1), k, 50)
        want = gs.m_step(data, gs.e_step(*init, data)[0])
        check_close(got.pi, want.pi, "pi after one iteration in 50 dimensions", rtol=1e-7, atol=1e-9)
        check_close(got.mu, want.mu, "mu after one iteration in 50 dimensions", rtol=1e-7, atol=1e-8)
        check_close(got.sigma, want.sigma, "sigma after one iteration in 50 dimensions", rtol=1e-7, atol=SIGMA_ATOL)


class TestFarAway:
    @given(gs.mixture_params(d=(1, 5)), st.integers(1, 10), st.integers(0, 2**32 - 1))
    def test_points_a_million_standard_deviations_away(self, impl, state, n, seed):
        """10⁶ standard deviations from every component: gamma finite, columns sum to 1, log_totals exact."""
        data = gs.far_points(np.random.default_rng(seed), state, n, stds=1e6)
        gamma, log_totals = gs.as_gamma(gs.gamma_fn(impl)(*state, data), len(state.pi), n)
        check(np.isfinite(gamma).all() and np.isfinite(log_totals).all(),
              f"non-finite results far from every component\n  gamma: {fmt(gamma)}\n  log_totals: {fmt(log_totals)}")
        want_gamma, want_totals = gs.e_step(*state, data)
        check_close(log_totals, want_totals, "log_totals 10⁶ standard deviations away", rtol=1e-9, atol=1e-6)
        check_close(gamma, want_gamma, "gamma 10⁶ standard deviations away", rtol=1e-6, atol=1e-6)

    @settings(max_examples=15)
    @given(gs.mixtures(k=(2, 4)), st.integers(0, 2**32 - 1))
    def test_training_with_a_far_outlier(self, impl, case, seed):
        """One point 10⁴ standard deviations away: one EM iteration stays finite and equals the oracle."""
        data, init = case
        outlier = gs.far_points(np.random.default_rng(seed), init, 1, stds=1e4)
        data = np.concatenate([data, outlier])
        k, d = init.mu.shape
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=1), k, d)
        check(all(np.isfinite(v).all() for v in got), f"non-finite parameters after one iteration: {fmt(got.mu)}")
        want = gs.m_step(data, gs.e_step(*init, data)[0])
        check_close(got.pi, want.pi, "pi with a far outlier", rtol=1e-7, atol=1e-9)
        check_close(got.mu, want.mu, "mu with a far outlier", rtol=1e-7, atol=1e-8)
        check_close(got.sigma, want.sigma, "sigma with a far outlier", rtol=1e-7, atol=SIGMA_ATOL)


def ill_conditioned(rng: np.random.Generator, d: int, smallest: float) -> np.ndarray:
    """A covariance with eigenvalues from 1 down to ``smallest`` in a random orientation."""
    q = ortho_group.rvs(d, random_state=rng) if d > 1 else np.ones((1, 1))
    return (q * np.logspace(0, np.log10(smallest), d)) @ q.T


class TestNearSingular:
    @given(st.integers(2, 5), st.integers(1, 20), st.sampled_from([1e-4, 1e-6, 1e-8]), st.integers(0, 2**32 - 1))
    def test_log_pdf_of_a_thin_gaussian(self, impl, d, n, smallest, seed):
        """Covariance with condition number up to 10⁸: log_gaussian_pdf and log_totals agree with scipy."""
        rng = np.random.default_rng(seed)
        sigma = ill_conditioned(rng, d, smallest)
        mu = rng.uniform(-1, 1, d)
        data = rng.multivariate_normal(mu, sigma, size=n) + rng.normal(0, 1e-3, (n, d))
        check_close(impl.log_gaussian_pdf(data, mu, sigma), gs.log_pdf(data, mu, sigma),
                    f"log_gaussian_pdf with eigenvalues down to {smallest:g}", rtol=1e-6, atol=1e-6)
        state = gs.GMMState(np.array([0.3, 0.7]), np.stack([mu, mu + 0.5]), np.stack([sigma, np.eye(d)]))
        gamma, log_totals = gs.as_gamma(gs.gamma_fn(impl)(*state, data), 2, n)
        want_gamma, want_totals = gs.e_step(*state, data)
        check_close(log_totals, want_totals, "log_totals with a thin component", rtol=1e-6, atol=1e-6)
        check_close(gamma, want_gamma, "gamma with a thin component", rtol=1e-5, atol=1e-6)

    @settings(max_examples=15)
    @given(st.integers(2, 3), st.integers(0, 2**32 - 1))
    def test_em_with_a_flat_cluster(self, impl, d, seed):
        """One cluster is nearly flat (covariance condition number 10⁸): one iteration matches the oracle; the likelihood never goes down."""
        rng = np.random.default_rng(seed)
        # Scaled by 1000 so that the accepted 1e-6·I stays negligible against the thin direction (variance 1e-2).
        flat = rng.multivariate_normal(np.zeros(d), ill_conditioned(rng, d, 1e-8), size=int(rng.integers(30, 60)))
        round_ = rng.multivariate_normal(np.full(d, 3.0), np.eye(d), size=int(rng.integers(30, 60)))
        data = 1000 * rng.permutation(np.concatenate([flat, round_]))
        init = gs.broad_init(rng, data, 1000 * np.stack([np.zeros(d), np.full(d, 3.0)]))
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=1), 2, d)
        want = gs.m_step(data, gs.e_step(*init, data)[0])
        check_close(got.mu, want.mu, "mu after one iteration", rtol=1e-7, atol=1e-8)
        check_close(got.sigma, want.sigma, "sigma after one iteration", rtol=1e-7, atol=SIGMA_ATOL)
        lls = [gs.mean_log_likelihood(init, data)]
        for n in (2, 4, 8, 12):
            state = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=n), 2, d)
            lls.append(gs.mean_log_likelihood(state, data))
        check(all(b >= a - 1e-9 * (1 + abs(a)) for a, b in zip(lls, lls[1:])),
              f"the mean log-likelihood after 0, 2, 4, 8, 12 iterations went down: {fmt(np.array(lls))}")
        check(np.isfinite(state.sigma).all(), f"non-finite sigma after 12 iterations: {fmt(state.sigma)}")

    @settings(max_examples=10)
    @given(st.integers(2, 4), st.integers(0, 2**32 - 1))
    def test_an_exactly_flat_cluster_keeps_sigma_positive_semidefinite(self, impl, d, seed):
        """A cluster with no spread at all in one direction: after one iteration its sigma is still positive semidefinite.

        Its covariance has an exact zero eigenvalue; what may be added to keep sigma invertible is at
        most +1e-6·I, so an eigenvalue below -1e-9 can only come from subtracting it.
        """
        rng = np.random.default_rng(seed)
        flat = rng.normal(0, 1, (int(rng.integers(10, 30)), d))
        flat[:, -1] = 0.0  # exactly in the hyperplane x_d = 0
        far = rng.normal(1e3, 1, (int(rng.integers(10, 30)), d))  # so far that every gamma is exactly 0 or 1
        data = rng.permutation(np.concatenate([flat, far]))
        init = gs.GMMState(np.array([0.5, 0.5]), np.stack([flat.mean(0), far.mean(0)]), np.stack([np.eye(d)] * 2))
        got = gs.as_state(impl.train_gmm(data, *init, num_iterations=1), 2, d)
        for k in range(2):
            smallest = float(np.linalg.eigvalsh((got.sigma[k] + got.sigma[k].T) / 2).min())
            check(smallest >= -1e-9, f"sigma[{k}] after one iteration has eigenvalue {smallest:.3g} < 0 on data with "
                                     f"no spread along one axis: add (never subtract) the 1e-6·I regulariser")


def photo(name: str, step: int) -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)()[::step, ::step, :3].astype(np.float64) / 255.0


class TestBiggerImages:
    @settings(max_examples=2)
    @given(st.sampled_from(["coffee", "astronaut"]), st.integers(0, 2**32 - 1))
    def test_compress_a_photo(self, impl, name, seed):
        """A photo of ~65,000 pixels, K = 5: every pixel becomes the mean of its most responsible component."""
        rng = np.random.default_rng(seed)
        image = photo(name, 2)
        pixels = image.reshape(-1, 3)
        sample = pixels[rng.choice(len(pixels), 3000, replace=False)]
        state = gs.em(sample, np.full(5, 0.2), sample[rng.choice(len(sample), 5, replace=False)],
                      np.repeat(np.cov(sample.T, bias=True)[None], 5, axis=0), 5, reg=1e-6)
        got = check_shape(gs.compress_fn(impl)(image, state), image.shape, "gmm_compress(photo, state)")
        lw = gs.log_weighted(*state, pixels)
        top = np.sort(lw, axis=0)
        clear = top[-1] - top[-2] > 1e-6  # near-ties may go either way
        expected = np.where(clear[:, None], state.mu[lw.argmax(axis=0)], got.reshape(-1, 3)).reshape(image.shape)
        check_close(got, expected, "compressed photo", rtol=0, atol=1e-12)

    @settings(max_examples=2)
    @given(st.sampled_from(["coffee", "astronaut"]), st.integers(0, 2**32 - 1))
    def test_train_on_photo_pixels(self, impl, name, seed):
        """10,000 pixels (0–255 values, dithered), K = 5, 10 iterations: same parameters and log-likelihood as the oracle EM."""
        rng = np.random.default_rng(seed)
        pixels = 255 * photo(name, 1).reshape(-1, 3)
        # Dithering spreads the repeated 8-bit values, so no component can shrink onto one colour.
        data = pixels[rng.choice(len(pixels), 10_000, replace=False)] + rng.uniform(0, 1, (10_000, 3))
        init = gs.GMMState(np.full(5, 0.2), data[rng.choice(len(data), 5, replace=False)],
                           np.repeat(np.cov(data.T, bias=True)[None], 5, axis=0))
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=10), 5, 3)
        want = gs.em(data, *init, 10)
        check_close(gs.mean_log_likelihood(got, data), gs.mean_log_likelihood(want, data),
                    "mean log-likelihood after 10 iterations", rtol=1e-5, atol=1e-5)
        check_close(got.pi, want.pi, "pi after 10 iterations", rtol=1e-3, atol=1e-5)
        check_close(got.mu, want.mu, "mu after 10 iterations", rtol=1e-3, atol=1e-5)
        check_close(got.sigma, want.sigma, "sigma after 10 iterations", rtol=1e-3, atol=SIGMA_ATOL + 1e-6)
