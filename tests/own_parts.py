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
