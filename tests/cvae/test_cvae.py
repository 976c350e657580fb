"""Public property tests of the conditional VAE assignment (cvae.py).

Each class is one graded part (see course.yml). Run them on your file with
``pytest`` from the handout folder. The tests call your model only through the
methods of the assignment (``recognition_model``, ``reparametrize``,
``generation_model``, ``forward``), never through your layers, so the depth
and activations of your MLPs are your choice. ``c`` is always the one-hot
label, a float32 tensor of shape (B, num_classes).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvae_support import (as_tensor64, batches, bce_sum, flat_parameters, inputs, is_float_tensor, kl_closed_form,
                          labels_of, loss_case, negative_elbo, normal, onehot, scalar, sizes, small_digits, tensor,
                          use_tensors_for)
from helpers import WithStandIns, call_unmodified, check, check_close, check_shape, fmt, probe, seed_all

ASSIGNMENT = "cvae"


@pytest.fixture(scope="module", autouse=True)
def _tensors(impl):
    """Inputs become torch tensors here, and tensors on the wire under the grader."""
    use_tensors_for(impl)

SMALL = dict(input_size=64, num_classes=10, latent_size=4, hidden_size=32)
seeds = st.integers(0, 2**31 - 1)


def build(impl, dims: dict, seed: int = 0):
    """The student's CVAE with the given sizes (keywords), its weights drawn after seeding."""
    seed_all(impl, seed)
    return impl.CVAE(**dims)


class TestOneHot:
    @given(st.integers(1, 12), st.integers(1, 30), seeds)
    def test_rows_are_one_hot(self, impl, num_classes, batch, seed):
        """one_hot gives a float (B, num_classes) tensor of 0s and 1s, one 1 per row, at the label."""
        labels = labels_of(seed, batch, num_classes)
        out = impl.one_hot(tensor(labels), num_classes)
        check(is_float_tensor(out),
              f"one_hot should return a float tensor (it is concatenated to float inputs), got {fmt(out)} "
              f"of dtype {getattr(out, 'dtype', type(out).__name__)}")
        arr = check_shape(out, (batch, num_classes), f"one_hot(labels, num_classes={num_classes})")
        check(np.isin(arr, (0.0, 1.0)).all(), f"one_hot should contain only 0 and 1, got {fmt(arr)}")
        check_close(arr.sum(axis=1), np.ones(batch), "row sums of one_hot", rtol=0, atol=0)
        check(np.array_equal(arr.argmax(axis=1), labels),
              f"the 1 of each row should sit at the label\n  labels:       {fmt(labels)}\n"
              f"  argmax(rows): {fmt(arr.argmax(axis=1))}")

    def test_width_does_not_depend_on_the_labels_present(self, impl):
        """one_hot(labels, 10) has 10 columns even when only labels 0 and 1 occur."""
        check_shape(impl.one_hot(tensor([0, 1, 1, 0]), 10), (4, 10), "one_hot(tensor([0, 1, 1, 0]), 10)")

    def test_labels_are_not_modified(self, impl):
        """one_hot leaves its labels unchanged."""
        call_unmodified(impl, "one_hot", tensor([3, 1, 4, 1, 5]), 6)


