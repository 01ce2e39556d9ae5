"""Data sources, keyed by the config's ``data.name``.

A source has ``shape`` (of one example) and ``sample(n, generator, device)``, which draws a
batch with an explicit ``torch.Generator`` so that a checkpoint of the generator's state is
enough to resume the data stream bit-exactly. ``DATASETS[name](data_config)`` builds one.
"""

from gankit.config import DataConfig
from gankit.data.images import (
    ImageDataset,
    StackedImages,
    load_digits8,
    load_image_folder,
    load_mnist5k,
    load_stacked_mnist,
)
from gankit.data.toy import DATASETS, GaussianMixture, ToyDistribution
from gankit.errors import ConfigError
from gankit.imports import GIVEN, is_import_string, load_object

DATASETS.register("mnist5k")(load_mnist5k)
DATASETS.register("digits8")(load_digits8)
DATASETS.register("stacked-mnist")(load_stacked_mnist)
DATASETS.register("image-folder")(load_image_folder)



def check_data_name(name: str) -> None:
    """One config line now for data that cannot be built later."""
    if is_import_string(name):
        load_object(name, "data.name")
    elif name != GIVEN and name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(DATASETS.names())}, or "
                          f"an import string 'package.module:factory' naming your own")


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


__all__ = ["DATASETS", "GaussianMixture", "ImageDataset", "StackedImages", "ToyDistribution",
           "build_data", "check_data_name"]
