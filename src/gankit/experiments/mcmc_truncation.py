r"""Quality against diversity: the truncation trick against MCMC in latent space.

Sampling z from a narrower distribution than the prior trades diversity for quality. The
truncation trick (Brock et al. 2019, Sec. 3.1) narrows it blindly, towards the mode of the
prior; MCMC on the latent energy $E(z) = \lVert z\rVert^2/2 - d(G(z))/T$ (DDLS, Che et al.
2020; the same energy MEG samples, Kumar et al. 2019) narrows it towards the latents the
discriminator scores as data, which on a mixture lie in every mode, not only the central ones.

One non-saturating GAN is trained on PacGAN's 25-Gaussian grid; its samples are then measured
(PacGAN's protocol: modes, high-quality rate, reverse KL, and exact W1) under truncation at a
range of thresholds and under MALA at a range of steps and temperatures. The truncation points
draw a quality-diversity curve (diversity as reverse KL over the modes: lower is more even
coverage); a MALA point "beats truncation at equal diversity" when its high-quality rate lies
above that curve at its own reverse KL (:func:`curve_at`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gankit.api import build
from gankit.evaluation.plots import save_figure, subplots
from gankit.experiments.base import EXPERIMENTS, output_paths
from gankit.sampling.settings import SamplerSettings
from gankit.training.runlog import write_json

NAME = "mcmc-truncation"
SEED = 2019


def settings(quick: bool) -> tuple[int, int, list[float], list[SamplerSettings]]:
    """(training steps, samples per measurement, truncation thresholds, MALA settings)."""
    if quick:
        return 300, 500, [0.5, 1.0, 2.0], [SamplerSettings("mala", steps=20, step_size=0.01),
                                           SamplerSettings("mala", steps=20, step_size=0.01,
                                                           temperature=0.5)]
    chains = [SamplerSettings("mala", steps=steps, step_size=0.01, temperature=temperature)
              for steps in (20, 100, 300) for temperature in (1.0, 0.5, 0.25)]
    return 4000, 2500, [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0], chains


@EXPERIMENTS.register(NAME)
def mcmc_truncation(out_dir: Path, quick: bool = False) -> dict[str, Any]:
    """Train one grid25 GAN, then measure it under each sampler setting."""
    steps, n, thresholds, chains = settings(quick)
    overrides = [f"train.steps={steps}", "train.plot_every=1000000", f"data.n_eval={n}"]
    if quick:
        overrides += ["model.g_hidden=64", "model.d_hidden=64"]
    run = build("grid25-non-saturating", overrides, progress=False, snapshots=False)
    run.fit()
    points = [measure(run, SamplerSettings(), n)]
    points += [measure(run, SamplerSettings("truncation", threshold=t), n) for t in thresholds]
    points += [measure(run, chain, n) for chain in chains]
    truncation = [p for p in points if p["sampler"] in ("prior", "truncation")]
    for point in points:
        if point["sampler"] == "mala":
            point["truncation_high_quality_at_equal_diversity"] = curve_at(
                truncation, point["reverse_kl"])
    winners = [p for p in points if p["sampler"] == "mala"
               and p["truncation_high_quality_at_equal_diversity"] is not None
               and p["high_quality"] > p["truncation_high_quality_at_equal_diversity"]]
    best = max(winners, key=lambda p: (p["high_quality"]
                                       - p["truncation_high_quality_at_equal_diversity"]),
               default=None)
    figures = {"source": "Brock et al. 2019, Sec. 3.1; Che et al. 2020; Kumar et al. 2019",
               "data": "grid25", "loss": "non-saturating", "train_steps": steps, "n": n,
               "seed": SEED, "points": points,
               "mala_beats_truncation": [p["setting"] for p in winners],
               "best_mala": best}
    png, json_path = output_paths(out_dir, NAME)
    plot(points, best, png)
    write_json(json_path, figures)
    return figures


def measure(run: Any, sampler: SamplerSettings, n: int) -> dict[str, Any]:
    """PacGAN's figures of ``n`` samples drawn with ``sampler``."""
    record = run.eval_record(n, SEED, sampler=sampler)
    point = {"sampler": sampler.name, "setting": sampler.describe() or "prior"}
    keys = ("modes", "high_quality", "reverse_kl", "w1", "mcmc_acceptance")
    return point | {k: record[k] for k in keys if k in record}


def curve_at(curve: list[dict[str, Any]], reverse_kl: float) -> float | None:
    """The truncation curve's high-quality rate at ``reverse_kl`` (linear between its points,
    ordered by reverse KL). Below its most even point it is that point's rate: a sampler more
    even than every threshold is compared with the most even one, which it still covers at
    least as well. Above its least even point: None (no threshold is as uneven)."""
    ordered = sorted((p["reverse_kl"], p["high_quality"]) for p in curve
                     if np.isfinite(p["reverse_kl"]))
    if not ordered or reverse_kl > ordered[-1][0]:
        return None
    xs, ys = zip(*ordered, strict=True)
    return float(np.interp(reverse_kl, xs, ys))


def plot(points: list[dict[str, Any]], best: dict[str, Any] | None, path: Path) -> None:
    fig, ax = subplots(figsize=(6, 4.2))
    truncation = sorted((p for p in points if p["sampler"] in ("prior", "truncation")),
                        key=lambda p: p["reverse_kl"])
    ax.plot([p["reverse_kl"] for p in truncation], [p["high_quality"] for p in truncation],
            "o-", color="C0", label="truncation (threshold)")
    for p in truncation:
        ax.annotate(p["setting"].removeprefix("truncation-t"), (p["reverse_kl"],
                    p["high_quality"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    chains = [p for p in points if p["sampler"] == "mala"]
    ax.scatter([p["reverse_kl"] for p in chains], [p["high_quality"] for p in chains],
               color="C3", marker="s", label="MALA (steps, temperature)", zorder=3)
    for p in chains:
        ax.annotate(p["setting"].removeprefix("mala-"), (p["reverse_kl"], p["high_quality"]),
                    fontsize=6, xytext=(3, -8), textcoords="offset points")
    if best is not None:
        ax.scatter([best["reverse_kl"]], [best["high_quality"]], s=160, facecolors="none",
                   edgecolors="k", label="best MALA above the curve")
    ax.set(xlabel="reverse KL over the 25 modes (lower: more even)",
           ylabel="high-quality samples (%)", title="grid25: quality against diversity")
    ax.legend(fontsize=8)
    save_figure(fig, path)
