"""Toy distributions with published protocols, where the truth is known exactly.

- ``ring8`` and ``grid25``: PacGAN's mixtures (Lin et al. 2018, Sec. 5.1, following VEEGAN):
  8 Gaussians on a circle of radius 1 with std 0.01, and 25 Gaussians on {-4,-2,0,2,4}^2 with
  std 0.05; evaluated on 2,500 generated samples.
- ``wgangp-ring8``, ``wgangp-grid25``, ``swiss-roll``: the toy sets of WGAN-GP's released code
  (Gulrajani et al. 2017), with the code's final rescaling: 8 Gaussians at radius 2 with std
  0.02, divided by 1.414; the 5x5 grid spaced 2 with std 0.05, divided by 2.828; the swiss roll
  (scikit-learn's, noise 0.25) in the (x, z) plane divided by 7.5.
- ``gaussian-1d``: N(4, 0.5^2), the 1-D picture of Goodfellow et al. 2014, Fig. 1.

They read no data key beyond those of every run (``uses=()``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from gankit.configuration.schema import DataConfig
from gankit.data.sources import DATASETS
from gankit.data.spec import DataSpec, points_spec


@dataclass
class ToyDistribution(ABC):
    """A distribution we can sample; mixtures also expose their modes for the mode metrics."""

    name: str
    dim: int
    kind: ClassVar[str] = "points"  # what evaluation measures and draws (gankit.evaluation)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.dim,)

    @property
    def spec(self) -> DataSpec:
        return points_spec(self.dim)

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> dict[str, Tensor]:
        """A batch ``{"x": [n, dim]}`` (:mod:`gankit.data.spec`)."""
        return {"x": self.points(n, generator, device)}

    @abstractmethod
    def points(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> Tensor:
        """Draw ``n`` points [n, dim] using only ``generator`` for randomness."""

    @property
    def modes(self) -> Tensor | None:
        return None

    @property
    def mode_std(self) -> float | None:
        return None


@dataclass
class GaussianMixture(ToyDistribution):
    """Equal-weight isotropic Gaussians: x = centers[k] + std * e, k ~ U{1..K}, e ~ N(0, I)."""

    centers: Tensor  # [K, dim]
    std: float

    @property
    def spec(self) -> DataSpec:
        """Points labelled with their component: the class a conditional recipe is given."""
        return points_spec(self.dim, n_classes=len(self.centers))

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> dict[str, Tensor]:
        """A batch ``{"x": [n, dim], "label": [n]}``, the label the index of the component
        each point was drawn from (the same draws as :meth:`points`)."""
        x, label = self.labelled_points(n, generator, device)
        return {"x": x, "label": label}

    def points(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> Tensor:
        return self.labelled_points(n, generator, device)[0]

    def labelled_points(self, n: int, generator: torch.Generator,
                        device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
        """``n`` points [n, dim] and the component of each, int64 [n]."""
        centers = self.centers.to(device)
        k = torch.randint(len(centers), (n,), generator=generator, device=device)
        noise = torch.randn(n, self.dim, generator=generator, device=device)
        return centers[k] + self.std * noise, k

    @property
    def modes(self) -> Tensor:
        return self.centers

    @property
    def mode_std(self) -> float:
        return self.std

    def log_pdf(self, x: Tensor) -> Tensor:
        """Log-density at x [N, dim], finite however far x is from every mode (a log-sum-exp
        over the components): the truth a learned energy is compared with."""
        sq = ((x[:, None, :] - self.centers[None].to(x)) ** 2).sum(-1)  # [N, K]
        log_norm = self.dim / 2 * math.log(2 * math.pi * self.std**2) + math.log(len(self.centers))
        return torch.logsumexp(-sq / (2 * self.std**2), dim=1) - log_norm

    def pdf(self, x: Tensor) -> Tensor:
        """Density at x [N, dim] (used by the 1-D experiments for D* and JS)."""
        return self.log_pdf(x).exp()


@dataclass
class SwissRoll(ToyDistribution):
    """Swiss roll in the plane: t = 1.5 pi (1 + 2u), x = (t cos t, t sin t) + 0.25 e, over 7.5."""

    noise: float = 0.25
    scale: float = 1 / 7.5

    def points(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> Tensor:
        u = torch.rand(n, generator=generator, device=device)
        t = 1.5 * math.pi * (1 + 2 * u)
        xy = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
        noise = torch.randn(n, 2, generator=generator, device=device)
        return self.scale * (xy + self.noise * noise)


def ring(n_modes: int, radius: float, std: float, name: str) -> GaussianMixture:
    angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    centers = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(name, 2, centers.float(), std)


def grid(values: list[float], std: float, name: str) -> GaussianMixture:
    axis = torch.tensor(values, dtype=torch.float32)
    centers = torch.cartesian_prod(axis, axis)  # [len^2, 2]
    return GaussianMixture(name, 2, centers, std)


# PacGAN's mixtures (Lin et al. 2018, Sec. 5.1); each point is labelled with its component.

@DATASETS.register("ring8", uses=(), n_classes=8, images=False)
def ring8(config: DataConfig) -> GaussianMixture:
    return ring(8, radius=1.0, std=0.01, name="ring8")


@DATASETS.register("grid25", uses=(), n_classes=25, images=False)
def grid25(config: DataConfig) -> GaussianMixture:
    return grid([-4, -2, 0, 2, 4], std=0.05, name="grid25")


# WGAN-GP's released toy sets (Gulrajani et al. 2017), with the code's final rescaling.

@DATASETS.register("wgangp-ring8", uses=(), n_classes=8, images=False)
def wgangp_ring8(config: DataConfig) -> GaussianMixture:
    return ring(8, radius=2.0 / 1.414, std=0.02 / 1.414, name="wgangp-ring8")


@DATASETS.register("wgangp-grid25", uses=(), n_classes=25, images=False)
def wgangp_grid25(config: DataConfig) -> GaussianMixture:
    return grid([v / 2.828 for v in (-4, -2, 0, 2, 4)], std=0.05 / 2.828, name="wgangp-grid25")


@DATASETS.register("swiss-roll", uses=(), n_classes=0, images=False)
def swiss_roll(config: DataConfig) -> SwissRoll:
    return SwissRoll("swiss-roll", 2)


@DATASETS.register("gaussian-1d", uses=(), n_classes=1, images=False)
def gaussian_1d(config: DataConfig) -> GaussianMixture:
    """Goodfellow et al. 2014, Fig. 1: N(4, 0.5^2), one component (so one class)."""
    return GaussianMixture("gaussian-1d", 1, torch.tensor([[4.0]]), std=0.5)