class TestConstructor:
    def test_default_sizes(self, impl):
        """CVAE() defaults to input 784, 10 classes, latent 20: forward gives (B, 784), (B, 20), (B, 20)."""
        model = build(impl, {})
        x, _, c = inputs(0, 3, dict(input_size=784, num_classes=10))
        x_hat, mu, logvar = model.forward(tensor(x), tensor(c))
        check_shape(x_hat, (3, 784), "x_hat of CVAE().forward")
        check_shape(mu, (3, 20), "mu of CVAE().forward")
        check_shape(logvar, (3, 20), "logvar of CVAE().forward")

    @given(sizes())
    def test_keyword_sizes(self, impl, dims):
        """CVAE(input_size=, num_classes=, latent_size=, hidden_size=) builds a model of those sizes with parameters."""
        model = build(impl, dims)
        x, _, c = inputs(1, 2, dims)
        x_hat, mu, logvar = model.forward(tensor(x), tensor(c))
        check_shape(x_hat, (2, dims["input_size"]), f"x_hat of CVAE(**{dims}).forward")
        check_shape(mu, (2, dims["latent_size"]), f"mu of CVAE(**{dims}).forward")
        flat_parameters(probe(impl, "cvae_parameters", model), f"CVAE(**{dims})")

    def test_the_built_model_computes(self, impl):
        """CVAE() maps other images to other encodings and other reconstructions (its layers are used)."""
        model = build(impl, {})
        x, _, c = inputs(0, 2, dict(input_size=784, num_classes=10))
        mu_a = as_tensor64(model.recognition_model(tensor(x), tensor(c))[0], "mu")
        mu_b = as_tensor64(model.recognition_model(tensor(1 - x), tensor(c))[0], "mu")
        check(not np.array_equal(mu_a, mu_b), f"CVAE().recognition_model gave the same mu for x and 1 - x: {fmt(mu_a)}")
        model.eval()
        z = normal(0, 2, 20)
        gen_a = as_tensor64(model.generation_model(tensor(z), tensor(c)), "x_hat")
        gen_b = as_tensor64(model.generation_model(tensor(2 * z), tensor(c)), "x_hat")
        check(not np.array_equal(gen_a, gen_b), "CVAE().generation_model gave the same image for z and 2 z")


class TestRecognitionModel:
    @given(sizes(), st.integers(1, 16), seeds)
    def test_shapes_and_finite(self, impl, dims, batch, seed):
        """recognition_model(x, c) returns finite mu and logvar, each (B, latent_size)."""
        model = build(impl, dims, seed)
        x, _, c = inputs(seed, batch, dims)
        out = model.recognition_model(tensor(x), tensor(c))
        check(isinstance(out, (tuple, list)) and len(out) == 2,
              f"recognition_model should return a pair (mu, logvar), got {fmt(out)}")
        for name, value in zip(("mu", "logvar"), out):
            arr = check_shape(value, (batch, dims["latent_size"]), f"{name} of recognition_model")
            check(np.isfinite(arr).all(), f"{name} has non-finite values: {fmt(arr)}")

    @given(seeds)
    def test_the_label_changes_the_encoding(self, impl, seed):
        """Same images, other labels: the encoder's (mu, logvar) change (the label is an input of the encoder)."""
        model = build(impl, SMALL, seed)
        model.eval()
        x, labels, c = inputs(seed, 8, SMALL)
        other = onehot((labels + 1 + seed % 9) % 10, 10)
        a = [as_tensor64(v, "recognition_model output") for v in model.recognition_model(tensor(x), tensor(c))]
        b = [as_tensor64(v, "recognition_model output") for v in model.recognition_model(tensor(x), tensor(other))]
        diff = max(np.abs(a[0] - b[0]).max(), np.abs(a[1] - b[1]).max())
        check(diff > 1e-6, f"changing c left mu and logvar unchanged (largest change {diff:.2e}): "
                           f"concatenate the one-hot label to x before the encoder")


def latent_batch(seed: int, n: int, latent: int):
    """n copies of one random (mu, logvar) row: the samples of each column are i.i.d."""
    rng = np.random.default_rng(seed)
    mu0, lv0 = rng.normal(0, 2, latent), rng.uniform(-3, 3, latent)
    return np.tile(mu0, (n, 1)).astype(np.float32), np.tile(lv0, (n, 1)).astype(np.float32)


