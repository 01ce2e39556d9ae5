"""A feature space fitted to one's own images, offline: a small convolutional encoder trained
by SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations") on the real images alone, saved as one safetensors file.

FID, KID, precision/recall and density/coverage need a feature space in which distances mean
something about images. InceptionV3 gives one for photographs but must be downloaded; the digit
classifier knows digits only. SimCLR needs no labels: two random views of each image
(random resized crop, horizontal flip, colour jitter, sometimes grey) are pulled together and
pushed away from the views of the other images of the batch by the NT-Xent loss (Chen et al.
2020, eq. 1):

    l(i, j) = -log  exp(sim(z_i, z_j) / tau) / sum_{k != i} exp(sim(z_i, z_k) / tau)

with sim the cosine similarity of the projections z = g(h) and tau = 0.5 (their CIFAR-10
setting, Appendix B.9). The features are the encoder's output h, before the projection head g,
as the paper recommends (Sec. 4.2: h keeps what g discards). The file records what it was
fitted on (data, image shape, steps, seed, gankit version) and a digest of its weights: figures
compare only within one file, and its name (``learned-DIGEST``) says which.

Notation: h -> ``encoder(x)`` [N, F]; z -> ``head(h)``; tau -> ``TEMPERATURE``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.data.images import to_uint8
from gankit.errors import GankitError

FORMAT = "gankit-features/1"
TEMPERATURE = 0.5  # tau of NT-Xent, Chen et al. 2020's CIFAR-10 setting
WIDTHS = (32, 64, 128, 256)  # channels of the encoder's stride-2 blocks; F = 256 features
PROJECTION = 64  # the projection head's output, z
CROP_SCALE = (0.3, 1.0)  # area of the random resized crop (SimCLR: 0.08-1 for ImageNet's size)
BATCH_SIZE = 256  # images per step, 2 views each: 510 negatives per positive pair
FEATURE_BATCH = 512  # images per forward pass when measuring
# a set that is not held in memory (streamed from disk) is fitted on a seeded draw of at most
# this many bytes of its images: 1 GiB is 87k RGB images at 64 px
FIT_BYTES = 2**30


class Encoder(nn.Module):
    """x [N, C, H, W] in [-1, 1] -> h [N, WIDTHS[-1]]: stride-2 3x3 convolutions with group
    norm (batch statistics would differ between fitting and measuring) and a global average."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in WIDTHS:
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1),
                       nn.GroupNorm(8, width), nn.SiLU()]
            channels = width
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x).mean(dim=(2, 3))


def projection_head() -> nn.Module:
    """g: the MLP with one hidden layer that SimCLR puts between h and the loss."""
    return nn.Sequential(nn.Linear(WIDTHS[-1], WIDTHS[-1]), nn.ReLU(),
                         nn.Linear(WIDTHS[-1], PROJECTION))


@dataclass
class LearnedFeatures:
    """A fitted encoder as a :class:`~gankit.metrics.extractors.FeatureExtractor`: images
    [N, C, H, W] of exactly ``image_shape`` -> features [N, 256] float32 on the CPU."""

    encoder: Encoder
    image_shape: tuple[int, int, int]  # (C, H, W) it was fitted on
    fitted: dict[str, Any]  # data, n, image_shape, steps, seed, batch_size, gankit version
    digest: str  # sha256 of the weights: which feature space figures were measured in

    @property
    def name(self) -> str:
        return f"learned-{self.digest[:12]}"

    def features(self, images: Tensor) -> Tensor:
        if tuple(images.shape[1:]) != self.image_shape:
            raise GankitError(f"feature file {self.name} was fitted on images of shape "
                              f"{shape_text(self.image_shape)}, got "
                              f"{shape_text(images.shape[1:])}")
        device = next(self.encoder.parameters()).device
        self.encoder.eval()
        with torch.no_grad():
            return torch.cat([self.encoder(part.to(device).float()).cpu()
                              for part in images.split(FEATURE_BATCH)]).float()

    def to(self, device: torch.device | str) -> LearnedFeatures:
        self.encoder.to(device)
        return self


def shape_text(shape: tuple[int, ...] | torch.Size) -> str:
    """(3, 32, 32) -> ``3x32x32``: how messages name image shapes."""
    return "x".join(map(str, shape))


def augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """One random SimCLR view of each image of x [N, C, H, W] in [-1, 1], same shape: a crop
    of 30-100% of the area at aspect 3/4-4/3 resized back, flipped left-right half the time,
    then (80%) brightness, contrast and, in colour, saturation jitter, and (colour, 20%) grey
    (Chen et al. 2020, Appendix A, with strength 0.5 as for CIFAR-10, without its hue jitter;
    contrast blends towards each image's mean over all channels). Every draw comes from
    ``generator``, so a seed fixes every view."""
    n, channels = x.shape[:2]

    def uniform(low: float, high: float) -> Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    area = uniform(*CROP_SCALE)
    aspect = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
    width, height = (area * aspect).sqrt().clamp(max=1), (area / aspect).sqrt().clamp(max=1)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)  # affine_grid's map from output to input coordinates
    theta[:, 0, 0], theta[:, 1, 1] = width * flip, height
    theta[:, 0, 2], theta[:, 1, 2] = uniform(-1, 1) * (1 - width), uniform(-1, 1) * (1 - height)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    view = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=False)
    unit = (view + 1) / 2  # [0, 1] for the colour operations
    jitter = (torch.rand(n, generator=generator) < 0.8).float().view(n, 1, 1, 1)

    def factor(strength: float) -> Tensor:  # 1 where no jitter is drawn
        return 1 + jitter * (uniform(-strength, strength).view(n, 1, 1, 1))

    unit = unit * factor(0.4)
    mean = unit.mean(dim=(1, 2, 3), keepdim=True)
    unit = mean + (unit - mean) * factor(0.4)
    if channels == 3:
        grey = (unit * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        unit = grey + (unit - grey) * factor(0.4)
        to_grey = (torch.rand(n, generator=generator) < 0.2).view(n, 1, 1, 1)
        unit = torch.where(to_grey, grey.expand_as(unit), unit)
    return unit.clamp(0, 1) * 2 - 1


def nt_xent(z: Tensor, temperature: float = TEMPERATURE) -> Tensor:
    """NT-Xent (Chen et al. 2020, eq. 1) of z [2N, D], where rows i and i + N are the two views
    of one image, averaged over all 2N anchors."""
    z = F.normalize(z, dim=1)
    similarity = z @ z.T / temperature  # [2N, 2N]
    similarity.fill_diagonal_(float("-inf"))  # k != i
    n = len(z) // 2
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(similarity, positives)


def fit(images: Any, steps: int = 600, seed: int = 0, batch_size: int = BATCH_SIZE,
        data: str | None = None, progress: bool = True) -> LearnedFeatures:
    """Fit a SimCLR encoder to ``images``: uint8 [N, C, H, W] (or an image data set, whose
    training split is used) for ``steps`` Adam steps of ``batch_size`` images; ``data`` names
    them in the file's record (default: the data set's name, or ``given``). Deterministic for
    a seed on one machine and thread count."""
    pixels = images if isinstance(images, Tensor) else training_images(images, seed)
    # (a tensor's own ``name`` is its dimensions' names)
    name = data or (None if isinstance(images, Tensor) else getattr(images, "name", None))
    name = name or "given"
    if not isinstance(pixels, Tensor) or pixels.dtype != torch.uint8 or pixels.dim() != 4 \
            or pixels.shape[1] not in (1, 3) or len(pixels) < 2:
        raise GankitError("features are fitted on uint8 images [N, C, H, W] with N >= 2 and C 1 "
                          "or 3, or an image data set; got "
                          + (f"{pixels.dtype} {shape_text(pixels.shape)}"
                             if isinstance(pixels, Tensor) else type(pixels).__name__))
    if steps < 1 or batch_size < 2:
        raise GankitError(f"fitting features needs steps >= 1 and batch_size >= 2, got steps "
                          f"{steps}, batch_size {batch_size}")
    from tqdm.auto import tqdm

    from gankit import __version__

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder, head = Encoder(pixels.shape[1]), projection_head()
    parameters = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3, weight_decay=1e-6)
    generator = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, len(pixels))
    encoder.train()
    with tqdm(range(steps), desc="fitting features", unit="step", disable=not progress,
              dynamic_ncols=True) as bar:
        for _ in bar:
            # distinct images: a repeat would be a false negative of NT-Xent's other views,
            # frequent where a small set caps the batch at N
            index = torch.randperm(len(pixels), generator=generator)[:batch_size]
            x = pixels[index].float() / 127.5 - 1  # [B, C, H, W]
            views = torch.cat([augment(x, generator), augment(x, generator)])  # [2B, C, H, W]
            loss = nt_xent(head(encoder(views)))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    encoder.eval()
    shape = tuple(int(s) for s in pixels.shape[1:])
    fitted = {"data": str(name), "n": len(pixels), "image_shape": list(shape), "steps": steps,
              "seed": seed, "batch_size": batch_size, "method": "simclr",
              "gankit": __version__}
    return LearnedFeatures(encoder, shape, fitted, weights_digest(encoder.state_dict()))


