"""The project's own digit classifiers: the default feature extractor and classifier for digit data.

Salimans et al. 2016 (Sec. 4) score samples with a pretrained classifier's outputs (the
Inception Score); Heusel et al. 2017 compare the classifier's penultimate activations (FID). On
digits an ImageNet network is the wrong judge, so, as is common for MNIST-like data (e.g. the
StackedMNIST mode count of Metz et al. 2017), gankit trains a small CNN on the data set itself:
its softmax feeds :mod:`gankit.metrics.classifier` (classifier score, label histograms, modes) and
its penultimate layer (post-ReLU) is the domain-specific feature space for FID, KID and
precision/recall in :mod:`gankit.metrics.features`.

The classifiers are trained on the TRAIN split only (the held-out split measures them) and
shipped as safetensors files whose SHA-256 is pinned in :data:`SHA256` and checked before
loading. Rebuild one with::

    python -m gankit.metrics.digit_classifier --data mnist5k \\
        --out src/gankit/weights/mnist5k-classifier.safetensors
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from gankit.config import DataConfig
from gankit.data.images import ImageDataset, load_digits8, load_mnist5k, to_unit_range
from gankit.errors import CheckpointError, GankitError

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
# Pinned checksums of the shipped files: a changed file is refused rather than silently changing
# every score computed with it.
SHA256 = {
    "mnist5k": "5ffd43a5e5aa388b97f00c7cbcd8a354002fbd526dca0257f8ea72caf9f2fceb",
    "digits8": "991952e95063185e488a55b8825518a3b262d1411df153432778371a4ceb419e",
}
FORMAT = "gankit-digit-classifier/1"
_META_KEY = "gankit"  # one JSON value: safetensors orders several keys differently per process


class ImageShapeError(GankitError, ValueError):
    """Images that do not have the classifier's size, channel count or dtype."""


@dataclass(frozen=True)
class DigitNetConfig:
    """Architecture: 3x3 conv + ReLU + 2x2 max-pool per entry of ``channels``, then the feature
    layer of ``hidden`` units and the logits."""

    image_size: int
    channels: tuple[int, ...]
    hidden: int = 128
    n_classes: int = 10


@dataclass(frozen=True)
class Recipe:
    """How the shipped classifier of one data set is trained."""

    net: DigitNetConfig
    epochs: int
    shift: int  # largest random translation, pixels (augmentation)
    batch_size: int = 64
    lr: float = 1e-3  # Adam, cosine-annealed to 0 over the run


RECIPES = {
    "mnist5k": Recipe(DigitNetConfig(28, (32, 64, 64)), epochs=20, shift=2),
    "digits8": Recipe(DigitNetConfig(8, (32, 64)), epochs=40, shift=1),
}
_LOADERS = {"mnist5k": load_mnist5k, "digits8": load_digits8}