class TestReparametrize:
    @settings(max_examples=15)
    @given(st.integers(1, 6), seeds)
    def test_samples_have_mean_mu_and_variance_exp_logvar(self, impl, latent, seed):
        """In training mode, 20,000 draws of z have mean mu and variance exp(logvar), within 6 standard errors."""
        n = 20_000
        model = build(impl, dict(SMALL, latent_size=latent), seed)
        model.train()
        mu, logvar = latent_batch(seed, n, latent)
        seed_all(impl, seed)
        z = check_shape(model.reparametrize(tensor(mu), tensor(logvar)), (n, latent),
                        "reparametrize(mu, logvar)").astype(np.float64)
        mu0, var0 = mu[0].astype(np.float64), np.exp(logvar[0].astype(np.float64))
        mean, var = z.mean(axis=0), z.var(axis=0, ddof=1)
        se_mean, se_var = np.sqrt(var0 / n), var0 * np.sqrt(2 / (n - 1))
        bad = np.flatnonzero(np.abs(mean - mu0) > 6 * se_mean)
        check(bad.size == 0, f"sample mean of z should be mu: dimension {bad[:1].tolist()} has mean "
                             f"{mean[bad[:1]].tolist()} but mu = {mu0[bad[:1]].tolist()} (standard error "
                             f"{se_mean[bad[:1]].tolist()})")
        bad = np.flatnonzero(np.abs(var - var0) > 6 * se_var)
        check(bad.size == 0, f"sample variance of z should be exp(logvar): dimension {bad[:1].tolist()} has "
                             f"variance {var[bad[:1]].tolist()} but exp(logvar) = {var0[bad[:1]].tolist()} "
                             f"(logvar = {np.log(var0[bad[:1]]).tolist()}); std is exp(logvar / 2)")

    @settings(max_examples=10)
    @given(st.integers(1, 6), seeds)
    def test_repeatable_under_manual_seed(self, impl, latent, seed):
        """The same torch seed gives the same z; another seed gives another z (noise from torch's generator)."""
        model = build(impl, dict(SMALL, latent_size=latent), seed)
        model.train()
        mu, logvar = map(tensor, latent_batch(seed, 50, latent))
        seed_all(impl, seed)
        a = as_tensor64(model.reparametrize(mu, logvar), "z")
        seed_all(impl, seed)
        b = as_tensor64(model.reparametrize(mu, logvar), "z")
        seed_all(impl, seed + 1)
        c = as_tensor64(model.reparametrize(mu, logvar), "z")
        check_close(b, a, "z after torch.manual_seed(s) twice", rtol=0, atol=0)
        check(not np.allclose(a, c), "z is the same under two different seeds: it should be random "
                                     "(eps = torch.randn_like(std))")

    @settings(max_examples=15)
    @given(st.integers(1, 16), st.integers(1, 6), seeds)
    def test_gradients_reach_mu_and_logvar(self, impl, batch, latent, seed):
        """Backpropagating z.sum() gives d/dmu = 1 and d/dlogvar = (z - mu) / 2 (whatever the noise drawn)."""
        model = build(impl, dict(SMALL, latent_size=latent), seed)
        rng = np.random.default_rng(seed)
        mu = rng.normal(0, 2, (batch, latent)).astype(np.float32)
        logvar = rng.uniform(-3, 3, (batch, latent)).astype(np.float32)
        seed_all(impl, seed)
        z, g_mu, g_logvar = probe(impl, "cvae_reparametrize_grads", model, tensor(mu), tensor(logvar))
        z = check_shape(z, (batch, latent), "reparametrize(mu, logvar)").astype(np.float64)
        check(g_mu is not None, "no gradient reached mu: build z from mu with differentiable torch operations")
        check(g_logvar is not None, "no gradient reached logvar: compute std = torch.exp(logvar / 2) without "
                                    "detach() or .data, and return mu + std * eps")
        check_close(g_mu, np.ones((batch, latent)), "gradient of z.sum() with respect to mu", rtol=1e-5, atol=1e-5)
        check_close(g_logvar, 0.5 * (z - mu.astype(np.float64)), "gradient of z.sum() with respect to logvar "
                    "(should be (z - mu) / 2, since z = mu + exp(logvar / 2) * eps)", rtol=1e-3, atol=1e-4)


