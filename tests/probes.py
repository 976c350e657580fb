"""Helpers that run next to the implementation under test (in the student's process
when graded), for checks that need the live objects: argument mutation, gradients,
model parameters. They return plain data only; the tests judge it."""
from __future__ import annotations

import copy
from typing import Any


def _same(a: Any, b: Any) -> bool:
    import numpy as np

    # Tensors, or the grader's wire tensors (no torch there); the class is asked, as in helpers.is_tensor.
    if hasattr(type(a), "detach") and hasattr(type(b), "detach"):
        a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
        return a.dtype == b.dtype and _same(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def call_tracking_mutation(module: Any, name: str, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call ``module.name(*args, **kwargs)``; also report which arguments it changed in place."""
    before = [copy.deepcopy(a) for a in args]
    before_kw = {k: copy.deepcopy(v) for k, v in kwargs.items()}
    result = getattr(module, name)(*args, **kwargs)
    changed = [f"#{i + 1}" for i, (a, b) in enumerate(zip(before, args)) if not _same(a, b)]
    changed += [k for k, v in kwargs.items() if not _same(before_kw[k], v)]
    return result, changed


def ica_sigmoid_warnings(module: Any, x: Any) -> tuple[Any, list[str]]:
    """Call ``module.sigmoid(x)``; also report every warning it emitted (e.g. numpy overflow)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = module.sigmoid(x)
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


def ica_apply_steps(module: Any, X: Any, anneal: list) -> Any:
    """W after the specified schedule, built from ``module.infomax_step`` itself: from the
    identity, for each learning rate one pass over the rows of X in order."""
    import numpy as np

    W = np.eye(np.shape(X)[1])
    for alpha in anneal:
        for x in X:
            W = module.infomax_step(W, x, alpha)
    return W


# --- cvae -----------------------------------------------------------------------------

def cvae_reparametrize_grads(module: Any, model: Any, mu: Any, logvar: Any) -> tuple[Any, Any, Any]:
    """z = model.reparametrize(mu, logvar) in training mode on leaf tensors, then z.sum().backward().

    Returns (z, mu.grad, logvar.grad); a gradient is None when none reached it.
    """
    model.train()
    mu = mu.detach().clone().requires_grad_(True)
    logvar = logvar.detach().clone().requires_grad_(True)
    z = model.reparametrize(mu, logvar)
    if getattr(z, "requires_grad", False):
        z.sum().backward()
    grads = [None if t.grad is None else t.grad.detach().clone() for t in (mu, logvar)]
    return (z.detach() if hasattr(type(z), "detach") else z), grads[0], grads[1]


def cvae_parameters(module: Any, model: Any) -> list[Any]:
    """Copies of the model's parameters, in model.parameters() order."""
    return [p.detach().clone() for p in model.parameters()]


def _cvae_grad_norm(model: Any) -> float:
    total = 0.0
    for p in model.parameters():
        if p.grad is not None:
            total += float(p.grad.detach().double().pow(2).sum())
    return total ** 0.5


def cvae_accumulated_grad_norms(module: Any, model: Any, x: Any, labels: Any, repeats: int, trials: int) -> dict:
    """Gradient norms left on the parameters by train_cvae with lr = 0 (the model never changes).

    ``single``: after training on a loader of one batch (x, labels), ``trials`` times;
    ``many``: after training on ``repeats`` copies of that same batch. Gradients a
    correct train_cvae leaves behind are those of its last batch (or none at all), so
    ``many`` is about as large as ``single``; without zero_grad they add up over the
    batches and ``many`` is about ``repeats`` times larger. Gradients are cleared
    before each run.
    """
    out = {"single": [], "many": []}
    for key, n in [("single", 1)] * trials + [("many", repeats)]:
        model.zero_grad(set_to_none=True)
        module.train_cvae(model, [(x, labels)] * n, epochs=1, lr=0.0)
        out[key].append(_cvae_grad_norm(model))
    model.zero_grad(set_to_none=True)
    return out


def cvae_sample_digits_tracking_labels(module: Any, model: Any, labels: Any) -> tuple[Any, bool]:
    """sample_digits(model, labels), and whether it changed labels in place."""
    before = copy.deepcopy(labels)
    out = module.sample_digits(model, labels)
    return out, not _same(before, labels)


# --- stand-ins for the other graded functions -------------------------------------------
# A test of one function runs it with these in place of the other graded functions it calls
# (module attributes swapped for the duration of the call), so one mistake costs the points
# of the function it is in. They are written from the specification, like the public tests'
# own oracles. A call that does not fit the API's signature, or that a stand-in cannot
# handle, goes to the student's own function: the swap never fails a working submission.

def _kmeans_assign_clusters(data: Any, centroids: Any) -> Any:
    import numpy as np

    data, centroids = np.asarray(data, dtype=float), np.asarray(centroids, dtype=float)
    diff = data[:, None, :] - centroids[None, :, :]
    return np.argmin((diff * diff).sum(-1), axis=1).astype(np.int64)  # argmin: ties to the lowest index


def _kmeans_update_centroids(data: Any, labels: Any, centroids: Any) -> Any:
    import numpy as np

    data, labels = np.asarray(data, dtype=float), np.asarray(labels)
    new = np.array(centroids, dtype=float, copy=True)
    for k in range(len(new)):
        if (labels == k).any():
            new[k] = data[labels == k].mean(axis=0)
    return new


# The stand-ins use NumPy and tensor methods only: probes.py ships with every assignment, whose
# handout installs neither scipy (kmeans, pca) nor torch (all but cvae).
def _gmm_log_gaussian_pdf(data: Any, mu: Any, sigma: Any) -> Any:
    import numpy as np

    data = np.asarray(data, dtype=float)
    chol = np.linalg.cholesky(np.asarray(sigma, dtype=float))
    white = np.linalg.solve(chol, (data - np.asarray(mu, dtype=float)).T)
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    return -0.5 * (data.shape[1] * np.log(2 * np.pi) + log_det + (white ** 2).sum(axis=0))


def _gmm_compute_gamma(pi: Any, mu: Any, sigma: Any, data: Any) -> Any:
    import numpy as np

    with np.errstate(divide="ignore"):
        lw = np.stack([np.log(pi[k]) + _gmm_log_gaussian_pdf(data, mu[k], sigma[k]) for k in range(len(pi))])
    top = lw.max(axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    log_totals = top + np.log(np.exp(lw - top).sum(axis=0))
    return np.exp(lw - log_totals), log_totals


def _ica_sigmoid(x: Any) -> Any:
    import numpy as np

    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))  # never exponentiates a large number


def _ica_infomax_step(W: Any, x: Any, alpha: Any) -> Any:
    import numpy as np

    W, x = np.asarray(W, dtype=float), np.asarray(x, dtype=float)
    # 1 - 2 sigmoid(u) = -tanh(u / 2): one ufunc instead of five, and it never overflows. The step runs
    # once per sample inside unmixer's tests (300,000 times for ica), so its cost is the tests' cost.
    return W + alpha * (np.multiply.outer(-np.tanh(0.5 * (W @ x)), x) + np.linalg.inv(W).T)


def _cvae_loss_function(x_hat: Any, x: Any, mu: Any, logvar: Any) -> Any:
    # binary_cross_entropy's own clamp of the logs at -100, with tensor methods (no import of torch).
    bce = -(x * x_hat.log().clamp(min=-100) + (1 - x) * (1 - x_hat).log().clamp(min=-100)).sum()
    return (bce - 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()) / x.shape[0]


STAND_INS = {
    "kmeans": {"assign_clusters": _kmeans_assign_clusters, "update_centroids": _kmeans_update_centroids},
    "gmm": {"log_gaussian_pdf": _gmm_log_gaussian_pdf, "compute_gamma": _gmm_compute_gamma},
    "ica": {"sigmoid": _ica_sigmoid, "infomax_step": _ica_infomax_step},
    "cvae": {"loss_function": _cvae_loss_function},
}


def _stand_in(stand_in: Any, original: Any) -> Any:
    # A call the stand-in cannot take (other arguments, an exception) goes to the original. The
    # stand-ins are pure, so trying one first is as safe as checking the signature, and cheaper.
    def function(*args: Any, **kwargs: Any) -> Any:
        try:
            return stand_in(*args, **kwargs)
        except Exception:
            return original(*args, **kwargs)

    return function


def call_with_stand_ins(module: Any, assignment: str, replace: list, name: str, *args: Any, **kwargs: Any) -> Any:
    """``module.name(*args, **kwargs)`` with the graded functions in ``replace`` swapped for stand-ins."""
    saved = {fn: getattr(module, fn) for fn in replace if hasattr(module, fn)}
    try:
        for fn, original in saved.items():
            setattr(module, fn, _stand_in(STAND_INS[assignment][fn], original))
        return getattr(module, name)(*args, **kwargs)
    finally:
        for fn, original in saved.items():
            setattr(module, fn, original)
