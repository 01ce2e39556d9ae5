"""Data sources, keyed by the config's ``data.name``.

A source has ``shape`` (of one example) and ``sample(n, generator, device)``, which draws a
batch with an explicit ``torch.Generator`` so that a checkpoint of the generator's state is
enough to resume the data stream bit-exactly. ``DATASETS[name](data_config)`` builds one.
"""

from gankit.data.images import (
    ImageDataset,
    StackedImages,
    load_digits8,
    load_image_folder,
    load_mnist5k,
    load_stacked_mnist,
)
from gankit.data.toy import DATASETS, GaussianMixture, ToyDistribution

DATASETS.register("mnist5k")(load_mnist5k)
DATASETS.register("digits8")(load_digits8)
DATASETS.register("stacked-mnist")(load_stacked_mnist)
DATASETS.register("image-folder")(load_image_folder)

__all__ = ["DATASETS", "GaussianMixture", "ImageDataset", "StackedImages", "ToyDistribution"]
