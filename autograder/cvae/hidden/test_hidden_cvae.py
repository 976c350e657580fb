"""Hidden tests of the conditional VAE assignment: cases students do not see.

CANARY-cvae-4b91e2: this string must never appear in anything a student receives.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvae_support import (as_tensor64, batches, bce_sum, flat_parameters, inputs, kl_closed_form, negative_elbo, normal,
                          onehot, scalar, sizes, small_digits, tensor, use_tensors_for)
from helpers import WithStandIns, check, check_close, check_shape, fmt, probe, seed_all

ASSIGNMENT = "cvae"


@pytest.fixture(scope="module", autouse=True)
def _tensors(impl):
    """Inputs become torch tensors here, and tensors on the wire under the grader."""
    use_tensors_for(impl)

seeds = st.integers(0, 2**31 - 1)


def build(impl, dims: dict, seed: int = 0):
    seed_all(impl, seed)
    return impl.CVAE(**dims)


# Sizes outside the public tests' ranges: tiny and wide inputs, one class or many, wide latents.
other_sizes = st.one_of(
    sizes(input_size=(1, 7), num_classes=(1, 3), latent_size=(9, 24), hidden_size=(2, 8)),
    sizes(input_size=(100, 300), num_classes=(11, 26), latent_size=(1, 3), hidden_size=(8, 24)),
)


TINY = dict(input_size=64, num_classes=10, latent_size=3, hidden_size=16)


def check_training_moves(impl, model, loader, seed: int, epochs: int, lr: float, falls: bool = True) -> np.ndarray:
    """train_cvae with lr > 0 changes the parameters (and, if asked, its last epoch loss is below its first).

    Each line whose main check is "nothing happens" (lr = 0, zero_grad, finiteness) also runs
    this, so a train_cvae that never steps cannot earn it.
    """
    before = flat_parameters(probe(impl, "cvae_parameters", model), "parameters before training")
    seed_all(impl, seed)
    losses = as_tensor64(impl.train_cvae(model, loader, epochs=epochs, lr=lr), "losses")
    check_shape(losses, (epochs,), f"losses of train_cvae(model, loader, epochs={epochs})")
    check(np.isfinite(losses).all(), f"non-finite losses: {fmt(losses)}")
    after = flat_parameters(probe(impl, "cvae_parameters", model), "parameters after training")
    check(after.shape == before.shape and (after != before).any(),
          f"train_cvae(model, loader, epochs={epochs}, lr={lr}) left every parameter unchanged: step the optimiser")
    if falls:
        check(losses[-1] < losses[0], f"with lr = {lr} the epoch losses did not fall: {fmt(losses)}")
    return losses


class TestOtherSizes:
    @settings(max_examples=12)
    @given(other_sizes, st.integers(1, 9), seeds)
    def test_every_function_follows_the_sizes(self, impl, dims, batch, seed):
        """All functions work for other input, class and latent sizes, with outputs of the right shapes."""
        model = build(impl, dims, seed)
        d, k, h = dims["input_size"], dims["num_classes"], dims["latent_size"]
        x, labels, c = map(tensor, inputs(seed, batch, dims))
        where = f"CVAE(**{dims})"
        check_shape(impl.one_hot(labels, k), (batch, k), f"one_hot(labels, {k})")
        mu, logvar = model.recognition_model(x, c)
        check_shape(mu, (batch, h), f"mu of {where}.recognition_model")
        check_shape(logvar, (batch, h), f"logvar of {where}.recognition_model")
        model.train()
        check_shape(model.reparametrize(mu, logvar), (batch, h), f"{where}.reparametrize")
        gen = check_shape(model.generation_model(tensor(normal(seed, batch, h)), c), (batch, d), f"{where}.generation_model")
        check(((gen >= 0) & (gen <= 1)).all(), f"{where}.generation_model left [0, 1]: {fmt(gen)}")
        x_hat, mu, logvar = model.forward(x, c)
        check_shape(x_hat, (batch, d), f"x_hat of {where}.forward")
        loss = scalar(impl.loss_function(x_hat, x, mu, logvar), "loss_function")
        check(np.isfinite(loss), f"loss_function gave {loss}")
        check_shape(impl.sample_digits(model, labels), (batch, d), f"sample_digits with {where}")

    @settings(max_examples=6)
    @given(other_sizes, seeds)
    def test_training_with_default_arguments(self, impl, dims, seed):
        """train_cvae(model, loader) without epochs and lr runs one epoch and returns one finite mean loss."""
        model = build(impl, dims, seed)
        x, labels, _ = inputs(seed, 24, dims)
        seed_all(impl, seed)
        losses = as_tensor64(impl.train_cvae(model, batches(x, labels, 8)), "train_cvae(model, loader) losses")
        check_shape(losses, (1,), "losses of train_cvae(model, loader) (default epochs=1)")
        check(np.isfinite(losses).all(), f"non-finite loss: {fmt(losses)}")

    @settings(max_examples=4)
    @given(other_sizes, seeds)
    def test_training_moves_models_of_other_sizes(self, impl, dims, seed):
        """train_cvae changes the parameters of models of other sizes too."""
        model = build(impl, dims, seed)
        x, labels, _ = inputs(seed, 24, dims)
        check_training_moves(impl, model, batches(x, labels, 8), seed, epochs=2, lr=1e-2, falls=False)


class TestExtremeOutputs:
    @given(st.integers(1, 8), st.integers(1, 30), seeds)
    def test_loss_is_finite_when_x_hat_is_exactly_zero_or_one(self, impl, batch, pixels, seed):
        """A saturated decoder (x_hat exactly 0 or 1, even on the wrong side of x) gives a finite loss."""
        rng = np.random.default_rng(seed)
        x = rng.random((batch, pixels)).astype(np.float32)
        x[:, 0], x[:, -1] = 1.0, 0.0
        x_hat = (rng.random((batch, pixels)) < 0.5).astype(np.float32)
        x_hat[:, 0], x_hat[:, -1] = 0.0, 1.0  # certain of the wrong value
        mu = rng.normal(0, 1, (batch, 3)).astype(np.float32)
        logvar = rng.uniform(-2, 2, (batch, 3)).astype(np.float32)
        loss = scalar(impl.loss_function(*map(tensor, (x_hat, x, mu, logvar))), "loss_function with x_hat in {0, 1}")
        check(np.isfinite(loss), f"loss_function returned {loss} when x_hat holds exact 0s and 1s: clamp the "
                                 f"logarithms (F.binary_cross_entropy does) so that log(0) never appears")

    @given(st.integers(1, 8), seeds)
    def test_loss_is_finite_for_float32_rounding_to_one(self, impl, batch, seed):
        """x_hat = sigmoid(20) rounds to exactly 1.0 in float32; the loss with x = 0 there stays finite."""
        x_hat = np.full((batch, 10), 1 / (1 + np.exp(-20.0)), dtype=np.float32)  # exactly 1.0
        z = np.zeros((batch, 2), dtype=np.float32)
        loss = scalar(impl.loss_function(*map(tensor, (x_hat, np.zeros((batch, 10)), z, z))), "loss_function")
        check(np.isfinite(loss), f"loss_function returned {loss} for x_hat = sigmoid(20) = {x_hat[0, 0].item()}")

    @given(st.integers(1, 8), st.integers(2, 30), seeds)
    def test_loss_at_the_edge_of_the_exact_range(self, impl, batch, pixels, seed):
        """x_hat = 1e-6 or 1 - 1e-6 on the wrong side of x: the loss is still BCE + KL exactly (only clamping below 1e-6 is free)."""
        rng = np.random.default_rng(seed)
        x = (rng.random((batch, pixels)) < 0.5).astype(np.float32)
        x_hat = np.where(x > 0.5, np.float32(1e-6), np.float32(1 - 1e-6)).astype(np.float32)
        mu = rng.normal(0, 1, (batch, 3)).astype(np.float32)
        logvar = rng.uniform(-2, 2, (batch, 3)).astype(np.float32)
        want = float((bce_sum(x_hat.astype(np.float64), x.astype(np.float64))
                      + kl_closed_form(mu.astype(np.float64), logvar.astype(np.float64))).mean())
        loss = scalar(impl.loss_function(*map(tensor, (x_hat, x, mu, logvar))), "loss_function")
        check_close(loss, want, "loss_function with x_hat = 1e-6 / 1 - 1e-6 against x", rtol=1e-4, atol=0)


class TestZeroLearningRate:
    @settings(max_examples=5)
    @given(seeds)
    def test_lr_zero_changes_no_parameter(self, impl, seed):
        """train_cvae(..., lr=0.0) leaves every parameter exactly as it was."""
        x, y = small_digits()
        model = build(impl, dict(input_size=64, num_classes=10, latent_size=3, hidden_size=16), seed)
        before = flat_parameters(probe(impl, "cvae_parameters", model), "parameters before training")
        seed_all(impl, seed)
        losses = as_tensor64(impl.train_cvae(model, batches(x[:128], y[:128], 32), epochs=2, lr=0.0), "losses")
        check(np.isfinite(losses).all(), f"non-finite losses with lr = 0: {fmt(losses)}")
        after = flat_parameters(probe(impl, "cvae_parameters", model), "parameters after training")
        check(after.shape == before.shape, "training changed the number of parameters")
        moved = np.flatnonzero(after != before)
        check(moved.size == 0, f"with lr = 0, {moved.size} of {before.size} parameter values changed (first: "
                               f"{before[moved[:1]].tolist()} -> {after[moved[:1]].tolist()}): pass lr to the "
                               f"optimiser and do not re-initialise the model")

    @settings(max_examples=3)
    @given(seeds)
    def test_a_positive_lr_trains(self, impl, seed):
        """The same call with lr = 0.01 changes the parameters and lowers the epoch loss (only lr = 0 is a no-op)."""
        x, y = small_digits()
        model = build(impl, TINY, seed)
        check_training_moves(impl, model, batches(x[:128], y[:128], 32), seed, epochs=4, lr=1e-2)

    @settings(max_examples=3)
    @given(seeds)
    def test_a_loader_of_one_batch(self, impl, seed):
        """lr = 0 and a loader holding a single batch: each epoch's value is that batch's loss (its mean over one batch)."""
        x, y = small_digits()
        x, y = x[:256], y[:256]
        model = build(impl, TINY, seed)
        reference = []
        for k in range(3):
            model.train()
            seed_all(impl, seed + k)
            x_hat, mu, logvar = model.forward(tensor(x), tensor(onehot(y, 10)))
            reference.append(negative_elbo(x_hat, x, mu, logvar))
        seed_all(impl, seed)
        train = WithStandIns(impl, ASSIGNMENT, "loss_function").train_cvae
        losses = as_tensor64(train(model, batches(x, y, 256), epochs=2, lr=0.0), "losses")
        check_shape(losses, (2,), "losses of train_cvae(model, [one batch], epochs=2)")
        check_close(losses, np.full(2, np.mean(reference)), "epoch losses for a loader of one batch with lr = 0 (the "
                    "negative ELBO of that batch per example)", rtol=1e-2, atol=0)


class TestZeroGrad:
    @settings(max_examples=4)
    @given(seeds)
    def test_gradients_do_not_accumulate_across_batches(self, impl, seed):
        """Each step uses the gradient of its own batch: after 20 identical batches with lr = 0 the gradients
        left on the parameters are no larger than after one (call zero_grad every step)."""
        x, y = small_digits()
        model = build(impl, dict(input_size=64, num_classes=10, latent_size=3, hidden_size=16), seed)
        seed_all(impl, seed)
        norms = probe(impl, "cvae_accumulated_grad_norms", model, tensor(x[:128]), tensor(y[:128]), 20, 3)
        single, many = max(norms["single"]), norms["many"][0]
        check(many <= 2.5 * single, f"after 20 identical batches the parameters hold a gradient of norm {many:.4g}, "
                                    f"{many / max(single, 1e-30):.1f} times that of one batch ({single:.4g}): "
                                    f"gradients add up across steps; call optimizer.zero_grad() before each "
                                    f"backward()")

    @settings(max_examples=2)
    @given(seeds)
    def test_identical_batches_still_train(self, impl, seed):
        """With lr = 0.01, 20 identical batches change the parameters and lower the loss (zero_grad, then step)."""
        x, y = small_digits()
        model = build(impl, TINY, seed)
        check_training_moves(impl, model, batches(x[:32], y[:32], 32) * 20, seed, epochs=2, lr=1e-2)


class TestBatchesWithoutEveryClass:
    @settings(max_examples=4)
    @given(seeds)
    def test_training_when_batches_miss_the_high_labels(self, impl, seed):
        """A 10-class model trains on batches holding only digits 0-2, and still takes label 9 afterwards."""
        x, y = small_digits()
        keep = y <= 2
        x, y = x[keep][:96], y[keep][:96]
        model = build(impl, dict(input_size=64, num_classes=10, latent_size=3, hidden_size=16), seed)
        seed_all(impl, seed)
        losses = as_tensor64(impl.train_cvae(model, batches(x, y, 32), epochs=2, lr=1e-3), "losses")
        check(np.isfinite(losses).all(), f"non-finite losses: {fmt(losses)}")
        out = impl.sample_digits(model, tensor([9, 0]))
        check_shape(out, (2, 64), "sample_digits(model, tensor([9, 0])) after training")

    @settings(max_examples=2)
    @given(seeds)
    def test_those_batches_train_the_model(self, impl, seed):
        """Batches holding only digits 0-2 still train a 10-class model: the parameters change, the loss falls."""
        x, y = small_digits()
        keep = y <= 2
        model = build(impl, TINY, seed)
        check_training_moves(impl, model, batches(x[keep][:96], y[keep][:96], 32), seed, epochs=4, lr=1e-2)


def digit_classifier():
    """A nearest-class-mean classifier of 8 x 8 digits (the tests' own judge of a drawn digit)."""
    x, y = small_digits()
    means = np.stack([x[y == k].mean(0) for k in range(10)]).astype(np.float64)

    def classify(images: np.ndarray) -> np.ndarray:
        d = ((images[:, None, :] - means[None]) ** 2).sum(-1)
        return d.argmin(1)

    return classify


class TestDrawsTheAskedDigit:
    @settings(max_examples=2)
    @given(seeds)
    def test_trained_samples_look_like_their_label(self, impl, seed):
        """After 15 epochs on the 8 x 8 digits, most samples for label k are nearest to the mean image of digit k."""
        x, y = small_digits()
        model = build(impl, dict(input_size=64, num_classes=10, latent_size=4, hidden_size=64), seed)
        seed_all(impl, seed)
        impl.train_cvae(model, batches(x, y, 64), epochs=15, lr=3e-3)
        labels = np.repeat(np.arange(10), 30)
        seed_all(impl, seed)
        images = check_shape(impl.sample_digits(model, tensor(labels)), (300, 64), "sample_digits").astype(np.float64)
        hits = digit_classifier()(images) == labels
        worst = int(np.argmin(hits.reshape(10, 30).mean(1)))
        check(hits.mean() >= 0.6, f"only {hits.mean():.0%} of the samples are nearest to the mean image of their "
                                  f"label (digit {worst}: {hits.reshape(10, 30).mean(1)[worst]:.0%}); the label "
                                  f"should steer what sample_digits draws")