class TestGenerationModel:
    @given(sizes(), st.integers(1, 16), seeds)
    def test_shape_and_values_in_unit_interval(self, impl, dims, batch, seed):
        """generation_model(z, c) is (B, input_size) with every value in [0, 1], even for large z."""
        model = build(impl, dims, seed)
        z = 10 * normal(seed, batch, dims["latent_size"])
        c = onehot(labels_of(seed + 1, batch, dims["num_classes"]), dims["num_classes"])
        out = check_shape(model.generation_model(tensor(z), tensor(c)), (batch, dims["input_size"]),
                          "generation_model(z, c)")
        check(np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all(),
              f"generation_model should return values in [0, 1] (a sigmoid output), got min {np.nanmin(out)}, "
              f"max {np.nanmax(out)}")

    @given(seeds)
    def test_the_label_changes_the_image(self, impl, seed):
        """Same z, other labels: the decoded images change (the label is an input of the decoder)."""
        model = build(impl, SMALL, seed)
        model.eval()
        z = normal(seed, 8, SMALL["latent_size"])
        labels = labels_of(seed + 1, 8, 10)
        a = as_tensor64(model.generation_model(tensor(z), tensor(onehot(labels, 10))), "x_hat")
        b = as_tensor64(model.generation_model(tensor(z), tensor(onehot((labels + 1 + seed % 9) % 10, 10))), "x_hat")
        diff = np.abs(a - b).max()
        check(diff > 1e-6, f"changing c left the decoded images unchanged (largest change {diff:.2e}): "
                           f"concatenate the one-hot label to z before the decoder")

    @given(seeds)
    def test_the_latent_changes_the_image(self, impl, seed):
        """Other z, same labels: the decoded images change (z is an input of the decoder)."""
        model = build(impl, SMALL, seed)
        model.eval()
        z = normal(seed, 8, SMALL["latent_size"])
        c = onehot(labels_of(seed + 1, 8, 10), 10)
        a = as_tensor64(model.generation_model(tensor(z), tensor(c)), "x_hat")
        b = as_tensor64(model.generation_model(tensor(z + 1), tensor(c)), "x_hat")
        check(np.abs(a - b).max() > 1e-6, "changing z left the decoded images unchanged")

    @given(seeds)
    def test_negative_latents_change_the_image(self, impl, seed):
        """z with every coordinate negative, then 2 z: the decoded images change (the prior draws negative z half the time)."""
        model = build(impl, SMALL, seed)
        model.eval()
        z = -(np.abs(normal(seed, 8, SMALL["latent_size"])) + 0.5)
        c = onehot(labels_of(seed + 1, 8, 10), 10)
        a = as_tensor64(model.generation_model(tensor(z), tensor(c)), "x_hat")
        b = as_tensor64(model.generation_model(tensor(2 * z), tensor(c)), "x_hat")
        check(np.abs(a - b).max() > 1e-6, "changing z left the decoded images unchanged when every coordinate of z "
                                          "is negative: the decoder should read z itself (do not clip z, e.g. with "
                                          "a ReLU, before its first layer)")


