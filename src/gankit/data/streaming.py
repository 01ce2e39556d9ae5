"""Images read from disk as training goes: data larger than memory.

:class:`StreamingImages` is ``image-folder`` over a folder or zip archive
(:mod:`gankit.data.archives`) that holds no decoded set: ``torch.utils.data`` worker processes
(``data.workers``) decode and fit each batch's files while the step before trains, each with
its own zip handle, a few batches ahead (:data:`PREFETCH`). What stays in memory is the names,
the labels, one epoch's order and the prefetched batches, whatever the folder's size.

Order: the training stream is the concatenation of epochs, each a permutation of all images
seeded by ``train.seed`` and the epoch's number (:func:`epoch_order`), cut into global batches
of ``data.batch_size``; every image is seen once an epoch, unlike the in-memory sets' draws
with replacement. Its position (epoch, offset) goes into the run's checkpoint
(:meth:`Stream.state`), so a resume continues mid-epoch with the same batches and training
stays bit-exact. Under torchrun each process reads only its rows of each global batch, the rows
:func:`gankit.training.distributed.shard` keeps, so the run equals one process's.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from gankit.configuration.schema import DataConfig
from gankit.data.archives import ImageArchive
from gankit.data.spec import DataSpec, images_spec
from gankit.errors import GankitError
from gankit.training import distributed

STREAM_BUDGET = 2 * 2**30  # bytes of decoded uint8 images above which data.stream auto streams
PREFETCH = 2  # batches each worker decodes ahead (DataLoader's prefetch_factor)
READ_BATCH = 256  # images decoded at a time for evaluation's reference images


def should_stream(config: DataConfig, n: int, shape: tuple[int, ...]) -> bool:
    """``data.stream``: always, never, or (auto) when the decoded set, n x C x H x W bytes of
    uint8, would exceed :data:`STREAM_BUDGET`. A fixed budget rather than the free memory of
    the moment, so that a run and its resume choose alike."""
    decoded = n * int(np.prod(shape))
    return config.stream == "always" or (config.stream == "auto" and decoded > STREAM_BUDGET)


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The permutation of range(n) that epoch ``epoch`` of a run seeded ``seed`` reads
    (int64 [n]); one generator per epoch, so that any epoch's order is had without the
    earlier ones."""
    digest = hashlib.sha256(f"gankit stream {seed} {epoch}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
    return torch.randperm(n, generator=generator)


class _Files(Dataset):
    """Image ``i`` as (name, uint8 [C, S, S] or the reason it could not be read, label)."""

    def __init__(self, source: StreamingImages) -> None:
        self.archive, self.names = source.archive, source.names
        self.size, self.channels, self.labels = source.size, source.channels, source.labels

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> tuple[str, np.ndarray | str, int]:
        name = self.names[i]
        label = int(self.labels[i]) if self.labels is not None else -1
        try:
            return name, self.archive.read(name, self.size, self.channels), label
        except (OSError, ValueError, SyntaxError) as err:  # what PIL raises for damaged files
            return name, str(err) or type(err).__name__, label


def _collate(items: list[tuple[str, np.ndarray | str, int]]
             ) -> tuple[Tensor, Tensor, list[str]]:
    """A batch of :class:`_Files` items as (uint8 [n, C, S, S], int64 [n], failures). A file
    that could not be read (damaged past the header that :func:`gankit.data.archives.scan`
    read) takes the place of the batch's first readable image and label, and is listed as
    ``name (reason)`` for :func:`_checked` to report in the training process (an error raised
    in a worker would reach the user as the worker's traceback). The stand-in depends only on
    the files, so a resume still repeats the run exactly."""
    failed = [f"{name} ({image})" for name, image, _ in items if isinstance(image, str)]
    good = [(image, label) for _, image, label in items if not isinstance(image, str)]
    if not good:
        return torch.empty(0), torch.empty(0), failed
    filled = [(image, label) if not isinstance(image, str) else good[0]
              for _, image, label in items]
    images = torch.from_numpy(np.stack([image for image, _ in filled]))
    return images, torch.tensor([label for _, label in filled], dtype=torch.int64), failed


def _leave_signals_to_the_trainer(worker: int) -> None:
    """A DataLoader worker ignores Ctrl-C and dies quietly on SIGTERM: it inherits the
    trainer's handlers over fork (:mod:`gankit.training.interrupts`), which would raise in the
    worker's loop and print its traceback, while the training process, which gets the same
    signal, saves the last finished step and shuts the workers down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _checked(batch: tuple[Tensor, Tensor, list[str]]) -> tuple[Tensor, Tensor]:
    """A collated batch's images and labels, with one warning naming files that could not be
    read and were stood in for; a batch with no readable file at all stops the run in one
    line naming them."""
    images, labels, failed = batch
    if failed and not len(images):
        raise GankitError(f"none of a batch's {len(failed)} image(s) could be read while "
                          f"streaming: {', '.join(failed[:5])}; remove them from the data and "
                          f"resume")
    if failed:
        warnings.warn(f"{len(failed)} image(s) could not be read while streaming and were "
                      f"replaced by another image of their batch: {', '.join(failed[:5])}",
                      stacklevel=2)
    return images, labels


class _ShardIndices(Sampler[list[int]]):
    """The image indices of this process's rows of each global batch, from stream position
    ``start`` on, endlessly (the DataLoader's ``batch_sampler``)."""

    def __init__(self, n: int, seed: int, start: int, rows: tuple[int, int],
                 batch_size: int) -> None:
        self.n, self.seed, self.start, self.rows, self.batch_size = n, seed, start, rows, batch_size

    def __iter__(self) -> Iterator[list[int]]:
        position, epoch, order = self.start, -1, []
        while True:
            batch = []
            for p in range(position + self.rows[0], position + self.rows[1]):
                if p // self.n != epoch:
                    epoch = p // self.n
                    order = epoch_order(self.n, self.seed, epoch).tolist()
                batch.append(order[p % self.n])
            yield batch
            position += self.batch_size


@dataclass
class StreamingImages:
    """``image-folder`` read from disk as training goes: the same images, labels, shape and
    metrics as :class:`~gankit.data.images.ImageDataset`, with no decoded set held, except
    the conditional metrics that read every image of a class (intra-FID, the class sizes and
    styles of :mod:`gankit.evaluation.conditional`), which a streamed labelled set leaves
    out."""

    archive: ImageArchive
    names: list[str]  # the images with a readable header, in the archive's order
    size: int
    channels: int
    labels: Tensor | None = None  # int64 [N], from dataset.json
    n_classes: int = 0
    workers: int = 0
    name: str = "image-folder"
    held_out: ClassVar[None] = None  # a user's folder has no held-out split
    kind: ClassVar[str] = "images"  # what evaluation measures and draws (gankit.evaluation)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.channels, self.size, self.size)

    @property
    def channels_are_examples(self) -> bool:
        return False

    @property
    def spec(self) -> DataSpec:
        return images_spec(self.shape, self.n_classes if self.labels is not None else 0)

    def __len__(self) -> int:
        return len(self.names)

    def read(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """The images at ``index`` ([n], any order, repeats allowed) as uint8 [n, C, S, S]
        and their labels, decoded by the workers :data:`READ_BATCH` at a time."""
        chunks = index.cpu().split(READ_BATCH)
        loader = DataLoader(_Files(self), batch_sampler=[c.tolist() for c in chunks],
                            num_workers=min(self.workers, len(chunks)), collate_fn=_collate,
                            worker_init_fn=_leave_signals_to_the_trainer)
        images, labels = zip(*map(_checked, loader), strict=True)
        return torch.cat(images), torch.cat(labels)

    def to_batch(self, images: Tensor, labels: Tensor, device: torch.device | str
                 ) -> dict[str, Tensor]:
        """uint8 images and labels as a training batch on ``device``: ``x`` in [-1, 1] and,
        for labelled data, ``label``."""
        from gankit.data.images import to_unit_range

        batch = {"x": to_unit_range(images.to(device, non_blocking=True))}
        if self.labels is not None and self.n_classes:
            batch["label"] = labels.to(device, non_blocking=True)
        return batch

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> dict[str, Tensor]:
        """``n`` images drawn uniformly with replacement, as ImageDataset draws them (one draw
        of ``generator``), read at once: for callers outside training."""
        index = torch.randint(len(self), (n,), generator=generator, device=device)
        return self.to_batch(*self.read(index), device)

    def reference(self, n: int, generator: torch.Generator, split: str = "train"
                  ) -> tuple[Tensor, Tensor | None]:
        """Up to ``n`` distinct images in [-1, 1] (CPU) and their labels, for metrics."""
        from gankit.data.images import to_unit_range

        if split != "train":
            raise GankitError(f"data set {self.name} has no {split} split")
        images, labels = self.read(torch.randperm(len(self), generator=generator)[:n])
        return to_unit_range(images), labels if self.labels is not None else None

    def stream(self, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
               device: torch.device | str = "cpu") -> Stream:
        """The training stream of a run seeded ``seed``: this process's shard of each global
        batch of ``batch_size`` (:class:`Stream`)."""
        return Stream(self, batch_size, seed, rank, world_size, torch.device(device))

    def describe(self, config: DataConfig) -> str:
        """The one line that says the set streams, and why."""
        gib = len(self) * int(np.prod(self.shape)) / 2**30
        why = ("data.stream: always" if config.stream == "always" else
               f"decoded they would take {gib:.1f} GiB, over data.stream auto's "
               f"{STREAM_BUDGET / 2**30:g} GiB")
        unused = "; data.cache, for sets held in memory, is not written" if config.cache else ""
        return (f"streaming {len(self):,} images of {self.archive.path} at {self.size} px "
                f"with {self.workers} worker(s) ({why}){unused}")


class Stream:
    """This process's batches of a run's training stream, and its position.

    ``position`` counts the images of the global stream consumed (every process's rows), so
    the checkpoint's (epoch, offset) is the same on every process and fits any number of them.
    The DataLoader starts at the first batch asked for and again after :meth:`seek`.
    """

    def __init__(self, source: StreamingImages, batch_size: int, seed: int, rank: int,
                 world_size: int, device: torch.device) -> None:
        self.source, self.batch_size, self.seed, self.device = source, batch_size, seed, device
        self.rows = distributed.shard_rows(batch_size, rank, world_size)
        self.position = 0
        self._batches: Iterator[tuple[Tensor, Tensor, list[str]]] | None = None

    def next_batch(self) -> dict[str, Tensor]:
        """This process's rows of the next global batch: ``x`` [n, C, S, S] in [-1, 1] on the
        device and, for labelled data, ``label`` [n]."""
        if self._batches is None:
            self._batches = iter(self._loader())
        images, labels = _checked(next(self._batches))
        self.position += self.batch_size
        return self.source.to_batch(images, labels, self.device)

    def _loader(self) -> DataLoader:
        workers = self.source.workers
        indices = _ShardIndices(len(self.source), self.seed, self.position, self.rows,
                                self.batch_size)
        return DataLoader(_Files(self.source), batch_sampler=indices, num_workers=workers,
                          collate_fn=_collate, pin_memory=self.device.type == "cuda",
                          worker_init_fn=_leave_signals_to_the_trainer,
                          prefetch_factor=PREFETCH if workers else None)

    def state(self) -> dict[str, int]:
        """The position as a checkpoint keeps it: the epoch, the images of it consumed, and
        the set's size (a resume on other files cannot continue the same stream)."""
        epoch, offset = divmod(self.position, len(self.source))
        return {"epoch": epoch, "offset": offset, "images": len(self.source)}

    def seek(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's :meth:`state`; a set of another size starts its
        epoch ``epoch`` anew, with one warning."""
        epoch, offset, images = (int(state[key]) for key in ("epoch", "offset", "images"))
        if images != len(self.source):
            warnings.warn(f"the checkpoint streamed {images:,} images, {self.source.archive.path}"
                          f" now holds {len(self.source):,}: starting epoch {epoch} anew",
                          stacklevel=4)
            offset = 0
        self.position = epoch * len(self.source) + offset
        self.close()

    def close(self) -> None:
        """Stop the workers (they start again at the next batch)."""
        self._batches = None


def announce(line: str) -> None:
    """Say on stderr, once per run (rank 0 under torchrun), what the data source chose."""
    if os.environ.get("RANK", "0") == "0":
        sys.stderr.write(f"gankit: {line}\n")
