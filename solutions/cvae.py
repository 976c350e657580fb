"""A conditional variational autoencoder (CVAE) that draws digits 0-9.

The encoder q(z | x, c) and the decoder p(x | z, c) are small multilayer
perceptrons; both read the label as a one-hot vector ``c`` concatenated to
their input, so after training ``sample_digits`` can be asked for a given
digit. Shapes use B for the batch size.

Conventions used by every method below:

- ``x`` is a float32 tensor of shape (B, input_size) with values in [0, 1];
- ``c`` is the one-hot label, a float32 tensor of shape (B, num_classes)
  (``one_hot(labels, num_classes)``);
- ``labels`` are int64 tensors of shape (B,).

The depth and activations of the two MLPs are your choice; the tests only use
the methods named here, never your layers' names.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """One-hot encode integer class labels.

    Parameters
    ----------
    labels : Tensor of shape (B,), int64
        Class indices in ``range(num_classes)``.
    num_classes : int
        Number of classes (the width of the result, whatever labels occur).

    Returns
    -------
    Tensor of shape (B, num_classes), float32
        Row b is 1 at column ``labels[b]`` and 0 elsewhere.
    """
    # BEGIN SOLUTION: a float tensor of zeros with a 1 in each row at the label's column (F.one_hot then .float() works)
    return F.one_hot(torch.as_tensor(labels).long(), num_classes).float()
    # END SOLUTION


class CVAE(nn.Module):
    """Conditional VAE with an MLP encoder and an MLP decoder.

    Parameters
    ----------
    input_size : int, default 784
        Number of pixels of a flattened image (28 x 28 for MNIST).
    num_classes : int, default 10
        Number of labels (digits 0-9).
    latent_size : int, default 20
        Dimension of the latent code z.
    hidden_size : int, default 400
        Width of the hidden layers.
    """

    def __init__(self, input_size: int = 784, num_classes: int = 10, latent_size: int = 20, hidden_size: int = 400):
        super().__init__()
        self.input_size = input_size
        self.num_classes = num_classes
        self.latent_size = latent_size
        self.hidden_size = hidden_size
        # BEGIN SOLUTION: create the layers: an encoder MLP from input_size + num_classes to two heads of latent_size (mu and logvar), and a decoder MLP from latent_size + num_classes to input_size
        self.encoder = nn.Sequential(
            nn.Linear(input_size + num_classes, hidden_size), nn.ReLU(),
            nn.Linear(hidden_size, hidden_size), nn.ReLU(),
        )
        self.layer_mu = nn.Linear(hidden_size, latent_size)
        self.layer_logvar = nn.Linear(hidden_size, latent_size)
        self.decoder = nn.Sequential(
            nn.Linear(latent_size + num_classes, hidden_size), nn.ReLU(),
            nn.Linear(hidden_size, hidden_size), nn.ReLU(),
            nn.Linear(hidden_size, input_size),
        )
        # END SOLUTION

    def recognition_model(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder q(z | x, c): the mean and log-variance of a diagonal Gaussian.

        Parameters
        ----------
        x : Tensor of shape (B, input_size)
        c : Tensor of shape (B, num_classes)
            One-hot labels.

        Returns
        -------
        mu : Tensor of shape (B, latent_size)
        logvar : Tensor of shape (B, latent_size)
            Log of the variance of each latent dimension.
        """
        # BEGIN SOLUTION: concatenate x and c along dim 1, run the encoder MLP, and return the two heads (mu, logvar)
        h = self.encoder(torch.cat([x, c], dim=1))
        return self.layer_mu(h), self.layer_logvar(h)
        # END SOLUTION

    def reparametrize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Draw z ~ N(mu, exp(logvar)) so that gradients flow to mu and logvar.

        Graded in training mode; what it does in eval mode (``model.eval()``) is
        your choice. Draw the noise with torch (``torch.randn_like``), so that
        ``torch.manual_seed`` makes the draw repeatable.

        Parameters
        ----------
        mu, logvar : Tensor of shape (B, latent_size)

        Returns
        -------
        z : Tensor of shape (B, latent_size)
            ``mu + exp(logvar / 2) * eps`` with ``eps = torch.randn_like(mu)``.
        """
        # BEGIN SOLUTION: std = exp(logvar / 2); eps from torch.randn_like; return mu + std * eps (no in-place ops, no detach)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + std * eps
        # END SOLUTION

    def generation_model(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Decoder p(x | z, c): the Bernoulli mean of every pixel.

        Parameters
        ----------
        z : Tensor of shape (B, latent_size)
        c : Tensor of shape (B, num_classes)
            One-hot labels.

        Returns
        -------
        x_hat : Tensor of shape (B, input_size)
            Values in [0, 1] (a sigmoid output).
        """
        # BEGIN SOLUTION: concatenate z and c along dim 1, run the decoder MLP and squash with a sigmoid
        return torch.sigmoid(self.decoder(torch.cat([z, c], dim=1)))
        # END SOLUTION

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, sample z with the reparametrisation trick, decode.

        Parameters
        ----------
        x : Tensor of shape (B, input_size)
        c : Tensor of shape (B, num_classes)
            One-hot labels.

        Returns
        -------
        x_hat : Tensor of shape (B, input_size)
            Reconstruction of x from the sampled z.
        mu, logvar : Tensor of shape (B, latent_size)
            The encoder's outputs.
        """
        # BEGIN SOLUTION: recognition_model, then reparametrize, then generation_model on the sampled z; return (x_hat, mu, logvar)
        mu, logvar = self.recognition_model(x, c)
        z = self.reparametrize(mu, logvar)
        x_hat = self.generation_model(z, c)
        return x_hat, mu, logvar
        # END SOLUTION


def loss_function(x_hat: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Negative ELBO, averaged over the batch.

    Binary cross-entropy of the reconstruction summed over pixels, plus
    KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dimensions, both
    averaged over the B examples of the batch. Stays finite when x_hat is
    exactly 0 or 1.

    Parameters
    ----------
    x_hat : Tensor of shape (B, input_size)
        Decoder output, values in [0, 1].
    x : Tensor of shape (B, input_size)
        The data, values in [0, 1].
    mu, logvar : Tensor of shape (B, latent_size)
        Encoder outputs.

    Returns
    -------
    Tensor of shape ()
        The loss (a scalar tensor you can call ``.backward()`` on).
    """
    # BEGIN SOLUTION: BCE summed over pixels (F.binary_cross_entropy with reduction="sum") plus KL = -1/2 * sum(1 + logvar - mu^2 - exp(logvar)), divided by the batch size
    bce = F.binary_cross_entropy(x_hat, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kl) / x.shape[0]
    # END SOLUTION


