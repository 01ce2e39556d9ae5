r"""Full-reference image quality: how close a translated image is to its ground truth, per image.

- :func:`mean_absolute_error`: $\mathbb E |x - y|$ over one image's pixels and channels.
- :func:`psnr`: peak signal-to-noise ratio, $10 \log_{10} (R^2 / \mathrm{MSE})$ dB, R the data
  range (2 for images in [-1, 1]); identical images score $+\infty$.
- :func:`ssim`: structural similarity, Wang, Bovik, Sheikh & Simoncelli 2004, eq. 13,

  $$\mathrm{SSIM}(x, y) = \frac{(2 \mu_x \mu_y + C_1)(2 \sigma_{xy} + C_2)}
  {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)}, \quad C_i = (K_i R)^2,$$

  with local statistics under a Gaussian window (sigma 1.5, 11x11, K1 = 0.01, K2 = 0.03: the
  paper's values), population covariances, and the mean of the SSIM map over the positions where
  the window fits inside the image (no padding), averaged over channels. This is exactly
  ``skimage.metrics.structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=R)``: scikit-image filters with a padded border but
  crops (win_size - 1) // 2 pixels from each side before averaging, which leaves the same
  positions.

Inputs are float images [N, C, H, W] (on any device) of one shape; outputs are float64 [N] on the
CPU, computed in float64 in chunks so that tens of thousands of images fit in memory.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import ConfigError
from gankit.metrics.digit_classifier import ImageShapeError

SSIM_SIGMA = 1.5  # Wang et al. 2004, Sec. III.C
SSIM_K1, SSIM_K2 = 0.01, 0.03  # ibid.
TRUNCATE = 3.5  # window radius in sigmas, scikit-image's: radius int(3.5 * 1.5 + 0.5) = 5
CHUNK_VALUES = 1 << 20  # values per image chunk: ~8 MB per float64 map, a dozen maps in flight


def _check_pair(x: Tensor, y: Tensor, what: str) -> None:
    if x.ndim != 4 or x.shape != y.shape:
        raise ImageShapeError(f"{what} takes two images [N, C, H, W] of one shape, got "
                              f"{list(x.shape)} and {list(y.shape)}")
    if not (x.is_floating_point() and y.is_floating_point()):
        raise ImageShapeError(f"{what} takes float images, got {x.dtype} and {y.dtype} "
                              "(gankit.data.images.to_unit_range converts uint8)")


def _check_range(data_range: float) -> None:
    if not (isinstance(data_range, int | float) and math.isfinite(data_range) and data_range > 0):
        raise ConfigError(f"data_range must be a positive number (2.0 for images in [-1, 1]), "
                          f"got {data_range!r}")


def _chunks(x: Tensor, y: Tensor) -> zip[tuple[Tensor, Tensor]]:
    """Pairs of float64 chunks of ``x`` and ``y``, on x's device."""
    per_image = max(1, x[0].numel())
    size = max(1, CHUNK_VALUES // per_image)
    return zip(x.split(size), y.split(size), strict=True)


def _mean_per_image(values: Tensor) -> Tensor:
    return values.flatten(1).mean(1)  # [n]


def mean_absolute_error(x: Tensor, y: Tensor) -> Tensor:
    """Mean |x - y| of each image pair [N, C, H, W] -> [N] float64 (CPU)."""
    _check_pair(x, y, "mean_absolute_error")
    return torch.cat([_mean_per_image((a.double() - b.to(a.device).double()).abs()).cpu()
                      for a, b in _chunks(x, y)])


def psnr(x: Tensor, y: Tensor, data_range: float = 2.0) -> Tensor:
    """PSNR in dB of each image pair [N, C, H, W] -> [N] float64 (CPU); ``inf`` where the two
    images are identical (their MSE is 0). ``data_range``: max - min of the pixel scale."""
    _check_pair(x, y, "psnr")
    _check_range(data_range)
    mse = torch.cat([_mean_per_image((a.double() - b.to(a.device).double()).square()).cpu()
                     for a, b in _chunks(x, y)])
    return 10 * torch.log10(data_range**2 / mse)


def gaussian_window(sigma: float) -> Tensor:
    """The normalised 1-D Gaussian [2r + 1] float64, r = int(3.5 sigma + 0.5) (as scipy's
    ``gaussian_filter`` truncates it for scikit-image)."""
    radius = int(TRUNCATE * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    weights = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def ssim(x: Tensor, y: Tensor, data_range: float = 2.0, sigma: float = SSIM_SIGMA) -> Tensor:
    """Mean SSIM of each image pair [N, C, H, W] -> [N] float64 (CPU), in [-1, 1], 1 for
    identical images; symmetric in x and y.

    The window's side is 2 int(3.5 sigma + 0.5) + 1 (11 at the paper's sigma 1.5); images
    smaller than that are refused rather than padded, since SSIM near a padded border measures
    the padding. For small images (digits8 is 8x8) pass a smaller ``sigma``: the error names
    the largest that fits, and scikit-image's ``sigma=`` computes the same value."""
    _check_pair(x, y, "ssim")
    _check_range(data_range)
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
        raise ConfigError(f"ssim sigma must be a positive number (1.5 in Wang et al. 2004), "
                          f"got {sigma!r}")
    window = gaussian_window(sigma)
    side = len(window)
    height, width = x.shape[-2:]
    if min(height, width) < side:
        fits = (min(height, width) - 1) // 2  # radius of the largest window that fits
        raise ImageShapeError(f"ssim with sigma {sigma} uses a {side}x{side} window, larger than "
                              f"{height}x{width} images; pass a sigma below "
                              f"{(fits + 0.5) / TRUNCATE:.3g}")
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    scores = []
    for a, b in _chunks(x, y):
        n, channels = a.shape[:2]
        a = a.double().reshape(n * channels, 1, height, width)
        b = b.to(a.device).double().reshape(n * channels, 1, height, width)
        kernel = window.to(a.device)
        # The five local moments in one separable, unpadded convolution: [5 n C, 1, H', W']
        moments = torch.cat([a, b, a * a, b * b, a * b])
        moments = F.conv2d(moments, kernel.view(1, 1, side, 1))
        moments = F.conv2d(moments, kernel.view(1, 1, 1, side))
        mu_a, mu_b, aa, bb, ab = moments.chunk(5)
        var_a, var_b = aa - mu_a**2, bb - mu_b**2  # population (co)variances
        cov = ab - mu_a * mu_b
        s_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)
                 / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
        scores.append(s_map.reshape(n, -1).mean(1).cpu())  # channels' maps have one size
    return torch.cat(scores)