class TestForward:
    @given(sizes(), st.integers(1, 16), seeds)
    def test_returns_reconstruction_and_encoder_outputs(self, impl, dims, batch, seed):
        """forward(x, c) returns (x_hat, mu, logvar): x_hat (B, input_size) in [0, 1], mu and logvar those of recognition_model."""
        model = build(impl, dims, seed)
        x, _, c = map(tensor, inputs(seed, batch, dims))
        model.eval()  # no dropout: mu and logvar are then deterministic
        out = model.forward(x, c)
        check(isinstance(out, (tuple, list)) and len(out) == 3,
              f"forward should return a triple (x_hat, mu, logvar), got {fmt(out)}")
        x_hat = check_shape(out[0], (batch, dims["input_size"]), "x_hat of forward")
        check(np.isfinite(x_hat).all() and (x_hat >= 0).all() and (x_hat <= 1).all(),
              f"x_hat of forward should be in [0, 1], got {fmt(x_hat)}")
        mu, logvar = model.recognition_model(x, c)
        check_close(out[1], as_tensor64(mu, "mu"), "mu of forward vs recognition_model(x, c)", rtol=1e-5, atol=1e-6)
        check_close(out[2], as_tensor64(logvar, "logvar"), "logvar of forward vs recognition_model(x, c)",
                    rtol=1e-5, atol=1e-6)

    @settings(max_examples=10)
    @given(seeds)
    def test_decodes_a_sample_in_training_mode(self, impl, seed):
        """In training mode forward decodes a random z ~ q(z | x, c): two seeds give two reconstructions."""
        model = build(impl, SMALL, seed)
        model.train()
        x, _, c = map(tensor, inputs(seed, 8, SMALL))
        seed_all(impl, seed)
        a = as_tensor64(model.forward(x, c)[0], "x_hat")
        seed_all(impl, seed + 1)
        b = as_tensor64(model.forward(x, c)[0], "x_hat")
        check(np.abs(a - b).max() > 1e-6, "forward returned the same x_hat under two seeds: in training mode it "
                                          "should decode z = reparametrize(mu, logvar), not mu")

    @settings(max_examples=10)
    @given(st.integers(1, 16), seeds)
    def test_decodes_the_reparametrized_encoding(self, impl, batch, seed):
        """In training mode, forward(x, c) after torch.manual_seed(s) equals recognition_model, then
        reparametrize(mu, logvar), then generation_model, run after the same seed."""
        model = build(impl, SMALL, seed)
        model.train()
        x, _, c = map(tensor, inputs(seed, batch, SMALL))
        seed_all(impl, seed)
        x_hat = model.forward(x, c)[0]
        seed_all(impl, seed)
        mu, logvar = model.recognition_model(x, c)
        want = as_tensor64(model.generation_model(model.reparametrize(mu, logvar), c), "x_hat")
        check_close(x_hat, want, "x_hat of forward vs generation_model(reparametrize(mu, logvar), c) under the same "
                    "seed (pass mu, then logvar, to reparametrize)", rtol=1e-4, atol=1e-5)


class TestLossFunction:
    @given(st.integers(1, 12), st.integers(1, 40), st.integers(1, 6), seeds, st.booleans())
    def test_equals_bce_plus_kl_averaged_over_the_batch(self, impl, batch, pixels, latent, seed, binary):
        """loss = mean over the batch of (BCE summed over pixels + KL summed over latent dimensions)."""
        x_hat, x, mu, logvar = loss_case(seed, batch, pixels, latent, binary)
        got = scalar(impl.loss_function(*map(tensor, (x_hat, x, mu, logvar))), "loss_function(x_hat, x, mu, logvar)")
        bce = bce_sum(x_hat, x)
        kl = kl_closed_form(mu, logvar)
        expected = float((bce + kl).mean())
        check_close(got, expected, f"loss_function on a batch of {batch} (expected BCE {bce.mean():.6g} + KL "
                    f"{kl.mean():.6g} per example)", rtol=1e-4, atol=1e-4)

    @given(st.integers(1, 12), st.integers(1, 40), st.integers(1, 6), seeds)
    def test_kl_is_zero_at_the_prior(self, impl, batch, pixels, latent, seed):
        """With mu = 0 and logvar = 0 the KL part vanishes: the loss is the batch mean of the summed BCE."""
        x_hat, x, mu, logvar = loss_case(seed, batch, pixels, latent)
        got = scalar(impl.loss_function(*map(tensor, (x_hat, x, np.zeros_like(mu), np.zeros_like(logvar)))),
                     "loss_function")
        expected = float(bce_sum(x_hat, x).mean())
        check_close(got, expected, "loss_function with mu = 0, logvar = 0 (KL should be 0)", rtol=1e-4, atol=1e-4)

    @given(st.integers(1, 12), st.integers(1, 6), seeds)
    def test_kl_part_is_the_closed_form_and_not_negative(self, impl, batch, latent, seed):
        """loss(mu, logvar) - loss(0, 0) is the batch mean of torch.distributions' KL(N(mu, exp(logvar)) || N(0, I)), ≥ 0."""
        x_hat, x, mu, logvar = loss_case(seed, batch, 20, latent, binary=True)
        with_kl = scalar(impl.loss_function(*map(tensor, (x_hat, x, mu, logvar))), "loss_function")
        without = scalar(impl.loss_function(*map(tensor, (x_hat, x, np.zeros_like(mu), np.zeros_like(logvar)))),
                         "loss_function")
        kl = float(kl_closed_form(mu, logvar).mean())
        check(with_kl - without >= -1e-4, f"the KL part came out negative: {with_kl - without:.6g} "
                                          f"(check the sign of -1/2 * sum(1 + logvar - mu^2 - exp(logvar)))")
        check_close(with_kl - without, kl, "KL part of loss_function (loss - loss at mu = 0, logvar = 0)",
                    rtol=1e-4, atol=1e-3)

    @given(st.integers(1, 8), seeds)
    def test_duplicating_the_batch_keeps_the_loss(self, impl, batch, seed):
        """The loss is a mean over the batch: the batch stacked twice gives the same loss."""
        case = loss_case(seed, batch, 30, 3)
        once = scalar(impl.loss_function(*map(tensor, case)), "loss_function")
        twice = scalar(impl.loss_function(*(tensor(np.concatenate([a, a])) for a in case)), "loss_function")
        check_close(twice, once, "loss of the batch stacked twice (should equal the loss of the batch: average "
                    "over examples, not sum)", rtol=1e-5, atol=1e-5)

    @settings(max_examples=10)
    @given(seeds)
    def test_arguments_are_not_modified(self, impl, seed):
        """loss_function leaves x_hat, x, mu and logvar unchanged."""
        call_unmodified(impl, "loss_function", *map(tensor, loss_case(seed, 4, 10, 3)))


