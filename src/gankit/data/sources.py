"""The data sources by the config's ``data.name``, and what is known of them before loading.

A source registers itself where it is defined, with the facts the config checks read::

    @DATASETS.register("mnist5k", uses=("image_size",), n_classes=10)
    def load_mnist5k(config: DataConfig) -> ImageDataset: ...

- ``uses``: the data keys it reads beyond those of every run (``DataConfig.EVERY_SOURCE``); a
  config setting another (``data.path`` for ring8) is refused, since the source would ignore it.
  A source that declares none reads none.
- ``pairs``: ``"paired"`` or ``"unpaired"`` for translation data (whether ``b[i]`` is the
  target of ``a[i]``); left out for sources of examples ``x``.
- ``n_classes`` (0: unlabelled) and ``label_shape`` (``()``, one class an example; ``(3,)``,
  StackedMNIST's digit a channel): the labels its batches hold. Left out where that is known
  only once the data is read (a user's files), so that a recipe that needs labels is refused
  when the run is built rather than wrongly at config time.
- ``images``: whether its examples are images [C, H, W] (else points), for option defaults that
  differ between the two (MEG's penalty weight); left out where unknown.

``DATASETS`` imports every module of :mod:`gankit.data` before its first lookup, and the entry
points of the group ``gankit.datasets``: another package adds a data set without forking gankit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gankit.configuration.imports import GIVEN, is_import_string, load_object
from gankit.configuration.messages import show_value
from gankit.configuration.schema import DataConfig
from gankit.data.spec import DataSpec, Field, label_keys
from gankit.errors import ConfigError
from gankit.registry import Registry

# name -> (DataConfig -> data source)
DATASETS: Registry[Callable[[DataConfig], object]] = Registry(
    "dataset", package="gankit.data", group="gankit.datasets")

def check_data(config: DataConfig) -> None:
    """One config line now for data that cannot be built later: an unknown name, or an import
    string that names nothing. (A data key the chosen set would ignore is refused by the one
    rule for unread keys, :mod:`gankit.configuration.unread`, which reads ``uses``.)"""
    name = config.name
    if is_import_string(name):
        load_object(name, "data.name")
        return
    if name == GIVEN:
        return
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {show_value(name)}; known: "
                          f"{', '.join(DATASETS.names())}, or an import string "
                          f"'package.module:factory' naming your own")


def known_spec(name: str) -> DataSpec | None:
    """What a registered data set's batches are, as far as its facts say before loading it:
    whether they hold translation pairs, and their classes with the label fields (the
    examples' own fields, whose shapes depend on the config, are left out), for the recipes'
    config checks. None where nothing is known (a researcher's factory or given data, checked
    once it is built). Translation data of unknown classes (the user's folders) gets
    no label fields: no recipe that needs labels takes translation data."""
    if name not in DATASETS:
        return None
    facts = DATASETS.facts(name)
    pairs, n_classes = facts.get("pairs"), facts.get("n_classes")
    if pairs is None and n_classes is None:
        return None
    label = Field(tuple(facts.get("label_shape", ())), torch.int64)
    fields = ({key: label for key in label_keys(pairs is not None, pairs == "paired")}
              if n_classes else {})
    return DataSpec(fields, n_classes or 0, translation=pairs is not None,
                    paired=pairs == "paired")


def build_data(config: DataConfig, given: object | None = None) -> object:
    """The data source of a run: a shipped one by ``data.name``, a researcher's factory by
    import string, or the data given to ``gankit.build`` (``data.name: given``)."""
    from gankit.data.user import as_data_source

    if config.name == GIVEN:
        if given is None:
            raise ConfigError("data.name is 'given': the run was built from data passed to "
                              "gankit.build, which a run directory cannot hold; name its factory "
                              "instead (data.name: 'package.module:factory')")
        return as_data_source(given, config)
    if is_import_string(config.name):
        return as_data_source(load_object(config.name, "data.name")(config), config, config.name)
    return DATASETS[config.name](config)
