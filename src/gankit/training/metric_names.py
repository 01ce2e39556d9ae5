"""What each figure of a snapshot or eval record is: a setting of the measurement, or a metric
and which way it is better. ``gankit runs`` and ``gankit compare`` rank by it, and
``train.keep_best.mode`` follows it when it is left out. Plain names, no imports: the run list
and the shell completion read it without torch."""

from __future__ import annotations

# Figures of a record that say how it was measured, not how good the run is
NOT_METRICS = frozenset({"step", "n", "n_real", "seed", "features", "held_out_images",
                         "fid_held_out_n", "mode_samples", "w1_n"})
# The metrics where more is better (modes found, precision/recall, reconstruction quality)
GREATER_IS_BETTER = frozenset({"modes", "stacked_modes", "high_quality", "precision", "recall",
                               "density", "coverage", "class_accuracy", "classifier_score",
                               "psnr", "ssim", "matched_accuracy"})
# The metrics where less is better (distances, divergences, errors)
LESS_IS_BETTER = frozenset({"fid", "kid", "fid_held_out", "intra_fid", "w1", "reverse_kl",
                            "channel_kl", "label_kl", "l1", "near_copies"})


def greater_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` (``fid``, ``eval/modes``, ``psnr_ba``) is better;
    any figure not known to be (a loss, a distance) is taken as better lower."""
    name = metric.removeprefix("eval/").removesuffix("_ba")
    return name in GREATER_IS_BETTER


def default_mode(metric: str) -> str | None:
    """``max`` for a metric where more is better, ``min`` where less is; None if unknown."""
    if metric in GREATER_IS_BETTER:
        return "max"
    return "min" if metric in LESS_IS_BETTER else None
