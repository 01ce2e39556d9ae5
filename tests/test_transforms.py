"""The random similarity transforms of InfoGAN's invariance term: the matrices invert the
transformation they name, and the warps move pixels as a rotation, zoom or shift does."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gankit.data.transforms import random_similarity, similarity_matrices


def warp(x: torch.Tensor, angle: float, scale: float, shift: tuple[float, float]) -> torch.Tensor:
    theta = similarity_matrices(torch.tensor([angle]), torch.tensor([scale]),
                                torch.tensor([shift]))
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def test_matrix_maps_each_output_point_back_to_the_input_point_it_came_from():
    g = torch.Generator().manual_seed(0)
    angles, scales = torch.rand(5, generator=g) * 2 - 1, 0.8 + 0.4 * torch.rand(5, generator=g)
    shifts, p_in = torch.randn(5, 2, generator=g) * 0.2, torch.randn(5, 2, generator=g)
    cos, sin = torch.cos(angles), torch.sin(angles)
    rotation = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    p_out = scales[:, None] * (rotation @ p_in[:, :, None])[:, :, 0] + shifts  # s R p + t
    theta = similarity_matrices(angles, scales, shifts)
    back = (theta[:, :, :2] @ p_out[:, :, None])[:, :, 0] + theta[:, :, 2]
    assert torch.allclose(back, p_in, atol=1e-5)


def test_quarter_turn_and_one_pixel_shift_move_pixels_exactly():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    # with y pointing down the image, a positive angle turns the picture clockwise
    assert torch.allclose(warp(x, math.pi / 2, 1.0, (0.0, 0.0)), torch.rot90(x, -1, (2, 3)),
                          atol=1e-5)
    moved = warp(x, 0.0, 1.0, (0.5, 0.0))  # half of the normalized width 2: one pixel of four
    assert torch.equal(moved[..., 1:], x[..., :3])
    assert torch.equal(moved[..., 0], x[..., 0])  # the border pixel fills the gap


def test_zero_ranges_leave_images_alone_and_gradients_reach_the_images():
    x = torch.randn(3, 2, 6, 6, requires_grad=True)
    same = random_similarity(x, max_degrees=0, max_zoom=0, max_shift=0)
    assert torch.allclose(same, x, atol=1e-5)
    out = random_similarity(x, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(out, x, atol=1e-2)
    (grad,) = torch.autograd.grad(out.sum(), [x])
    assert grad.abs().sum() > 0


def test_draws_come_from_the_given_generator():
    x = torch.randn(4, 1, 8, 8)
    first = random_similarity(x, generator=torch.Generator().manual_seed(3))
    again = random_similarity(x, generator=torch.Generator().manual_seed(3))
    other = random_similarity(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)
