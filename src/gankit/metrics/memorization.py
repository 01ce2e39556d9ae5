"""Is the generator copying its training set? A nearest-neighbour check.

For each generated sample, the distance to its nearest training example is compared with the
typical distance between a held-out real example and its nearest training example. A generator
that memorizes puts its samples much closer to training points than fresh data lies (ratio far
below 1); Meehan et al. 2020 build a test on the same comparison.
"""

from __future__ import annotations

import torch

from gankit.metrics.arrays import to_numpy


def nearest_neighbour_check(fake: object, train: object, held_out: object,
                            chunk: int = 1024) -> dict[str, float]:
    """Median nearest-training-example distances of generated and of held-out samples, their
    ratio, and the share of generated samples closer to a training example than the closest
    held-out one is (near-copies)."""
    reference = _flat(train)
    d_fake = _nearest_distances(_flat(fake), reference, chunk)
    d_held = _nearest_distances(_flat(held_out), reference, chunk)
    return {
        "fake_median": float(d_fake.median()),
        "held_out_median": float(d_held.median()),
        "ratio": float(d_fake.median() / d_held.median().clamp_min(1e-12)),
        "near_copies": float((d_fake < d_held.min()).double().mean()),
    }


def _nearest_distances(queries: torch.Tensor, reference: torch.Tensor, chunk: int) -> torch.Tensor:
    """Exact Euclidean distance from each query to its nearest reference point. Brute force in
    chunks: in hundreds of pixel dimensions a k-d tree visits nearly every point anyway, while a
    matrix product does the same work vectorized (||q||^2 - 2 q.r + ||r||^2)."""
    r_sq = reference.square().sum(1)
    nearest = [(q.square().sum(1, keepdim=True) - 2 * q @ reference.T + r_sq).amin(1)
               for q in queries.split(chunk)]
    return torch.cat(nearest).clamp_min(0).sqrt()


def _flat(x: object) -> torch.Tensor:
    a = torch.as_tensor(to_numpy(x), dtype=torch.float64)
    return a.reshape(len(a), -1)
