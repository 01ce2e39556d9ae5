r"""Random identity-preserving transformations of image batches, differentiable in the images.

A small rotation, zoom and shift changes a handwritten digit's slant, size and place but not
which digit it is. InfoGAN's invariance term (:mod:`gankit.recipes.infogan`) asks Q to read a
categorical code from such a view of G's image, so the code cannot be carried by slant or size;
making a categorical factor invariant to these transformations is the key idea of
Elastic-InfoGAN (Ojha et al. 2020, Sec. 3.2, there on real images).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def similarity_matrices(angles: Tensor, scales: Tensor, shifts: Tensor) -> Tensor:
    r"""[N, 2, 3] affine matrices of :func:`torch.nn.functional.affine_grid`, in its normalized
    coordinates ([-1, 1] across the image): a rotation by ``angles`` [N] (radians), a zoom by
    ``scales`` [N] (above 1: the digit grows) and a shift by ``shifts`` [N, 2] (x, y). The grid
    maps output to input points, so it holds the inverse: $A^{-1} = R(-\theta) / s$ and
    $-A^{-1} t$."""
    cos, sin = torch.cos(angles) / scales, torch.sin(angles) / scales
    inverse = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)
    offset = -(inverse @ shifts.unsqueeze(2))
    return torch.cat([inverse, offset], 2)


def random_similarity(x: Tensor, max_degrees: float = 15.0, max_zoom: float = 0.1,
                      max_shift: float = 0.1, generator: torch.Generator | None = None) -> Tensor:
    """Each image of x [N, C, H, W] rotated by up to ``max_degrees`` either way, zoomed by a
    factor in [1 - max_zoom, 1 + max_zoom] and shifted by up to ``max_shift`` of the image
    width in each direction, all drawn uniformly per image (from ``generator``, or torch's
    global generator, which checkpoints keep). Points moved in from outside take the nearest
    border pixel (the background of a digit), and gradients flow back to x. Float32 out."""
    n = len(x)

    def uniform(*shape: int) -> Tensor:
        u = torch.rand(*shape, generator=generator, device=generator.device if generator
                       else x.device)
        return (2 * u - 1).to(x.device)

    angles = uniform(n) * math.radians(max_degrees)
    scales = 1 + uniform(n) * max_zoom
    shifts = uniform(n, 2) * 2 * max_shift  # a width is 2 in normalized coordinates
    grid = F.affine_grid(similarity_matrices(angles, scales, shifts), list(x.shape),
                         align_corners=False)  # float32, as is the resampling (bf16 runs too)
    return F.grid_sample(x.float(), grid, padding_mode="border", align_corners=False)
