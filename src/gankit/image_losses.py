r"""Losses on images themselves, not on a discriminator's outputs: what an auto-encoder or a
translation network adds to its adversarial terms.

- :func:`l1_reconstruction`: $\mathbb E |x - \hat x|$ per pixel (CAAE, Zhang et al. 2017,
  eq. 5, as its reference code computes it; Pix2Pix's L1 term, Isola et al. 2017, eq. 3).
- :func:`total_variation`: $\mathbb E |x_{i+1,j} - x_{i,j}| + |x_{i,j+1} - x_{i,j}|$, the
  smoothness prior of CAAE's eq. 5 (Mahendran & Vedaldi 2015), against high-frequency artefacts.
"""

from __future__ import annotations

from torch import Tensor


def l1_reconstruction(x: Tensor, reconstruction: Tensor) -> Tensor:
    """Mean absolute difference over every pixel and example, in float32."""
    return (x.float() - reconstruction.float()).abs().mean()


def total_variation(images: Tensor) -> Tensor:
    """Anisotropic total variation of images [N, C, H, W], a mean over neighbouring pairs of
    rows plus one over pairs of columns (so its size does not grow with the image's)."""
    x = images.float()
    rows = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean()
    columns = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()
    return rows + columns
