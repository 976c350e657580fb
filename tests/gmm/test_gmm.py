"""Public property tests of the Gaussian mixture assignment (gmm.py).

Each class is one graded part (see course.yml). Run them on your file with
``pytest`` from the handout folder. The expected values come from independent
oracles: scipy's ``multivariate_normal.logpdf`` with ``logsumexp`` for the
E-step, weighted means and ``np.cov(X.T, aweights=gamma_k, bias=True)`` for the
M-step, and scikit-learn's ``GaussianMixture`` for whole runs. The tests of
compute_gamma, train_gmm and gmm_compress run your function with a correct
log_gaussian_pdf (and compute_gamma) in place of yours, so a mistake in one
function costs only that function's points.
"""
from __future__ import annotations

import warnings

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

import gmm_support as gs
from helpers import call_unmodified, check, check_close, check_shape, fmt

ASSIGNMENT = "gmm"

# Covariances may differ from the oracle's by the allowed 1e-6·I (and round-off).
SIGMA_ATOL = 1.5 * gs.REG_ALLOWANCE


class TestLogGaussianPdf:
    @given(gs.e_step_cases())
    def test_agrees_with_scipy(self, impl, case):
        """log_gaussian_pdf(data, mu, sigma) equals scipy.stats.multivariate_normal.logpdf."""
        state, data = case
        for k in range(len(state.pi)):
            got = impl.log_gaussian_pdf(data, state.mu[k], state.sigma[k])
            check_close(got, gs.log_pdf(data, state.mu[k], state.sigma[k]),
                        f"log_gaussian_pdf(data, mu[{k}], sigma[{k}])", rtol=1e-9, atol=1e-9)

    @given(gs.mixture_params(k=(1, 1)), st.floats(-10, 10), st.floats(0.1, 10))
    def test_shifting_and_scaling(self, impl, state, shift, scale):
        """Moving data and mean together changes nothing; scaling both by s (sigma by s²) subtracts d·log s."""
        rng = np.random.default_rng(0)
        mu, sigma = state.mu[0], state.sigma[0]
        data = mu + rng.normal(size=(7, len(mu)))
        base = check_shape(impl.log_gaussian_pdf(data, mu, sigma), (7,), "log_gaussian_pdf")
        check_close(impl.log_gaussian_pdf(data + shift, mu + shift, sigma), base,
                    f"log_gaussian_pdf after shifting data and mean by {shift}", rtol=1e-9, atol=1e-8)
        check_close(impl.log_gaussian_pdf(data * scale, mu * scale, sigma * scale**2), base - len(mu) * np.log(scale),
                    f"log_gaussian_pdf after scaling data and mean by {scale} (sigma by {scale}²)",
                    rtol=1e-9, atol=1e-8)

    @given(gs.e_step_cases(k=(1, 1)))
    def test_arguments_are_not_modified(self, impl, case):
        """log_gaussian_pdf leaves data, mu and sigma unchanged."""
        state, data = case
        call_unmodified(impl, "log_gaussian_pdf", data, state.mu[0], state.sigma[0])


class TestComputeGamma:
    @given(gs.e_step_cases())
    def test_agrees_with_scipy_and_logsumexp(self, impl, case):
        """gamma and log_totals equal the oracle built from scipy's logpdf and logsumexp."""
        state, data = case
        gamma, log_totals = gs.as_gamma(gs.gamma_fn(impl)(*state, data), len(state.pi), len(data))
        want_gamma, want_totals = gs.e_step(*state, data)
        check_close(log_totals, want_totals, "log_totals (log p(x_n))", rtol=1e-9, atol=1e-9)
        check_close(gamma, want_gamma, "gamma (responsibilities, shape (K, N))", rtol=1e-7, atol=1e-8)

    @given(gs.e_step_cases())
    def test_columns_are_probabilities(self, impl, case):
        """Every column of gamma is non-negative and sums to 1."""
        state, data = case
        gamma, _ = gs.as_gamma(gs.gamma_fn(impl)(*state, data), len(state.pi), len(data))
        check(np.isfinite(gamma).all(), f"gamma has non-finite entries: {fmt(gamma)}")
        check((gamma >= 0).all(), f"gamma has negative entries: {fmt(gamma)}")
        check_close(gamma.sum(axis=0), np.ones(len(data)), "column sums of gamma (one per point)", rtol=0, atol=1e-9)

    @given(gs.mixture_params(), st.integers(1, 10), st.integers(0, 2**32 - 1))
    def test_stays_finite_a_thousand_standard_deviations_away(self, impl, state, n, seed):
        """Points ≥ 1000 standard deviations from every component: gamma finite with columns summing to 1, log_totals exact."""
        data = gs.far_points(np.random.default_rng(seed), state, n)
        gamma, log_totals = gs.as_gamma(gs.gamma_fn(impl)(*state, data), len(state.pi), n)
        check(np.isfinite(gamma).all() and np.isfinite(log_totals).all(),
              f"far from every component the densities underflow: use log-sum-exp\n  gamma: {fmt(gamma)}\n"
              f"  log_totals: {fmt(log_totals)}")
        check_close(gamma.sum(axis=0), np.ones(n), "column sums of gamma (one per point)", rtol=0, atol=1e-9)
        want_gamma, want_totals = gs.e_step(*state, data)
        check_close(log_totals, want_totals, "log_totals for far-away points", rtol=1e-9, atol=1e-9)
        check_close(gamma, want_gamma, "gamma for far-away points", rtol=1e-6, atol=1e-6)

    @given(gs.e_step_cases())
    def test_arguments_are_not_modified(self, impl, case):
        """compute_gamma leaves pi, mu, sigma and data unchanged."""
        state, data = case
        call_unmodified(impl, "compute_gamma", *state, data)


