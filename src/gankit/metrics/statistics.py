r"""A data set's feature statistics, computed once and kept (``gankit metrics --save-stats``),
so that comparing many generators with one real set extracts the real features once.

What the metrics of :mod:`gankit.metrics.features` read of a set: FID the mean $\mu$ and
covariance $\Sigma$ of all its features (Heusel et al. 2017, eq. 6); KID, precision/recall and
density/coverage the features themselves (kernel sums and k-NN balls). A
:class:`FeatureStatistics` holds $\mu$ and $\Sigma$ of all N features and the features of at
most :data:`STORED_FEATURES` of them, a seeded subsample when N is larger; :func:`compare`
reads both sets the same way whether they come from images or from a file, so a file gives
the metrics its arrays give.

A statistics file is safetensors (``mean`` [D] float64, ``covariance`` [D, D] float64,
``features`` [M, D]) with metadata naming the feature space, the image shape, N, the
subsample's seed and the gankit version; loading one executes nothing, and one of another
feature space or image shape is refused before any metric is computed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.errors import GankitError
from gankit.metrics.arrays import as_matrix
from gankit.metrics.features import density_coverage, frechet_distance, kid, precision_recall

# features kept for the k-NN and kernel metrics: 20,000 x 2,048 Inception features are 160 MB
# in float32; the mean and covariance always cover every image
STORED_FEATURES = 20_000
KID_SUBSET = 1000  # images per KID subset (Binkowski et al. 2018 use 1,000)
FORMAT = "gankit-feature-statistics"
FORMAT_VERSION = 1
KEYS = ("mean", "covariance", "features")


@dataclass(frozen=True)
class FeatureStatistics:
    """One image set in a feature space: what :func:`compare` needs of it."""

    mean: np.ndarray  # [D] float64, over all n features
    covariance: np.ndarray  # [D, D] float64, over all n features (np.cov, N - 1)
    features: np.ndarray  # [M, D], M = min(n, STORED_FEATURES): all, or a seeded subsample
    n: int  # the images the mean and covariance were computed over
    space: str  # the feature space's identity (:func:`feature_space_identity`)
    image_shape: tuple[int, ...]  # [C, H, W] of the images measured
    seed: int = 0  # the subsample's seed


def statistics_of(features: object, space: str, image_shape: tuple[int, ...],
                  seed: int = 0) -> FeatureStatistics:
    """The statistics of features [N, D] (N >= 2) of images of ``image_shape``, measured in
    ``space``; the stored features are all N, or ``STORED_FEATURES`` of them drawn without
    replacement by numpy's ``default_rng(seed)`` (kept in their order)."""
    matrix = as_matrix(features, "features", min_rows=2)  # float64 [N, D]
    # kept in the extractor's own dtype (float32): the file stays half the size, and the
    # metrics read it as float64 as they read the arrays
    kept = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else \
        np.asarray(features)
    if len(matrix) > STORED_FEATURES:
        rows = np.sort(np.random.default_rng(seed).choice(len(matrix), STORED_FEATURES,
                                                          replace=False))
        kept = kept[rows]
    return FeatureStatistics(matrix.mean(0), np.cov(matrix, rowvar=False), kept, len(matrix),
                             space, tuple(image_shape), seed)


