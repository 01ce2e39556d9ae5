"""``gankit metrics A B``: two image sets compared in a feature space, like torch-fidelity's
two-input mode, with feature statistics kept in a file so that a real set is measured once.

A is the reference (the real images): precision is the share of B inside A's k-NN manifold,
recall the share of A inside B's. Each side is a folder, a ``.npy`` / ``.npz`` array
(:mod:`gankit.data.image_sets`) or a statistics file (:mod:`gankit.metrics.statistics`);
``--stats FILE`` stands for A (then only B is given). Every check runs before any feature is
extracted, and nothing is written on an error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gankit.commandline.flags import weighted_features
from gankit.commandline.output import print_result
from gankit.errors import GankitError

STATS_SUFFIX = ".safetensors"
BATCH = 500  # images per feature-extraction batch at most: a moving progress bar
BATCH_BYTES = 1 << 28  # and at most 256 MB of them as float32, whatever their size


def cmd_metrics(args: argparse.Namespace) -> None:
    from gankit.metrics.statistics import (
        check_compatible,
        compare,
        feature_space_identity,
        load_statistics,
        save_statistics,
    )
    from gankit.storage.files import check_output
    from gankit.training.runlog import write_json

    sources = _sides(args)
    if args.weights is not None and args.features not in weighted_features():
        raise GankitError(f"--weights is for --features {' or '.join(weighted_features())}")
    out = None if args.out is None else check_output(args.out, "file", args.overwrite)
    save = None if args.save_stats is None else check_output(args.save_stats, "file",
                                                             args.overwrite, "--save-stats")
    if save is not None and save.suffix != ".safetensors":
        raise GankitError(f"--save-stats {save}: a statistics file ends in .safetensors (what "
                          f"--stats and A or B read as statistics)")
    if save is not None and out is not None and save.resolve() == out.resolve():
        raise GankitError(f"--out and --save-stats both name {save}; give two files")
    if save is not None and _is_stats(sources["a"]):
        raise GankitError(f"--save-stats writes A's statistics, and A ({sources['a']}) is a "
                          f"statistics file already")
    stats = {side: load_statistics(path) for side, path in sources.items() if _is_stats(path)}
    if args.features is not None:
        space = feature_space_identity(args.features)
    elif len(stats) == len(sources):
        space = stats["a"].space  # two statistics files: their own feature space
    else:
        raise GankitError(_NO_FEATURES)
    images = {side: _read(path, args.image_size) for side, path in sources.items()
              if side not in stats}
    shapes = {side: tuple(images[side].shape) if side in images else stats[side].image_shape
              for side in sources}
    for side, held in stats.items():
        check_compatible(held, space, shapes["b" if side == "a" else "a"], sources[side])
    if shapes["a"] != shapes["b"]:
        raise GankitError(f"A holds images {list(shapes['a'])} and B {list(shapes['b'])}; "
                          f"compare sets of one shape (--image-size S resizes a folder)")
    measured = stats | _statistics(args, sources, images, space)
    record = {"a": str(sources["a"]), "b": str(sources["b"]), "n_a": measured["a"].n,
              "n_b": measured["b"].n, "features": space, "seed": args.seed,
              **compare(measured["a"], measured["b"], args.seed)}
    if save is not None:
        save_statistics(measured["a"], save)
        print(f"wrote {save}", file=sys.stderr)
    if out is not None:
        write_json(out, record)
        print(f"wrote {out}", file=sys.stderr)
    print_result(record)


_NO_FEATURES = ("give the feature space to compare the images in: --features FILE (fitted on "
                "the real images by 'gankit features fit DATA --out FILE'), --features "
                "inception --weights PATH, or --features digits for 28x28 digits")


def _sides(args: argparse.Namespace) -> dict[str, Path]:
    """{"a": A, "b": B}: the two positionals, or ``--stats`` and the one positional."""
    given = [side for side in (args.a, args.b) if side is not None]
    if args.stats is not None:
        if len(given) != 1:
            raise GankitError(f"--stats {args.stats} stands for A: give only B, got "
                              f"{len(given)} sets")
        if not _is_stats(args.stats):
            raise GankitError(f"--stats {args.stats}: a statistics file ends in {STATS_SUFFIX}")
        return {"a": args.stats, "b": given[0]}
    if len(given) != 2:
        raise GankitError(f"give two image sets, A (the reference) and B, got {len(given)} "
                          f"(or B alone with --stats FILE)")
    return {"a": given[0], "b": given[1]}


def _is_stats(path: Path) -> bool:
    return path.suffix.lower() == STATS_SUFFIX


def _read(path: Path, image_size: int | None) -> Any:  # an ImageSet
    from gankit.data.image_sets import open_image_set
    from gankit.evaluation.images import MIN_IMAGE_SAMPLES

    images = open_image_set(path, image_size)
    if len(images) < MIN_IMAGE_SAMPLES:
        raise GankitError(f"{path} holds {len(images)} images; the metrics need at least "
                          f"{MIN_IMAGE_SAMPLES} (k-nearest-neighbour radii)")
    return images


def _statistics(args: argparse.Namespace, sources: dict[str, Path], images: dict[str, Any],
                space: str) -> dict[str, Any]:
    """The :class:`~gankit.metrics.statistics.FeatureStatistics` of each side given as
    images: all of them, or ``--n`` of them drawn with ``--seed``."""
    import torch

    from gankit.data import ImageDataset
    from gankit.evaluation.features import feature_extractor
    from gankit.metrics.statistics import statistics_of

    if not images:
        return {}
    first = next(iter(images.values()))
    # the extractor sees the data's name and shape (one image), as a run's data would show them
    sample = ImageDataset("image-set", first.images(torch.zeros(1, dtype=torch.long)))
    extractor = feature_extractor(sample, args.features,
                                  None if args.weights is None else str(args.weights),
                                  args.device or "cpu")
    measured = {}
    for side, held in images.items():
        rows = torch.arange(len(held))
        if args.n is not None and args.n < len(held):
            draw = torch.Generator().manual_seed(args.seed)
            rows = torch.randperm(len(held), generator=draw)[:args.n].sort().values
        measured[side] = statistics_of(_features(extractor, held, rows, sources[side]), space,
                                       held.shape, args.seed)
    return measured


def _features(extractor: Any, images: Any, rows: Any, source: Path) -> Any:
    """Features [N, D] of the images at ``rows``, a batch at a time under a progress bar."""
    import torch
    from tqdm.auto import tqdm

    from gankit.data.images import to_unit_range

    channels, height, width = images.shape
    batches = rows.split(max(1, min(BATCH, BATCH_BYTES // (4 * channels * height * width))))
    with torch.no_grad():
        parts = [extractor.features(to_unit_range(images.images(batch))) for batch in tqdm(
            batches, desc=f"features of {source.name}", unit="batch", leave=False,
            disable=len(batches) < 2, file=sys.stderr)]
    return torch.cat(parts)