class TestTrainGmm:
    @given(gs.mixtures())
    def test_one_iteration_is_the_m_step_of_the_responsibilities(self, impl, case):
        """num_iterations=1: pi = N_k/N, mu = weighted means, sigma = np.cov(X.T, aweights=gamma_k, bias=True)."""
        data, init = case
        k, d = init.mu.shape
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=1), k, d)
        want = gs.m_step(data, gs.e_step(*init, data)[0])
        check_close(got.pi, want.pi, "pi after one EM iteration (N_k / N)", rtol=1e-7, atol=1e-9)
        check_close(got.mu, want.mu, "mu after one EM iteration (weighted means)", rtol=1e-7, atol=1e-8)
        check_close(got.sigma, want.sigma, "sigma after one EM iteration (weighted covariance divided by N_k)",
                    rtol=1e-7, atol=SIGMA_ATOL)

    @given(gs.mixtures(k=(1, 1), per=(3, 40)))
    def test_one_component_gives_the_sample_mean_and_biased_covariance(self, impl, case):
        """K = 1, one iteration: pi = [1], mu = the sample mean, sigma = np.cov(X.T, bias=True)."""
        data, init = case
        d = data.shape[1]
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=1), 1, d)
        check_close(got.pi, [1.0], "pi with one component", rtol=0, atol=1e-12)
        check_close(got.mu, data.mean(axis=0, keepdims=True), "mu with one component (the sample mean)",
                    rtol=1e-9, atol=1e-9)
        check_close(got.sigma[0], np.atleast_2d(np.cov(data.T, bias=True)),
                    "sigma with one component (the covariance divided by N, not N - 1)", rtol=1e-7, atol=SIGMA_ATOL)

    @settings(max_examples=15)
    @given(gs.mixtures(), st.integers(2, 5))
    def test_runs_exactly_num_iterations(self, impl, case, iterations):
        """train_gmm(..., num_iterations=n) equals n rounds of the oracle E-step then M-step."""
        data, init = case
        k, d = init.mu.shape
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=iterations), k, d)
        want = gs.em(data, *init, iterations)
        what = f"after num_iterations={iterations}"
        check_close(got.pi, want.pi, f"pi {what}", rtol=1e-4, atol=1e-5)
        check_close(got.mu, want.mu, f"mu {what}", rtol=1e-4, atol=1e-4)
        check_close(got.sigma, want.sigma, f"sigma {what}", rtol=1e-4, atol=1e-4)

    @settings(max_examples=15)
    @given(gs.mixtures())
    def test_log_likelihood_never_decreases(self, impl, case):
        """The mean log-likelihood after 0, 1, …, 8 EM iterations never goes down."""
        data, init = case
        k, d = init.mu.shape
        lls = [gs.mean_log_likelihood(init, data)]
        for n in range(1, 9):
            state = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=n), k, d)
            lls.append(gs.mean_log_likelihood(state, data))
        for n in range(1, len(lls)):
            check(lls[n] >= lls[n - 1] - 1e-9 * (1 + abs(lls[n - 1])),
                  f"the mean log-likelihood went down from {lls[n - 1]!r} (after {n - 1} iterations) to "
                  f"{lls[n]!r} (after {n}); all values: {fmt(np.array(lls))}")

    @given(gs.mixtures(), st.integers(1, 10))
    def test_pi_is_a_probability_vector(self, impl, case, iterations):
        """After training, pi is non-negative and sums to 1."""
        data, init = case
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=iterations), *init.mu.shape)
        check((got.pi >= 0).all(), f"pi has negative entries: {fmt(got.pi)}")
        check_close(got.pi.sum(), 1.0, "sum of pi", rtol=0, atol=1e-9)

    @given(gs.mixtures(), st.integers(1, 10))
    def test_every_sigma_is_symmetric_positive_semidefinite(self, impl, case, iterations):
        """After training, each sigma_k is symmetric with no negative eigenvalue."""
        data, init = case
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=iterations), *init.mu.shape)
        for k, s in enumerate(got.sigma):
            check_close(s, s.T, f"sigma[{k}] against its transpose", rtol=1e-9, atol=1e-12)
            low = np.linalg.eigvalsh((s + s.T) / 2).min()
            check(low >= -1e-10 * max(1.0, np.abs(s).max()), f"sigma[{k}] has a negative eigenvalue {low!r}: {fmt(s)}")

    @given(gs.mixtures(), st.randoms(use_true_random=False))
    def test_row_order_does_not_matter(self, impl, case, rnd):
        """Shuffling the rows of the data leaves the trained parameters unchanged."""
        data, init = case
        perm = list(range(len(data)))
        rnd.shuffle(perm)
        k, d = init.mu.shape
        a = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=5), k, d)
        b = gs.as_state(gs.train_fn(impl)(data[perm], *init, num_iterations=5), k, d)
        for field in ("pi", "mu", "sigma"):
            check_close(getattr(b, field), getattr(a, field), f"{field} after shuffling the data rows",
                        rtol=1e-7, atol=1e-9)

    @settings(max_examples=15)
    @given(gs.mixtures(k=(2, 4)))
    def test_agrees_with_scikit_learn(self, impl, case):
        """Same parameters and log-likelihood as scikit-learn's GaussianMixture (full, same start, 20 iterations)."""
        data, init = case
        k, d = init.mu.shape
        ref = sklearn_fit(data, init, 20)
        got = gs.as_state(gs.train_fn(impl)(data, *init, num_iterations=20), k, d)
        check_close(gs.mean_log_likelihood(got, data), ref.score(data),
                    "mean log-likelihood after 20 iterations vs scikit-learn", rtol=1e-5, atol=1e-5)
        check_close(got.pi, ref.weights_, "pi vs scikit-learn", rtol=1e-3, atol=1e-4)
        check_close(got.mu, ref.means_, "mu vs scikit-learn", rtol=1e-3, atol=1e-3)
        check_close(got.sigma, ref.covariances_, "sigma vs scikit-learn", rtol=1e-3, atol=1e-3)

    @given(gs.mixtures())
    def test_arguments_are_not_modified(self, impl, case):
        """train_gmm starts from copies: the data and the initial parameters stay unchanged."""
        data, init = case
        call_unmodified(impl, "train_gmm", data, *init, num_iterations=3)


