"""What a batch holds: its named tensors, their shapes and dtypes, the classes, the pairing.

A data source draws ``dict[str, Tensor]`` batches whose keys its :class:`DataSpec` declares, and
a recipe is built from the spec, so it knows what it will be fed before the first step. The
names:

| key | holds | sources |
|---|---|---|
| ``x`` | the example, float [N, *shape] (points; images in [-1, 1]) | every unpaired source |
| ``label`` | its class, int64 [N] (StackedMNIST: [N, 3], a digit a channel) | digits, mixtures |
| ``a``, ``b`` | the two sides of a pair (translation) | paired sources (to come) |
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
    n_classes: int = 0  # classes of ``label``; 0: unlabelled
    paired: bool = False  # batches hold ``a`` and ``b`` instead of ``x``

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one example ``x`` (of ``a`` for paired data)."""
        return self.fields["a" if self.paired else "x"].shape

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
