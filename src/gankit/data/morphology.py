"""Grey-level morphology on uint8 image batches [N, C, H, W], for the built-in translation
tasks: the digits' outlines (edges2digits) and their thickened strokes (thin2thick).

Each operation is the largest (dilation) or smallest (erosion) value over a 3x3 structuring
element around each pixel, with the border padded so that it never wins (Serra 1982).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def thicken(images: Tensor) -> Tensor:
    """Grey dilation by the 3x3 cross: each pixel the largest of itself and its four
    neighbours (the border padded with 0, which never wins), uint8 [N, C, H, W] -> the same."""
    padded = F.pad(images, (1, 1, 1, 1))
    h, w = images.shape[-2:]
    shifted = [padded[..., 1:h + 1, 1:w + 1], padded[..., :h, 1:w + 1],
               padded[..., 2:, 1:w + 1], padded[..., 1:h + 1, :w], padded[..., 1:h + 1, 2:]]
    return torch.stack(shifted).amax(0)


def dilate(images: Tensor) -> Tensor:
    """Grey dilation by a 3x3 square: each pixel the largest of its 3x3 neighbourhood (the
    border padded so that it never wins), uint8 [N, C, H, W] -> the same."""
    return F.max_pool2d(images.float(), 3, stride=1, padding=1).to(torch.uint8)


def erode(images: Tensor) -> Tensor:
    """Grey erosion by a 3x3 square: each pixel the smallest of its 3x3 neighbourhood."""
    return (-F.max_pool2d(-images.float(), 3, stride=1, padding=1)).to(torch.uint8)