class DigitNet(nn.Module):
    """Small CNN returning (features, logits); features are the post-ReLU penultimate layer."""

    def __init__(self, config: DigitNetConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        c_in, size = 1, config.image_size
        for c_out in config.channels:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c_in, size = c_out, size // 2
        self.conv = nn.Sequential(*layers)
        self.feature = nn.Linear(c_in * size * size, config.hidden)
        self.head = nn.Linear(config.hidden, config.n_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = F.relu(self.feature(self.conv(x).flatten(1)))  # [N, hidden]
        return h, self.head(h)  # [N, hidden], [N, n_classes]


class DigitClassifier:
    """A trained :class:`DigitNet` behind the :class:`~gankit.metrics.extractors.Classifier`
    protocol: images [N, 1, S, S] in [-1, 1] on any device -> CPU outputs, in batches, eval
    mode, no grad. Multi-channel images (StackedMNIST) are the caller's to split per channel."""

    def __init__(self, net: DigitNet, dataset_name: str, device: torch.device | str = "cpu",
                 batch_size: int = 500, info: dict[str, Any] | None = None) -> None:
        # channels_last: in NCHW, max-pooling took half of the CPU forward pass (2x faster in
        # all); the convolutions then sum in another order, features agree to ~3e-7 relative.
        self.net = net.to(device, memory_format=torch.channels_last).eval()
        self.dataset_name = dataset_name
        self.name = f"digits-{dataset_name}"
        self.n_classes = net.config.n_classes
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.info = info or {}  # what the weight file says: accuracy, seed, epochs

    def features(self, images: Tensor) -> Tensor:
        """Penultimate activations [N, hidden] float32 (CPU): the FID/KID/PR feature space."""
        return self._forward(images)[0]

    def probabilities(self, images: Tensor) -> Tensor:
        """Softmax class probabilities [N, n_classes] (CPU), p(y|x) of the classifier score."""
        return self._forward(images)[1].softmax(1)

    def outputs(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`features` and :meth:`probabilities` from one forward pass."""
        features, logits = self._forward(images)
        return features, logits.softmax(1)

    def predict(self, images: Tensor) -> Tensor:
        """Most probable class [N] int64 (CPU)."""
        return self._forward(images)[1].argmax(1)

    @torch.no_grad()
    def _forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        size = self.net.config.image_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (1, size, size):
            raise ImageShapeError(f"{self.name} takes images [N, 1, {size}, {size}], got "
                                  f"{list(images.shape)} (classify multi-channel images one "
                                  f"channel at a time)")
        if not images.is_floating_point():
            raise ImageShapeError(f"{self.name} takes float images in [-1, 1], got {images.dtype}"
                                  " (gankit.data.images.to_unit_range converts uint8)")
        outputs = [self.net(batch.to(self.device, torch.float32,
                                     memory_format=torch.channels_last))
                   for batch in images.split(self.batch_size)]
        features, logits = (torch.cat(parts).float().cpu() for parts in zip(*outputs, strict=True))
        return features, logits  # [N, hidden], [N, n_classes]


def random_shift(images: Tensor, shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image [N, C, H, W] by its own offsets in [-shift, shift] pixels, filling
    with the background value -1 (pad, then crop at a random corner)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (shift,) * 4, value=-1.0)  # [N, C, H + 2s, W + 2s]
    dy, dx = torch.randint(2 * shift + 1, (2, n, 1), generator=generator)  # [N, 1] each
    rows = (dy + torch.arange(h))[:, :, None]  # [N, H, 1]
    cols = (dx + torch.arange(w))[:, None, :]  # [N, 1, W]
    return padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def recipe(dataset_name: str) -> Recipe:
    """The training recipe of ``dataset_name``; an unknown name lists the known ones."""
    if dataset_name not in RECIPES:
        raise GankitError(f"no digit classifier recipe for {dataset_name!r}; known: "
                          f"{', '.join(sorted(RECIPES))}")
    return RECIPES[dataset_name]


def load_split(dataset_name: str) -> ImageDataset:
    """The data set a digit classifier is trained (train split) and measured (held-out) on."""
    recipe(dataset_name)
    return _LOADERS[dataset_name](DataConfig(name=dataset_name))


def held_out_accuracy(classifier: DigitClassifier, data: ImageDataset) -> float:
    """Share of the held-out split that ``classifier`` labels correctly."""
    predicted = classifier.predict(to_unit_range(data.held_out))
    return (predicted == data.held_out_labels).double().mean().item()


def train_classifier(dataset_name: str, seed: int = 0, epochs: int | None = None,
                     progress: bool = False) -> tuple[DigitClassifier, float]:
    """Train the data set's recipe (:data:`RECIPES`) on its train split; return the classifier
    and its held-out accuracy. Bit-identical given ``seed`` on the CPU with a fixed thread
    count; the global RNG is left as it was."""
    settings = recipe(dataset_name)
    epochs = settings.epochs if epochs is None else epochs
    if epochs < 1:
        raise GankitError(f"epochs must be >= 1, got {epochs}")
    data = load_split(dataset_name)
    x, y = to_unit_range(data.images), data.labels  # [N, 1, S, S], [N]
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # layer initialisation draws from the global RNG
        net = DigitNet(settings.net)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
    steps_per_epoch = -(-len(x) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    net.train()
    for epoch in range(epochs):
        total = 0.0
        for index in torch.randperm(len(x), generator=generator).split(settings.batch_size):
            batch = random_shift(x[index], settings.shift, generator)
            loss = F.cross_entropy(net(batch)[1], y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(index)
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: train loss {total / len(x):.4f}", flush=True)
    classifier = DigitClassifier(net, dataset_name)
    return classifier, held_out_accuracy(classifier, data)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_classifier(classifier: DigitClassifier, path: str | Path, *, accuracy: float,
                    seed: int, epochs: int) -> str:
    """Write the weights and their provenance (safetensors, atomically); return the SHA-256."""
    path = Path(path)
    meta = {"format": FORMAT, "dataset": classifier.dataset_name,
            "architecture": asdict(classifier.net.config), "held_out_accuracy": accuracy,
            "seed": seed, "epochs": epochs}
    tensors = {k: v.detach().cpu().contiguous() for k, v in classifier.net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), {_META_KEY: json.dumps(meta, sort_keys=True)})
    os.replace(partial, path)
    return file_sha256(path)


def load_classifier_file(path: str | Path, sha256: str | None,
                         device: torch.device | str = "cpu") -> DigitClassifier:
    """A classifier written by :func:`save_classifier`. ``sha256`` is the checksum the file must
    have, checked before anything is read; pass ``None`` to skip the check on purpose."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"digit classifier weights {path} not found")
    if sha256 is not None and (actual := file_sha256(path)) != sha256:
        raise CheckpointError(f"digit classifier weights {path} have sha256 {actual}, expected "
                              f"{sha256}: the file is damaged or not the one pinned")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[_META_KEY])
            tensors = {key: f.get_tensor(key) for key in f.keys()}
        dataset, arch = meta["dataset"], meta["architecture"]
        config = DigitNetConfig(**{**arch, "channels": tuple(arch["channels"])})
        with torch.device("meta"):  # no initialisation: no work, no draw from the global RNG
            net = DigitNet(config)
        net.load_state_dict(tensors, assign=True)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError, RuntimeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{path} is not a gankit digit classifier: {reason}") from None
    return DigitClassifier(net, dataset, device, info=meta)


def load_digit_classifier(dataset_name: str = "mnist5k",
                          device: torch.device | str = "cpu") -> DigitClassifier:
    """The shipped classifier of ``dataset_name`` (mnist5k: 28x28, digits8: 8x8), checksum
    verified against :data:`SHA256`."""
    if dataset_name not in SHA256:
        raise GankitError(f"no shipped digit classifier for {dataset_name!r}; shipped: "
                          f"{', '.join(sorted(SHA256))}")
    path = WEIGHTS / f"{dataset_name}-classifier.safetensors"
    return load_classifier_file(path, SHA256[dataset_name], device)


def main(argv: Sequence[str] | None = None) -> None:
    """Train one shipped classifier and write its weight file (one CPU thread: reproducible)."""
    parser = argparse.ArgumentParser(prog="python -m gankit.metrics.digit_classifier",
                                     description=main.__doc__)
    parser.add_argument("--data", required=True, choices=sorted(RECIPES))
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    epochs = recipe(args.data).epochs if args.epochs is None else args.epochs
    classifier, accuracy = train_classifier(args.data, args.seed, epochs, progress=True)
    digest = save_classifier(classifier, args.out, accuracy=accuracy, seed=args.seed,
                             epochs=epochs)
    print(f"held-out accuracy {accuracy:.4f} ({args.data}, seed {args.seed}, {epochs} epochs, "
          f"{time.perf_counter() - start:.0f} s)")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) sha256 {digest}")


if __name__ == "__main__":
    main()