def sklearn_fit(data: np.ndarray, init: gs.GMMState, iterations: int) -> GaussianMixture:
    """scikit-learn's EM from the same parameters, exactly ``iterations`` rounds (tol=0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(len(init.pi), covariance_type="full", weights_init=init.pi, means_init=init.mu,
                               precisions_init=np.linalg.inv(init.sigma), reg_covar=0.0, max_iter=iterations,
                               tol=0.0, init_params="random_from_data", random_state=0).fit(data)


@st.composite
def palette_images(draw):
    """A small image whose pixels take K well separated colours, and a mixture with one narrow component per colour."""
    h, w, c = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.sampled_from([1, 3]))
    k = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if c == 1:  # grey levels at least 0.1 apart
        palette = rng.permutation(10)[:k, None] / 10 + 0.05
    else:  # colours at least 0.2 apart
        palette = rng.random((k, c))
        while k > 1 and min(np.linalg.norm(palette[i] - palette[j]) for i in range(k) for j in range(i)) < 0.2:
            palette = rng.random((k, c))
    image = palette[rng.integers(0, k, (h, w))]
    pi = 0.5 * rng.dirichlet(np.ones(k)) + 0.5 / k
    sigma = np.stack([np.eye(c) * rng.uniform(1e-4, 4e-4) for _ in range(k)])
    return image, gs.GMMState(pi / pi.sum(), palette, sigma)


class TestGmmCompress:
    @given(palette_images())
    def test_lossless_when_every_colour_is_a_narrow_component(self, impl, case):
        """Each colour of the image is the mean of a narrow component: the image comes back unchanged."""
        image, state = case
        check_close(gs.compress_fn(impl)(image, state), image, "gmm_compress(image, state)", rtol=0, atol=1e-12)

    @given(gs.mixture_params(d=(1, 3)), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
    def test_each_pixel_becomes_the_mean_of_its_most_responsible_component(self, impl, state, h, w, seed):
        """Same shape as the input; pixel n becomes mu[argmax_k gamma[k, n]] (weights and covariances count, not just distance)."""
        c = state.mu.shape[1]
        rng = np.random.default_rng(seed)
        image = rng.uniform(-6, 6, (h, w, c))
        pixels = image.reshape(-1, c)
        lw = gs.log_weighted(*state, pixels)
        if len(lw) > 1:  # no near-ties between the two best components
            top = np.sort(lw, axis=0)
            assume((top[-1] - top[-2] > 1e-6).all())
        expected = state.mu[lw.argmax(axis=0)].reshape(image.shape)
        check_close(gs.compress_fn(impl)(image, state), expected, "gmm_compress(image, state)", rtol=0, atol=1e-12)

    @given(palette_images())
    def test_arguments_are_not_modified(self, impl, case):
        """gmm_compress leaves the image and the state unchanged."""
        call_unmodified(impl, "gmm_compress", *case)