def digit_loader(n: int = 256, batch: int = 32, offset: int = 0):
    x, y = small_digits()
    return batches(x[offset:offset + n], y[offset:offset + n], batch)


def full_negative_elbo(impl, model, loader, seed: int) -> float:
    """The tests' own negative ELBO of the model on the loader's data (training mode, seeded)."""
    x = np.concatenate([np.asarray(b[0]) for b in loader])
    c = onehot(np.concatenate([np.asarray(b[1]) for b in loader]), 10)
    model.train()
    seed_all(impl, seed)
    x_hat, mu, logvar = model.forward(tensor(x), tensor(c))
    return negative_elbo(x_hat, x, mu, logvar)


def train_fn(impl):
    """The student's train_cvae, calling a correct loss_function: a loss mistake costs loss_function's points only."""
    return WithStandIns(impl, ASSIGNMENT, "loss_function").train_cvae


class TestTrainCVAE:
    @settings(max_examples=4)
    @given(seeds)
    def test_training_lowers_the_loss(self, impl, seed):
        """48 Adam steps (6 epochs of 8 batches of 8 x 8 digits) cut the negative ELBO by at least 20 %."""
        loader = digit_loader()
        model = build(impl, SMALL, seed)
        before = full_negative_elbo(impl, model, loader, seed)
        seed_all(impl, seed)
        losses = as_tensor64(train_fn(impl)(model, loader, epochs=6, lr=3e-3), "train_cvae(...) losses")
        check_shape(losses, (6,), "losses returned by train_cvae(model, loader, epochs=6)")
        check(np.isfinite(losses).all(), f"non-finite epoch losses: {fmt(losses)}")
        after = full_negative_elbo(impl, model, loader, seed)
        check(after <= 0.8 * before, f"the negative ELBO of the training data fell from {before:.4g} only to "
                                     f"{after:.4g} (expected at least a 20 % drop after 48 Adam steps)")
        check(losses[-1] <= 0.8 * losses[0], f"the mean loss of epoch 6 ({losses[-1]:.4g}) should be at least "
                                             f"20 % below that of epoch 1 ({losses[0]:.4g}); losses: {fmt(losses)}")

    @settings(max_examples=3)
    @given(seeds)
    def test_epoch_loss_is_the_mean_batch_loss(self, impl, seed):
        """With lr = 0 the model stays put, so each epoch's value is the negative ELBO of the data (per example)."""
        # The last of the 8 batches is all-white images, whose loss differs from the others' by 0.4-1.3 %:
        # reporting the last batch's loss is then visible, and so is a sum started at 1 (+1/8 per epoch,
        # +0.28 %). The noise of the random draws of z moves the epoch mean by at most 3e-4 (calibrated on
        # the reference over seeds), hence rtol 1e-3.
        x, y = small_digits()
        x = np.concatenate([x[:448], np.ones((64, x.shape[1]), dtype=x.dtype)])
        loader = batches(x, y[:512], 64)
        model = build(impl, SMALL, seed)
        reference = np.mean([full_negative_elbo(impl, model, loader, seed + k) for k in range(3)])
        seed_all(impl, seed)
        losses = as_tensor64(train_fn(impl)(model, loader, epochs=2, lr=0.0), "train_cvae(...) losses")
        check_shape(losses, (2,), "losses returned by train_cvae(model, loader, epochs=2)")
        check_close(losses, np.full(2, reference), "epoch losses with lr = 0 (the mean of loss_function over the "
                    "batches, about the negative ELBO per example)", rtol=1e-3, atol=0)


