"""Data sources, keyed by the config's ``data.name``.

A source has ``shape`` (of one example) and ``sample(n, generator, device)``, which draws a
batch with an explicit ``torch.Generator`` so that a checkpoint of the generator's state is
enough to resume the data stream bit-exactly. ``DATASETS[name](data_config)`` builds one.

Each source registers the data keys it reads beyond those of every run
(``DataConfig.EVERY_SOURCE``): ``DATASETS.register("mnist5k", uses=("image_size",))``. A config
setting another (``data.path`` for ring8) is refused, since the source would ignore it.
"""

import dataclasses

from gankit.config import DataConfig, refuse_set, show_value
from gankit.data.images import (
    ImageDataset,
    StackedImages,
    load_digits8,
    load_image_folder,
    load_mnist5k,
    load_stacked_mnist,
)
from gankit.data.spec import DataSpec
from gankit.data.toy import DATASETS, GaussianMixture, ToyDistribution
from gankit.data.translation import (
    HeldOut,
    PairedImages,
    UnpairedImages,
    load_edges2digits,
    load_grey2colour,
    load_paired_folder,
    load_thin2thick,
    load_unpaired_folder,
)
from gankit.data.user import load_points_file
from gankit.errors import ConfigError
from gankit.imports import GIVEN, is_import_string, load_object

DATASETS.register("mnist5k", uses=("image_size",))(load_mnist5k)
DATASETS.register("digits8", uses=("image_size",))(load_digits8)
DATASETS.register("stacked-mnist", uses=("image_size",))(load_stacked_mnist)
DATASETS.register("image-folder", uses=("image_size", "channels", "path", "cache"))(
    load_image_folder)
DATASETS.register("points-file", uses=("path",))(load_points_file)
# Translation data (gankit.data.translation): the built-in tasks crop and mirror as the folders
# do; ``pairs`` says, before anything is read, whether b[i] is the target of a[i].
_JITTER = ("image_size", "load_size", "flip")
_FOLDER = (*_JITTER, "channels", "path", "cache")
DATASETS.register("paired-folder", uses=_FOLDER, pairs="paired")(load_paired_folder)
DATASETS.register("unpaired-folder", uses=_FOLDER, pairs="unpaired")(load_unpaired_folder)
DATASETS.register("edges2digits", uses=_JITTER, pairs="paired")(load_edges2digits)
DATASETS.register("thin2thick", uses=_JITTER, pairs="unpaired")(load_thin2thick)
DATASETS.register("grey2colour", uses=_JITTER, pairs="paired")(load_grey2colour)

_DEFAULTS = DataConfig()
# The data keys some sources read and others ignore.
_SOURCE_KEYS = tuple(f.name for f in dataclasses.fields(DataConfig)
                     if f.name not in DataConfig.EVERY_SOURCE)


def check_data(config: DataConfig) -> None:
    """One config line now for data that cannot be built later, or for a data key that the
    chosen data set would silently ignore (one that differs from its default). Data given to
    ``gankit.build`` and a researcher's factory may read any key."""
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
    uses = DATASETS.facts(name).get("uses", ())  # a source that declares nothing reads none
    ignored = [f"data.{key}={show_value(getattr(config, key))}" for key in _SOURCE_KEYS
               if key not in uses and getattr(config, key) != getattr(_DEFAULTS, key)]
    read = ", ".join(f"data.{key}" for key in (*DataConfig.EVERY_SOURCE, *uses))
    refuse_set(f"data set {name}", ignored, f"it reads {read}")


def known_spec(name: str) -> DataSpec | None:
    """What a shipped data set's batches are, as far as it is known before loading it: whether
    they hold translation pairs (their fields are left out); None for a researcher's data."""
    if name not in DATASETS:
        return None
    pairs = DATASETS.facts(name).get("pairs")
    return DataSpec(translation=pairs is not None, paired=pairs == "paired")


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


__all__ = ["DATASETS", "GaussianMixture", "HeldOut", "ImageDataset", "PairedImages",
           "StackedImages", "ToyDistribution", "UnpairedImages", "build_data", "check_data",
           "known_spec"]