def training_images(data: Any, seed: int) -> Any:
    """A data set's training images as uint8 [N, C, H, W], as a run sees its examples: the
    stored tensor of a set held in memory, else (a set streamed from disk, StackedMNIST's
    triples) a seeded draw of distinct examples by the set's ``reference``, at most
    :data:`FIT_BYTES` of them. Anything else is returned as it came, for :func:`fit` to
    refuse."""
    stored = getattr(data, "images", None)
    if isinstance(stored, Tensor) and not getattr(data, "channels_are_examples", False):
        return stored
    if not hasattr(data, "reference") or not hasattr(data, "shape"):
        return data
    count = max(2, min(len(data), FIT_BYTES // math.prod(data.shape)))
    drawn, _ = data.reference(count, torch.Generator().manual_seed(seed))
    return to_uint8(drawn)


def weights_digest(tensors: dict[str, Tensor]) -> str:
    """sha256 over the weights' names, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        tensor = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}:{list(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def save(features: LearnedFeatures, path: str | Path) -> Path:
    """Write ``features`` to ``path`` (safetensors; what it was fitted on in the header),
    whole or not at all."""
    from safetensors.torch import save_file

    from gankit.storage.files import replace_atomically

    tensors = {k: v.detach().cpu().contiguous() for k, v in features.encoder.state_dict().items()}
    metadata = {"format": FORMAT, "fitted": json.dumps(features.fitted),
                "digest": features.digest}
    with replace_atomically(Path(path)) as tmp:
        save_file(tensors, tmp, metadata=metadata)
    return Path(path)


def load(path: str | Path, device: torch.device | str = "cpu") -> LearnedFeatures:
    """The feature extractor saved at ``path`` by :func:`save`; nothing in the file is
    executed. A file that is not one (damaged, another format, weights that do not match
    their digest) is one :class:`GankitError` line."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)

    def refuse(why: str) -> GankitError:
        return GankitError(f"not a gankit feature file: {path}: {why} (write one with "
                           f"'gankit features fit DATA --out FILE')")

    if not path.is_file():
        raise GankitError(f"no feature file {path} (write one with 'gankit features fit DATA "
                          f"--out FILE')")
    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = file.metadata() or {}
            tensors = {key: file.get_tensor(key) for key in file.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise refuse(str(err).split(": ", 1)[-1] or type(err).__name__) from None
    if metadata.get("format") != FORMAT:
        raise refuse(f"its header's format is not {FORMAT}")
    try:
        fitted = json.loads(metadata["fitted"])
        shape = tuple(int(s) for s in fitted["image_shape"])
        if len(shape) != 3 or shape[0] not in (1, 3) or min(shape) < 1:
            raise ValueError(f"image shape {shape}")
        encoder = Encoder(shape[0])
        encoder.load_state_dict(tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise refuse(f"its weights or record do not fit the encoder ({str(err).splitlines()[0]})"
                     ) from None
    digest = weights_digest(tensors)
    if digest != metadata.get("digest"):
        raise refuse("its weights do not match their digest")
    if not all(bool(torch.isfinite(t).all()) for t in tensors.values()):
        raise refuse("its weights hold non-finite values")
    return LearnedFeatures(encoder.eval(), shape, fitted, digest).to(device)
