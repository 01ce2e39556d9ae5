r"""Losses on images themselves, not on a discriminator's outputs: what an auto-encoder or a
translation network adds to its adversarial terms.

- :func:`l1_reconstruction`: $\mathbb E |x - \hat x|$ per pixel (CAAE, Zhang et al. 2017,
  eq. 5, as its reference code computes it; Pix2Pix's L1 term, Isola et al. 2017, eq. 3).
- :func:`total_variation`: $\mathbb E |x_{i+1,j} - x_{i,j}| + |x_{i,j+1} - x_{i,j}|$, the
  smoothness prior of CAAE's eq. 5 (Mahendran & Vedaldi 2015), against high-frequency artefacts.
- :func:`pixel_loss`: $\frac1S \sum_{s=0}^{S-1} \mathbb E |P_s \hat x - P_s x|$, $P_s$ the
  $2^s \times 2^s$ average pooling: the pixel loss at several resolutions (TP-GAN, Huang et al.
  2017, Sec. 3.3, eq. 3); S = 1 is :func:`l1_reconstruction`.
- :func:`symmetry_loss`: $\mathbb E |I_{x,y} - I_{W-1-x,y}|$, TP-GAN's eq. 4: the output should
  be its own mirror image (a frontal face there).
- :func:`identity_preserving_loss`: $\sum_l \mathbb E |\phi_l(\hat x) - \phi_l(x)|$ over layers
  $l$ of a fixed recognition network (TP-GAN eq. 6: the last two layers of Light CNN there, of
  the digit classifier here, :class:`FixedFeatures`).
- :func:`perceptual_loss`: $\sum_l \frac{1}{C_l H_l W_l} \|\phi_l(\hat x) - \phi_l(x)\|_2^2$, the
  feature reconstruction loss of Johnson, Alahi & Fei-Fei 2016, eq. 2 (VGG-16 there).

Images are [N, C, H, W] in [-1, 1]; each loss is a float32 scalar averaged over the batch. The
feature losses compare the output with a reference whose side carries no gradient.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.metrics.digit_classifier import DigitNet, ImageShapeError, load_digit_classifier


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


def pixel_loss(output: Tensor, target: Tensor, scales: int = 1) -> Tensor:
    """L1 distance of ``output`` and ``target`` [N, C, H, W] at ``scales`` resolutions, full,
    half, quarter, ... (2^s x 2^s average pooling; rows and columns beyond a multiple of 2^s are
    left out at that scale), averaged with equal weights as TP-GAN's eq. 3 does."""
    if output.shape != target.shape or output.ndim != 4:
        raise ImageShapeError(f"pixel_loss takes two images [N, C, H, W] of one shape, got "
                              f"{list(output.shape)} and {list(target.shape)}")
    side = min(output.shape[-2:])
    largest = side.bit_length()  # the most scales whose coarsest pooling 2^(S-1) fits the side
    if isinstance(scales, bool) or not isinstance(scales, int) or not 1 <= scales <= largest:
        raise ConfigError(f"pixel_loss scales must be an integer in [1, {largest}] for images of "
                          f"side {side} (2^(scales-1) <= side), got {scales!r}")
    x, y = output.float(), target.float()
    terms = [(F.avg_pool2d(x, 2**s) - F.avg_pool2d(y, 2**s)).abs().mean() for s in range(scales)]
    return torch.stack(terms).mean()


def symmetry_loss(images: Tensor) -> Tensor:
    """Mean |I(x, y) - I(W-1-x, y)| over images [N, C, H, W]: TP-GAN's eq. 4.

    The paper sums over the left half only and divides by its size, W/2 x H. Over the full width
    each mirrored pair of columns appears twice with the same difference, and the count doubles
    too, so the full-image mean is the same number (for odd W the middle column, its own mirror,
    adds zeros: the mean is then (W-1)/W of the paper's half-image mean)."""
    x = images.float()
    return (x - x.flip(-1)).abs().mean()


