"""Is the generator copying its training set? A nearest-neighbour check.

For each generated sample, the distance to its nearest training example is compared with the
typical distance between a held-out real example and its nearest training example. A generator
that memorizes puts its samples much closer to training points than fresh data lies (ratio far
below 1); Meehan et al. 2020 build a test on the same comparison.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from gankit.divergences import to_numpy


def nearest_neighbour_check(fake: object, train: object, held_out: object) -> dict[str, float]:
    """Median nearest-training-example distances of generated and of held-out samples, their
    ratio, and the share of generated samples closer to a training example than the closest
    held-out one is (near-copies)."""
    tree = cKDTree(_flat(train))
    d_fake = tree.query(_flat(fake))[0]
    d_held = tree.query(_flat(held_out))[0]
    return {
        "fake_median": float(np.median(d_fake)),
        "held_out_median": float(np.median(d_held)),
        "ratio": float(np.median(d_fake) / max(np.median(d_held), 1e-12)),
        "near_copies": float((d_fake < d_held.min()).mean()),
    }


def _flat(x: object) -> np.ndarray:
    a = to_numpy(x)
    return a.reshape(len(a), -1)
