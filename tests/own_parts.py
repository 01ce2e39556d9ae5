"""Factories a researcher would write, importable as ``own_parts:...`` by the tests' CLI runs
(tests/ is on sys.path under pytest and in their subprocesses' PYTHONPATH)."""

import torch
from torch import nn


def make_generator(config, data_shape):
    return nn.Sequential(nn.Linear(config.latent_dim, 24), nn.ReLU(), nn.Linear(24, data_shape[0]))


def make_discriminator(config, data_shape):
    """Returns a plain tensor of logits [N, 1]: gankit wraps it."""
    return nn.Sequential(nn.Linear(data_shape[0], 24), nn.LeakyReLU(0.2), nn.Linear(24, 1))


def make_points(data_config):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(400, 2, generator=generator) * 0.2 + torch.tensor([1.0, -1.0])


def make_labelled_images(data_config):
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 1, 8, 8), generator=generator, dtype=torch.uint8)
    return images, torch.arange(64) % 4


def make_dropout_generator(config, data_shape):
    """Dropout draws its masks from torch's global RNG: the run must seed and restore it."""
    return nn.Sequential(nn.Linear(config.latent_dim, 24), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(24, data_shape[0]))


def make_dropout_discriminator(config, data_shape):
    return nn.Sequential(nn.Linear(data_shape[0], 24), nn.LeakyReLU(0.2), nn.Dropout(0.3),
                         nn.Linear(24, 1))


class NaNAfter(nn.Module):
    """A generator whose output is NaN on training forward passes number ``first`` to ``last``
    (counted over the module's life, so a rollback does not replay the fault)."""

    def __init__(self, net: nn.Module, first: int, last: float) -> None:
        super().__init__()
        self.net, self.first, self.last, self.calls = net, first, last, 0

    def forward(self, z):
        x = self.net(z)
        if self.training:
            self.calls += 1
            if self.first <= self.calls <= self.last:
                return x * float("nan")
        return x


def make_generator_nan_once(config, data_shape):
    """NaN on the 9th training forward only: one rollback gets past it."""
    return NaNAfter(make_generator(config, data_shape), 9, 9)


def make_generator_nan_from_then_on(config, data_shape):
    """NaN from the 9th training forward on: every rollback meets it again."""
    return NaNAfter(make_generator(config, data_shape), 9, float("inf"))