class FixedFeatures(nn.Module):
    """A frozen :class:`~gankit.metrics.digit_classifier.DigitNet` whose intermediate
    activations the feature losses compare: ``features(images)`` -> {layer name: activation}.

    Layers: ``block1``, ``block2``, ... (each 3x3 conv + ReLU + 2x2 max-pool block, after the
    pooling) and ``feature`` (the post-ReLU penultimate layer, the FID feature space). The
    default, the last block and ``feature``, is TP-GAN's choice for its eq. 6: the two deepest
    layers, which say *which* digit rather than which pixels.

    Images [N, C, H, W] of any channel count become grey (the mean over channels) and are
    resized (bilinear, antialiased) to the net's side when theirs differs.

    Frozen for good: the weights are held as *buffers*, not parameters, so no optimizer, no
    ``requires_grad_(True)`` (the trainer calls it on every network in ``recipe.nets``) and no
    DDP gradient sync ever touches them, while ``.to(device)`` still moves them and gradients
    still flow to the input images. The buffers are not persistent: a recipe's ``state_dict``
    and so its checkpoints hold none of them (the recipe rebuilds the module from the shipped
    weight file, whose checksum is pinned, so a resumed run sees the same network). The module
    stays in eval mode whatever ``train()`` asks (DigitNet has no dropout or batch norm today;
    this keeps a future one fixed too).
    """

    def __init__(self, net: DigitNet, layers: Sequence[str] | None = None) -> None:
        super().__init__()
        self.net = copy.deepcopy(net)  # the caller's network keeps its parameters
        for module in self.net.modules():
            for name, param in list(module.named_parameters(recurse=False)):
                delattr(module, name)
                module.register_buffer(name, param.detach(), persistent=False)
        self.image_size = net.config.image_size
        self.layer_names = (*(f"block{i + 1}" for i in range(len(net.config.channels))), "feature")
        self.layers = self._check(layers) if layers is not None else self.layer_names[-2:]
        super().train(False)

    @classmethod
    def digits(cls, which: str = "mnist5k", layers: Sequence[str] | None = None,
               device: torch.device | str = "cpu") -> FixedFeatures:
        """The shipped digit classifier of ``which`` (mnist5k: 28x28, digits8: 8x8), checksum
        verified, as fixed features on ``device``."""
        return cls(load_digit_classifier(which, device).net, layers)

    def train(self, mode: bool = True) -> FixedFeatures:
        return super().train(False)

    def forward(self, images: Tensor, layers: Sequence[str] | None = None) -> dict[str, Tensor]:
        """Activations of ``layers`` (default: :attr:`layers`), in that order, float32 (also
        under autocast, whose lower-precision activations are cast back)."""
        wanted = self.layers if layers is None else self._check(layers)
        if images.ndim != 4 or not images.is_floating_point():
            raise ImageShapeError(f"FixedFeatures takes float images [N, C, H, W] in [-1, 1], "
                                  f"got {images.dtype} {list(images.shape)}")
        size = self.image_size
        dtype = self.net.feature.weight.dtype  # float32, unless the owner was cast
        h = images.to(dtype).mean(1, keepdim=True)  # [N, 1, H, W]
        if tuple(h.shape[-2:]) != (size, size):
            h = F.interpolate(h, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=True)  # [N, 1, S, S]
        out: dict[str, Tensor] = {}
        deepest = max(self.layer_names.index(name) for name in wanted)
        for i, name in enumerate(self.layer_names[:deepest + 1]):
            if name == "feature":
                h = F.relu(self.net.feature(h.flatten(1)))  # [N, hidden]
            else:
                h = self.net.conv[3 * i:3 * i + 3](h)  # conv, ReLU, pool: [N, C_i, S/2^i, S/2^i]
            out[name] = h
        return {name: out[name].float() for name in wanted}

    def _check(self, layers: Sequence[str]) -> tuple[str, ...]:
        chosen = (layers,) if isinstance(layers, str) else tuple(layers)
        unknown = [name for name in chosen if name not in self.layer_names]
        if unknown or not chosen:
            what = f"unknown layer {unknown[0]!r}" if unknown else "no layers given"
            raise ConfigError(f"FixedFeatures: {what}; known layers: {', '.join(self.layer_names)}")
        return tuple(dict.fromkeys(chosen))


def _feature_pairs(features: FixedFeatures, output: Tensor, reference: Tensor,
                   layers: Sequence[str] | None) -> list[tuple[Tensor, Tensor]]:
    """(output, detached reference) activations per layer."""
    if output.shape != reference.shape:
        raise ImageShapeError(f"output and reference must have one shape, got "
                              f"{list(output.shape)} and {list(reference.shape)}")
    phi_output = features(output, layers)
    with torch.no_grad():
        phi_reference = features(reference, layers)
    return [(phi_output[name], phi_reference[name]) for name in phi_output]


def identity_preserving_loss(features: FixedFeatures, output: Tensor, reference: Tensor,
                             layers: Sequence[str] | None = None) -> Tensor:
    """TP-GAN's eq. 6: the sum over ``layers`` (default: ``features.layers``) of the mean
    absolute difference of the activations of ``output`` and ``reference`` (no gradient)."""
    pairs = _feature_pairs(features, output, reference, layers)
    return torch.stack([(a - b).abs().mean() for a, b in pairs]).sum()


def perceptual_loss(features: FixedFeatures, output: Tensor, reference: Tensor,
                    layers: Sequence[str] | None = None) -> Tensor:
    """Johnson et al. 2016's feature reconstruction loss (eq. 2), summed over ``layers``
    (default: ``features.layers``): the mean squared difference of the activations, i.e.
    ||phi_j(y_hat) - phi_j(y)||^2 / (C_j H_j W_j) averaged over the batch; the reference
    ``y`` carries no gradient."""
    pairs = _feature_pairs(features, output, reference, layers)
    return torch.stack([(a - b).square().mean() for a, b in pairs]).sum()
