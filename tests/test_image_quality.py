"""Per-image quality metrics against scikit-image (SSIM, PSNR) and numpy (MAE), plus their
invariances: identity, symmetry, monotone in noise, chunking, and the window-size limit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gankit.errors import ConfigError
from gankit.metrics import image_quality
from gankit.metrics.digit_classifier import ImageShapeError
from gankit.metrics.image_quality import mean_absolute_error, psnr, ssim


def random_images(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def structured_images(n: int, channels: int, height: int, width: int, seed: int = 0
                      ) -> torch.Tensor:
    """Smooth stripes and a bright square, different per image and channel, in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    rows = torch.arange(height, dtype=torch.float64)[:, None]
    cols = torch.arange(width, dtype=torch.float64)[None, :]
    out = torch.empty(n, channels, height, width, dtype=torch.float64)
    for i in range(n):
        for c in range(channels):
            fy, fx, phase = (torch.rand(3, generator=g, dtype=torch.float64) * 0.6).tolist()
            top, left = torch.randint(0, height // 2, (2,), generator=g).tolist()
            picture = 0.7 * torch.sin(fy * rows + fx * cols + 10 * phase)
            picture[top:top + height // 3, left:left + width // 3] = 1.0
            out[i, c] = picture.clamp(-1, 1)
    return out.float()


def noisy(x: torch.Tensor, level: float, seed: int = 1) -> torch.Tensor:
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    return (x + level * noise).clamp(-1, 1)


def skimage_ssim(x: torch.Tensor, y: torch.Tensor, sigma: float = 1.5) -> list[float]:
    out = []
    for a, b in zip(x.double().numpy(), y.double().numpy(), strict=True):  # [C, H, W] each
        kwargs = {"channel_axis": 0} if a.shape[0] > 1 else {}
        if not kwargs:
            a, b = a[0], b[0]
        out.append(structural_similarity(a, b, gaussian_weights=True, sigma=sigma,
                                         use_sample_covariance=False, data_range=2.0, **kwargs))
    return out


@pytest.mark.parametrize("channels, height, width", [(1, 28, 28), (1, 32, 32), (3, 32, 32),
                                                     (3, 28, 28), (1, 20, 31)])
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_ssim_matches_scikit_image(channels, height, width, kind):
    make = random_images if kind == "random" else structured_images
    x = make(4, channels, height, width, seed=2)
    y = torch.cat([x[:1], noisy(x[1:2], 0.05), noisy(x[2:3], 0.3), make(1, channels, height,
                                                                        width, seed=3)])
    got = ssim(x, y)
    assert got.dtype == torch.float64 and got.shape == (4,) and got.device.type == "cpu"
    assert got.tolist() == pytest.approx(skimage_ssim(x, y), abs=1e-6)


def test_ssim_with_a_smaller_window_matches_scikit_image_on_8x8_digits():
    x = structured_images(3, 1, 8, 8, seed=4)
    y = noisy(x, 0.2)
    assert ssim(x, y, sigma=0.9).tolist() == pytest.approx(skimage_ssim(x, y, sigma=0.9),
                                                           abs=1e-6)


def test_ssim_refuses_images_smaller_than_its_window_and_names_a_sigma_that_fits():
    x = torch.zeros(2, 1, 8, 8)
    with pytest.raises(ImageShapeError, match=r"sigma 1.5 uses a 11x11 window, larger than "
                                              r"8x8 images; pass a sigma below 1$"):
        ssim(x, x)
    with pytest.raises(ImageShapeError, match="9x9 window"):
        ssim(x, x, sigma=1.0)
    assert ssim(x, x, sigma=0.99).tolist() == [1.0, 1.0]  # the largest 7x7 one
    with pytest.raises(ImageShapeError, match="larger than 28x10 images"):
        ssim(torch.zeros(1, 1, 28, 10), torch.zeros(1, 1, 28, 10))


def test_ssim_of_an_image_with_itself_is_one_and_ssim_is_symmetric():
    x, y = structured_images(3, 3, 32, 32, seed=5), random_images(3, 3, 32, 32, seed=6)
    assert ssim(x, x).tolist() == pytest.approx([1.0] * 3, abs=1e-12)
    torch.testing.assert_close(ssim(x, y), ssim(y, x), rtol=1e-12, atol=1e-12)


def test_ssim_drops_as_noise_grows():
    x = structured_images(8, 1, 28, 28, seed=7)
    scores = [ssim(x, noisy(x, level)).mean().item() for level in (0.02, 0.1, 0.3, 0.8)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0.95 and scores[-1] < 0.5


def test_chunks_do_not_change_the_scores(monkeypatch):
    x, y = structured_images(7, 3, 16, 16, seed=8), random_images(7, 3, 16, 16, seed=9)
    whole = ssim(x, y), psnr(x, y), mean_absolute_error(x, y)
    monkeypatch.setattr(image_quality, "CHUNK_VALUES", 2 * 3 * 16 * 16)  # two images a chunk
    for before, after in zip(whole, (ssim(x, y), psnr(x, y), mean_absolute_error(x, y)),
                             strict=True):
        torch.testing.assert_close(after, before, rtol=1e-12, atol=0)


def test_psnr_matches_scikit_image_and_is_infinite_for_identical_images():
    x = structured_images(3, 3, 28, 28, seed=10)
    y = torch.cat([x[:1], noisy(x[1:], 0.1)])
    expected = [math.inf] + [peak_signal_noise_ratio(a, b, data_range=2.0)
                             for a, b in zip(x[1:].double().numpy(), y[1:].double().numpy(),
                                             strict=True)]
    got = psnr(x, y)
    assert got.dtype == torch.float64 and got.shape == (3,)
    assert got.tolist() == pytest.approx(expected, rel=1e-10)
    # scale invariance: the same images on a pixel scale twice as wide
    torch.testing.assert_close(psnr(2 * x, 2 * y, data_range=4.0), got, rtol=1e-6, atol=0)


def test_mean_absolute_error_per_image():
    x, y = random_images(4, 3, 8, 5, seed=11), random_images(4, 3, 8, 5, seed=12)
    expected = np.abs(x.double().numpy() - y.double().numpy()).reshape(4, -1).mean(1)
    assert mean_absolute_error(x, y).tolist() == pytest.approx(expected.tolist(), rel=1e-12)
    assert mean_absolute_error(x, x).tolist() == [0.0] * 4
    torch.testing.assert_close(mean_absolute_error(x, y), mean_absolute_error(y, x))


@pytest.mark.parametrize("metric", [ssim, psnr, mean_absolute_error])
def test_inputs_are_checked(metric):
    with pytest.raises(ImageShapeError, match=r"\[2, 1, 16, 16\] and \[2, 1, 16, 15\]"):
        metric(torch.zeros(2, 1, 16, 16), torch.zeros(2, 1, 16, 15))
    with pytest.raises(ImageShapeError, match="torch.uint8"):
        metric(torch.zeros(2, 1, 16, 16, dtype=torch.uint8), torch.zeros(2, 1, 16, 16))


@pytest.mark.parametrize("data_range", [0.0, -2.0, math.nan])
def test_data_range_must_be_positive(data_range):
    x = torch.zeros(1, 1, 16, 16)
    for metric in (ssim, psnr):
        with pytest.raises(ConfigError, match=f"data_range must be a positive number.*got "
                                              f"{data_range!r}$"):
            metric(x, x, data_range=data_range)