def train_cvae(model: CVAE, loader, epochs: int = 1, lr: float = 1e-3) -> list[float]:
    """Train ``model`` in place with Adam on the negative ELBO.

    Parameters
    ----------
    model : CVAE
        The model to train (its parameters are updated in place).
    loader : iterable of (x, labels)
        Re-iterable once per epoch (a DataLoader, or a list of batches):
        x of shape (B, input_size) in [0, 1], labels int64 of shape (B,).
        A batch need not contain every class.
    epochs : int, default 1
        Number of passes over ``loader``.
    lr : float, default 1e-3
        Adam's learning rate.

    Returns
    -------
    list of float
        The mean loss of each epoch (one value per epoch): the average of
        ``loss_function`` over the epoch's batches.
    """
    # BEGIN SOLUTION: one Adam optimiser over model.parameters(); every batch: one-hot the labels, forward, loss_function, zero_grad, backward, step; record the mean loss of each epoch
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    history = []
    for _ in range(epochs):
        total, batches = 0.0, 0
        for x, labels in loader:
            c = one_hot(labels, model.num_classes)
            x_hat, mu, logvar = model.forward(x, c)
            loss = loss_function(x_hat, x, mu, logvar)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        history.append(total / max(batches, 1))
    return history
    # END SOLUTION


def sample_digits(model: CVAE, labels: torch.Tensor) -> torch.Tensor:
    """Generate one image per label by decoding z ~ N(0, I).

    Parameters
    ----------
    model : CVAE
        A (trained) model.
    labels : Tensor of shape (B,), int64
        The digit to draw in each row.

    Returns
    -------
    Tensor of shape (B, input_size)
        Generated images, values in [0, 1].
    """
    # BEGIN SOLUTION: without gradients, draw z with torch.randn of shape (B, latent_size) and decode it with the one-hot labels
    labels = torch.as_tensor(labels).long()
    with torch.no_grad():
        z = torch.randn(len(labels), model.latent_size)
        return model.generation_model(z, one_hot(labels, model.num_classes))
    # END SOLUTION