def kid_subset_size(n: int) -> int:
    """Images per KID subset for sets of at least ``n``: at most half of them, so that the
    subsets differ and KID's std means something, and at most :data:`KID_SUBSET`."""
    return max(2, min(KID_SUBSET, n // 2))


def compare(reference: FeatureStatistics, other: FeatureStatistics, seed: int = 0
            ) -> dict[str, float]:
    """FID, KID (raw MMD^2, with its std over 100 subsets), precision/recall and
    density/coverage of ``other`` against ``reference`` (the real set: precision is the share
    of ``other`` inside ``reference``'s k-NN manifold). KID subsets are :func:`kid_subset_size`
    of the smaller stored set, drawn with ``seed``."""
    if reference.mean.shape != other.mean.shape:
        raise GankitError(f"the two sets have features of {len(reference.mean)} and "
                          f"{len(other.mean)} dimensions; measure both in one feature space")
    size = kid_subset_size(min(len(reference.features), len(other.features)))
    value, std = kid(reference.features, other.features, subset_size=size, seed=seed)
    return {"fid": frechet_distance(reference.mean, reference.covariance, other.mean,
                                    other.covariance),
            "kid": value, "kid_std": std,
            **precision_recall(reference.features, other.features),
            **density_coverage(reference.features, other.features)}


def feature_space_identity(features: str) -> str:
    """What a statistics file records of its feature space: the name eval records give it, a
    registered extractor's name (``digits``, ``inception``) or, for a fitted feature file,
    ``learned-DIGEST`` of its weights (:mod:`gankit.metrics.learned`), so that a file fitted
    again does not pass for the old one while a renamed or copied one still matches."""
    from gankit.evaluation.features import is_feature_file

    if not is_feature_file(features):  # a name (digits), even beside a file called so
        return features
    from gankit.metrics.learned import load

    return load(Path(features).expanduser()).name


def check_compatible(stats: FeatureStatistics, space: str, image_shape: tuple[int, ...],
                     path: Path | str) -> None:
    """Refuse, in one line, statistics measured in another feature space or on images of
    another shape than the set they are compared with."""
    if stats.space != space:
        raise GankitError(f"{path} holds statistics in feature space {stats.space!r}, not "
                          f"{space!r}; compute them again in that space (--save-stats)")
    if tuple(stats.image_shape) != tuple(image_shape):
        raise GankitError(f"{path} holds statistics of images {list(stats.image_shape)}, not "
                          f"{list(image_shape)} like the set compared with them")


def save_statistics(stats: FeatureStatistics, path: Path | str) -> Path:
    """Write ``stats`` to ``path`` (safetensors, replaced in one rename)."""
    from safetensors.numpy import save_file

    from gankit import __version__
    from gankit.storage.files import replace_atomically

    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "features": stats.space, "image_shape": json.dumps(list(stats.image_shape)),
                "n": str(stats.n), "seed": str(stats.seed), "gankit_version": __version__}
    tensors = {"mean": stats.mean, "covariance": stats.covariance, "features": stats.features}
    with replace_atomically(Path(path)) as tmp:
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp), metadata)
    return Path(path)


def load_statistics(path: Path | str) -> FeatureStatistics:
    """The statistics in ``path``, refused in one line when it is not a readable statistics
    file of this format: damaged, truncated, another safetensors file, or inconsistent."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="np") as file:
            metadata, names = file.metadata() or {}, set(file.keys())
            if metadata.get("format") != FORMAT or not set(KEYS) <= names:
                raise GankitError(f"{path} is not a gankit statistics file (written by "
                                  f"'gankit metrics A B --save-stats FILE')")
            arrays = {key: file.get_tensor(key) for key in KEYS}
    except (SafetensorError, OSError, ValueError) as err:
        raise GankitError(f"{path} is not a readable statistics file: "
                          f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                          ) from None
    return _checked(path, arrays, metadata)


def _checked(path: Path | str, arrays: dict[str, np.ndarray], metadata: dict[str, str]
             ) -> FeatureStatistics:
    """The file's parts as :class:`FeatureStatistics`, once they agree with each other."""
    try:
        version = int(metadata["format_version"])
        n, seed = int(metadata["n"]), int(metadata["seed"])
        image_shape = tuple(int(s) for s in json.loads(metadata["image_shape"]))
        space = metadata["features"]
    except (KeyError, ValueError, TypeError) as err:
        raise GankitError(f"{path} has damaged metadata ({type(err).__name__}: {err})") from None
    if version > FORMAT_VERSION:
        raise GankitError(f"{path} is a statistics file of format {version}, newer than this "
                          f"gankit's {FORMAT_VERSION}; upgrade gankit")
    mean, covariance, features = (arrays[key] for key in KEYS)
    dim = mean.shape[0] if mean.ndim == 1 else -1
    if (dim < 1 or covariance.shape != (dim, dim) or features.ndim != 2
            or features.shape[1] != dim or not 2 <= len(features) <= n):
        raise GankitError(f"{path} has parts of inconsistent shapes: mean {list(mean.shape)}, "
                          f"covariance {list(covariance.shape)}, features "
                          f"{list(features.shape)} of n = {n}")
    if not all(np.isfinite(a).all() for a in (mean, covariance, features)):
        raise GankitError(f"{path} holds non-finite values (NaN or inf)")
    return FeatureStatistics(mean.astype(np.float64), covariance.astype(np.float64), features,
                             n, space, image_shape, seed)
