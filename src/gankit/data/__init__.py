"""Data sources, keyed by the config's ``data.name``.

A source draws batches with an explicit ``torch.Generator`` so that a checkpoint of the
generator's state is enough to resume the data stream bit-exactly.
"""

from gankit.data.toy import DATASETS, GaussianMixture, ToyDistribution

__all__ = ["DATASETS", "GaussianMixture", "ToyDistribution"]