class TestSampleDigits:
    @given(st.integers(1, 20), seeds)
    def test_shape_and_values(self, impl, batch, seed):
        """sample_digits(model, labels) is (B, input_size) with values in [0, 1]."""
        model = build(impl, SMALL, seed)
        labels = labels_of(seed, batch, 10)
        seed_all(impl, seed)
        out = check_shape(impl.sample_digits(model, tensor(labels)), (batch, 64), "sample_digits(model, labels)")
        check(np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all(),
              f"sample_digits should return values in [0, 1], got {fmt(out)}")

    @settings(max_examples=5)
    @given(seeds)
    def test_each_row_is_a_new_draw(self, impl, seed):
        """sample_digits(model, [k] * 8) draws a new z per row: the 8 images are not all the same."""
        model = build(impl, SMALL, seed)
        seed_all(impl, seed)
        labels = tensor(np.full(8, seed % 10, dtype=np.int64))
        out = check_shape(impl.sample_digits(model, labels), (8, 64), "sample_digits(model, labels)").astype(np.float64)
        check(np.ptp(out, axis=0).max() > 0, f"the 8 samples for label {seed % 10} are identical: {fmt(out[0])}")

    @settings(max_examples=10)
    @given(seeds)
    def test_samples_follow_the_decoder_under_the_prior(self, impl, seed):
        """Per pixel, sample_digits(model, [k] * n) has the mean and spread of generation_model(z ~ N(0, I), k)."""
        n, k = 3000, seed % 10
        model = build(impl, SMALL, seed)
        model.eval()
        z = normal(seed + 7919, n, SMALL["latent_size"])
        want = as_tensor64(model.generation_model(tensor(z), tensor(onehot(np.full(n, k), 10))), "generation_model")
        seed_all(impl, seed)
        got = check_shape(impl.sample_digits(model, tensor(np.full(n, k))), (n, 64), "sample_digits").astype(float)
        se_mean = np.sqrt((want.var(0) + got.var(0)) / n)
        gap = np.abs(got.mean(0) - want.mean(0)) / (se_mean + 1e-6)
        se_std = np.sqrt((want.var(0) + got.var(0)) / (2 * n)) * 2
        gap_std = np.abs(got.std(0) - want.std(0)) / (se_std + 1e-6)
        p = int(np.argmax(np.maximum(gap, gap_std)))
        check(gap.max() <= 6 and gap_std.max() <= 6,
              f"samples for label {k} do not look like decoded N(0, I) draws with that label: at pixel {p} the "
              f"mean is {got.mean(0)[p]:.4f} (expected {want.mean(0)[p]:.4f}) and the standard deviation "
              f"{got.std(0)[p]:.4f} (expected {want.std(0)[p]:.4f}); draw z with torch.randn and decode it with "
              f"one_hot(labels)")

    @settings(max_examples=10)
    @given(seeds)
    def test_labels_are_not_modified(self, impl, seed):
        """sample_digits leaves its labels unchanged."""
        model = build(impl, SMALL, seed)
        seed_all(impl, seed)
        _, changed = probe(impl, "cvae_sample_digits_tracking_labels", model, tensor(np.arange(10)))
        check(not changed, "sample_digits modified its labels in place; work on a copy instead")
