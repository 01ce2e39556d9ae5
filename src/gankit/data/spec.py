"""What a batch holds: its named tensors, their shapes and dtypes, the classes, the pairing.

A data source draws ``dict[str, Tensor]`` batches whose keys its :class:`DataSpec` declares, and
a recipe is built from the spec, so it knows what it will be fed before the first step. The
names:

| key | holds | sources |
|---|---|---|
| ``x`` | the example, float [N, *shape] (points; images in [-1, 1]) | every generative source |
| ``label`` | its class, int64 [N] (StackedMNIST: [N, 3], a digit a channel) | digits, mixtures |
| ``a``, ``b`` | images of domain A and of domain B, float [N, C, S, S] in [-1, 1] | translation |
| ``label`` | (paired) the class both sides of the pair show | edges2digits |
| ``label_a``, ``label_b`` | (unpaired) the class of ``a`` and of ``b``, drawn apart | thin2thick |

A translation source (``translation``) holds the two domains; it is ``paired`` when ``b[i]`` is
the target of ``a[i]`` (Pix2Pix), unpaired when the two are independent draws (CycleGAN).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass(frozen=True)
class Field:
    shape: tuple[int, ...]  # of one example
    dtype: torch.dtype


@dataclass(frozen=True)
class DataSpec:
    fields: dict[str, Field] = field(default_factory=dict)
    n_classes: int = 0  # classes of the labels; 0: unlabelled
    translation: bool = False  # batches hold ``a`` and ``b`` (two domains) instead of ``x``
    paired: bool = False  # translation: ``b[i]`` is the target of ``a[i]``

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one example ``x`` (of ``a``, the input side, for translation data)."""
        return self.fields["a" if self.translation else "x"].shape

    @property
    def shape_b(self) -> tuple[int, ...]:
        """The shape of one example ``b`` (translation data): the output side."""
        return self.fields["b"].shape

    def check(self, batch: dict[str, Tensor]) -> None:
        """A batch holds exactly the declared keys, with their shapes and dtypes."""
        if batch.keys() != self.fields.keys():
            raise ValueError(f"batch keys {sorted(batch)} differ from the spec's "
                             f"{sorted(self.fields)}")
        for key, spec in self.fields.items():
            value = batch[key]
            if tuple(value.shape[1:]) != spec.shape or value.dtype != spec.dtype:
                raise ValueError(f"batch[{key!r}] is {value.dtype} {list(value.shape)}, the spec "
                                 f"says {spec.dtype} [N, {', '.join(map(str, spec.shape))}]")


def label_keys(translation: bool, paired: bool) -> tuple[str, ...]:
    """The keys under which a labelled source's batches hold the classes: ``label``, or for
    unpaired translation data ``label_a`` and ``label_b`` (the two sides are drawn apart)."""
    return ("label_a", "label_b") if translation and not paired else ("label",)


def points_spec(dim: int, n_classes: int = 0) -> DataSpec:
    """Points [dim]; with ``n_classes`` a ``label`` each (a mixture's component)."""
    fields = {"x": Field((dim,), torch.float32)}
    if n_classes:
        fields["label"] = Field((), torch.int64)
    return DataSpec(fields, n_classes)


def images_spec(shape: tuple[int, ...], n_classes: int, label_shape: tuple[int, ...] = ()
                ) -> DataSpec:
    fields = {"x": Field(tuple(shape), torch.float32)}
    if n_classes:
        fields["label"] = Field(label_shape, torch.int64)
    return DataSpec(fields, n_classes)


def translation_spec(shape_a: tuple[int, ...], shape_b: tuple[int, ...], paired: bool,
                     n_classes: int = 0) -> DataSpec:
    """Images ``a`` [shape_a] and ``b`` [shape_b]; with ``n_classes`` their labels (``label``
    for a pair, ``label_a`` and ``label_b`` for unpaired draws)."""
    fields = {"a": Field(tuple(shape_a), torch.float32), "b": Field(tuple(shape_b), torch.float32)}
    if n_classes:
        fields |= {key: Field((), torch.int64) for key in label_keys(True, paired)}
    return DataSpec(fields, n_classes, translation=True, paired=paired)
