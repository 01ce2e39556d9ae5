"""Data sources, keyed by the config's ``data.name``.

A source has ``spec`` (what its batches hold, :mod:`gankit.data.spec`) and
``sample(n, generator, device)``, which draws a batch with an explicit ``torch.Generator`` so
that a checkpoint of the generator's state is enough to resume the data stream bit-exactly.
``DATASETS[name](data_config)`` builds one; each registers itself with its facts where it is
defined (:mod:`gankit.data.sources`).

| module | holds |
|---|---|
| ``distributions`` | toy distributions with known densities (PacGAN, WGAN-GP, 1-D) |
| ``images`` | image sets as uint8 tensors: mnist5k, digits8, stacked-mnist, image-folder |
| ``two_domains`` | translation sources (paired, unpaired) and their jitter |
| ``domain_folders``, ``translation_tasks`` | translation data: the user's folders, built-in tasks |
| ``user`` | a researcher's tensors and points files |
| ``image_files`` | reading and caching a user's image files |
"""

from gankit.data.distributions import GaussianMixture, ToyDistribution
from gankit.data.images import ImageDataset, StackedImages
from gankit.data.sources import DATASETS, build_data, check_data, known_spec
from gankit.data.two_domains import HeldOut, PairedImages, UnpairedImages

__all__ = ["DATASETS", "GaussianMixture", "HeldOut", "ImageDataset", "PairedImages",
           "StackedImages", "ToyDistribution", "UnpairedImages", "build_data", "check_data",
           "known_spec"]
