"""How each shipped digit classifier is trained: on its data set's train split, with random
shifts, bit-identically given the seed (on the CPU with a fixed thread count)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS
from gankit.data.images import ImageDataset, to_unit_range
from gankit.errors import GankitError
from gankit.metrics.digit_classifier.network import DigitClassifier, DigitNet, DigitNetConfig


@dataclass(frozen=True)
class TrainingSettings:
    """How the shipped classifier of one data set is trained."""

    net: DigitNetConfig
    epochs: int
    shift: int  # largest random translation, pixels (augmentation)
    batch_size: int = 64
    lr: float = 1e-3  # Adam, cosine-annealed to 0 over the run


TRAINING = {  # data set -> its settings
    "mnist5k": TrainingSettings(DigitNetConfig(28, (32, 64, 64)), epochs=20, shift=2),
    "digits8": TrainingSettings(DigitNetConfig(8, (32, 64)), epochs=40, shift=1),
}


def random_shift(images: Tensor, shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image [N, C, H, W] by its own offsets in [-shift, shift] pixels, filling
    with the background value -1 (pad, then crop at a random corner)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (shift,) * 4, value=-1.0)  # [N, C, H + 2s, W + 2s]
    dy, dx = torch.randint(2 * shift + 1, (2, n, 1), generator=generator)  # [N, 1] each
    rows = (dy + torch.arange(h))[:, :, None]  # [N, H, 1]
    cols = (dx + torch.arange(w))[:, None, :]  # [N, 1, W]
    return padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def training_settings(dataset_name: str) -> TrainingSettings:
    """The training settings of ``dataset_name``; an unknown name lists the known ones."""
    if dataset_name not in TRAINING:
        raise GankitError(f"no digit classifier is trained on {dataset_name!r}; known: "
                          f"{', '.join(sorted(TRAINING))}")
    return TRAINING[dataset_name]


def load_split(dataset_name: str) -> ImageDataset:
    """The data set a digit classifier is trained (train split) and measured (held-out) on."""
    training_settings(dataset_name)
    return DATASETS[dataset_name](DataConfig(name=dataset_name))


def held_out_accuracy(classifier: DigitClassifier, data: ImageDataset) -> float:
    """Share of the held-out split that ``classifier`` labels correctly."""
    predicted = classifier.predict(to_unit_range(data.held_out))
    return (predicted == data.held_out_labels).double().mean().item()


def train_classifier(dataset_name: str, seed: int = 0, epochs: int | None = None,
                     progress: bool = False) -> tuple[DigitClassifier, float]:
    """Train with the data set's settings (:data:`TRAINING`) on its train split; return the
    classifier and its held-out accuracy. Bit-identical given ``seed`` on the CPU with a fixed
    thread count; the global RNG is left as it was."""
    settings = training_settings(dataset_name)
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
