r"""DiffAugment's transformations (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training", Sec. 3 and their reference code): functions of the images and of
uniform draws, built from differentiable tensor operations, so that gradients reach G through
what D sees of its samples.

Every augmentation takes images x [N, C, H, W] (in [-1, 1]) and u [N, k], k uniform draws in
[0, 1) per image, and returns the transformed images. The draws come from the caller (the run's
seeded generator, :class:`gankit.augment.adaptive.AugmentPipe`), so a run is deterministic and
the same draws give the same transformation of two images (an image pair stays aligned).

========== =============================================================== ===================
policy     transformation (per image)                                      u
========== =============================================================== ===================
color      x + (u_0 - 1/2); then (x - mean_c x) 2 u_1 + mean_c x; then     brightness,
           (x - mean_{c,h,w} x)(u_2 + 1/2) + mean_{c,h,w} x                saturation, contrast
translation shift by (dy, dx), each uniform in {-s, ..., s}, s = round(H / 8)  dy, dx
           (W / 8), zero padding
cutout     zero a square of side round(H / 2) (W / 2) whose centre is       cy, cx
           uniform over the image
========== =============================================================== ===================

Register another with ``@AUGMENTATIONS.register("name")`` on a class with ``draws`` (k) and
``apply(x, u)``, here or in another package (entry point group ``gankit.augmentations``);
``augment.policy`` then composes it by name.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import ConfigError
from gankit.registry import Registry


class Augmentation(Protocol):
    """A transformation of images by per-image uniform draws, differentiable in the images."""

    draws: ClassVar[int]  # k: uniform draws per image

    def apply(self, x: Tensor, u: Tensor) -> Tensor:
        """x [N, C, H, W] transformed by the draws u [N, k] in [0, 1)."""
        ...


AUGMENTATIONS: Registry[type[Augmentation]] = Registry("augmentation", package="gankit.augment",
                                                       group="gankit.augmentations")


def policy_names(policy: str) -> list[str]:
    """``"color, translation"`` -> ``["color", "translation"]``; a name not registered, or an
    empty entry, is one line listing the known names."""
    names = [name.strip() for name in policy.split(",")]
    for name in names:
        if name not in AUGMENTATIONS:
            raise ConfigError(f"augment.policy {policy!r} names unknown augmentation {name!r}; "
                              f"known: {', '.join(AUGMENTATIONS.names())} (comma-separated)")
    return names


def per_image(values: Tensor) -> Tensor:
    """[N] -> [N, 1, 1, 1], to scale or shift each image of a batch by its own value."""
    return values.reshape(-1, 1, 1, 1)


@AUGMENTATIONS.register("color")
class Color:
    """Brightness shift in [-1/2, 1/2), saturation factor in [0, 2), contrast factor in
    [1/2, 3/2), in that order (DiffAugment's ``rand_brightness``, ``rand_saturation``,
    ``rand_contrast``). Saturation scales each pixel's distance to its mean over channels, so
    it leaves grey images unchanged."""

    draws: ClassVar[int] = 3

    def apply(self, x: Tensor, u: Tensor) -> Tensor:
        x = x + per_image(u[:, 0] - 0.5)
        mean = x.mean(dim=1, keepdim=True)  # over channels: the pixel's grey level
        x = (x - mean) * per_image(2 * u[:, 1]) + mean
        mean = x.mean(dim=(1, 2, 3), keepdim=True)  # over the whole image
        return (x - mean) * per_image(u[:, 2] + 0.5) + mean


def integer_in(u: Tensor, low: int, high: int) -> Tensor:
    """Uniform draws u in [0, 1) -> integers uniform in {low, ..., high}."""
    return (u * (high - low + 1)).floor().long().clamp(max=high - low) + low


@AUGMENTATIONS.register("translation")
class Translation:
    """A shift of each image by whole pixels, up to 1/8 of its side each way, the pixels
    shifted in set to 0 (DiffAugment's ``rand_translation``, ratio 1/8). Output pixel (i, j)
    is input pixel (i - dy, j - dx), or 0 where that lies outside the image."""

    draws: ClassVar[int] = 2
    ratio: ClassVar[float] = 1 / 8

    def apply(self, x: Tensor, u: Tensor) -> Tensor:
        n, _, height, width = x.shape
        sy, sx = int(height * self.ratio + 0.5), int(width * self.ratio + 0.5)
        dy, dx = integer_in(u[:, 0], -sy, sy), integer_in(u[:, 1], -sx, sx)  # [N], [N]
        # Source rows and columns in the image padded by one zero pixel; clamped onto the pad.
        rows = (torch.arange(height, device=x.device) - dy[:, None] + 1).clamp(0, height + 1)
        cols = (torch.arange(width, device=x.device) - dx[:, None] + 1).clamp(0, width + 1)
        padded = F.pad(x, (1, 1, 1, 1))
        batch = torch.arange(n, device=x.device)[:, None, None]
        shifted = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # [N, H, W, C]
        return shifted.permute(0, 3, 1, 2)


@AUGMENTATIONS.register("cutout")
class Cutout:
    """Zero one square of each image, of side 1/2 of the image's (rounded), centred anywhere
    in it and clipped at the border (DiffAugment's ``rand_cutout``, ratio 1/2; DeVries &
    Taylor 2017)."""

    draws: ClassVar[int] = 2
    ratio: ClassVar[float] = 1 / 2

    def apply(self, x: Tensor, u: Tensor) -> Tensor:
        _, _, height, width = x.shape
        size_y, size_x = int(height * self.ratio + 0.5), int(width * self.ratio + 0.5)
        # The reference's centres: {0, ..., H - 1} for an odd side, {0, ..., H} for an even one.
        top = integer_in(u[:, 0], 0, height - size_y % 2) - size_y // 2  # [N]
        left = integer_in(u[:, 1], 0, width - size_x % 2) - size_x // 2
        rows = torch.arange(height, device=x.device) - top[:, None]  # [N, H]
        cols = torch.arange(width, device=x.device) - left[:, None]  # [N, W]
        inside = (((rows >= 0) & (rows < size_y))[:, :, None]
                  & ((cols >= 0) & (cols < size_x))[:, None, :])  # [N, H, W]
        return x * (~inside)[:, None].to(x.dtype)
