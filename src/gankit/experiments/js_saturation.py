r"""JS saturates at log 2 on disjoint supports while W1 keeps measuring the distance.

Arjovsky et al. 2017, Example 1 (learning parallel lines), in its 1-D form: P_0 = U[0, 1] and
P_theta = U[theta, theta + 1]. For |theta| >= 1 the supports are disjoint and
JS(P_0, P_theta) = log 2 whatever theta is, so JS gives a generator no direction to move in;
W1(P_0, P_theta) = |theta| for every theta (a translation moves all mass by theta). Where the
supports overlap (0 <= theta < 1) the mixture m is 1 on the overlap and 1/2 elsewhere, so
JS = theta log 2 exactly.

Both distributions live on one histogram grid whose bin width divides every theta, so each is
represented exactly; JS is :func:`gankit.theory.divergences.js` of the bin masses and W1 is
:func:`gankit.theory.divergences.wasserstein1` of the bin centres weighted by those masses.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from gankit.evaluation.plots import save_figure, subplots
from gankit.experiments.base import EXPERIMENTS, output_paths
from gankit.theory.divergences import js, kl, wasserstein1
from gankit.training.runlog import write_json

NAME = "js-saturation"
LOG2 = math.log(2)


def uniform_masses(centres: np.ndarray, start: float) -> np.ndarray:
    """Bin masses [B] of U[start, start + 1] on equal bins centred at ``centres`` [B]."""
    inside = (centres > start) & (centres < start + 1)  # a centre is never on an edge
    return inside / inside.sum()


def curves(thetas: np.ndarray, width: float) -> dict[str, np.ndarray]:
    """JS, JS from its KL definition and W1 between P_0 and P_theta [len(thetas)] each, on a
    grid of bins of ``width``. ``js`` returns log 2 for disjoint supports without arithmetic;
    the KL form goes through the general computation, so it checks that limit numerically."""
    centres = np.arange(-1, thetas.max() + 2, width) + width / 2  # [B]
    p0 = uniform_masses(centres, 0.0)
    out: dict[str, list[float]] = {"js": [], "js_from_kl": [], "w1": []}
    for theta in thetas:
        p_theta = uniform_masses(centres, theta)
        m = (p0 + p_theta) / 2
        out["js"].append(js(p0, p_theta))
        out["js_from_kl"].append(kl(p0, m) / 2 + kl(p_theta, m) / 2)
        out["w1"].append(wasserstein1(centres, centres, x_weights=p0, y_weights=p_theta))
    return {k: np.array(v) for k, v in out.items()}


@EXPERIMENTS.register(NAME)
def js_saturation(out_dir: Path, quick: bool = False) -> dict[str, Any]:
    """Sweep theta from 3 down to 0 and compare JS with log 2 (disjoint) and W1 with theta."""
    width = 1 / 512 if quick else 1 / 4096  # a power of two: theta / width is an exact integer
    thetas = np.linspace(3.0, 0.0, 49 if quick else 193)  # steps of 1/16 or 1/64
    c = curves(thetas, width)
    js_values, w1_values = c["js"], c["w1"]

    disjoint = thetas >= 1  # U[0,1] and U[1,2] meet in one point, a null set
    js_expected = np.where(disjoint, LOG2, thetas * LOG2)
    figures = {
        "source": "Arjovsky et al. 2017, Example 1 (1-D form: U[0,1] vs U[theta, theta+1])",
        "bin_width": width,
        "js_max_dev_from_log2_disjoint": float(np.abs(js_values[disjoint] - LOG2).max()),
        "js_from_kl_max_dev_from_log2_disjoint":
            float(np.abs(c["js_from_kl"][disjoint] - LOG2).max()),
        "js_max_error_overlapping": float(np.abs(js_values - js_expected)[~disjoint].max()),
        "w1_max_error": float(np.abs(w1_values - thetas).max()),
        "thetas": thetas.tolist(),
        "js": js_values.tolist(),
        "w1": w1_values.tolist(),
    }
    png, json_path = output_paths(out_dir, NAME)
    plot(thetas, js_values, w1_values, png)
    write_json(json_path, figures)
    return figures


def plot(thetas: np.ndarray, js_values: np.ndarray, w1_values: np.ndarray, path: Path) -> None:
    fig, ax = subplots(figsize=(5.6, 3.6))
    ax.plot(thetas, w1_values, "C0", lw=2, label=r"$W_1(P_0, P_\theta)$")
    ax.plot(thetas, js_values, "C3", lw=2, label=r"$JS(P_0, P_\theta)$")
    ax.axhline(LOG2, color="C3", ls=":", lw=1, label=r"$\log 2$")
    ax.axvspan(1, thetas.max(), color="gray", alpha=0.12, label="disjoint supports")
    ax.set(xlabel=r"$\theta$", ylabel="nats / distance",
           title=r"$P_0=U[0,1]$, $P_\theta=U[\theta,\theta+1]$ (Arjovsky et al. 2017, Ex. 1)")
    ax.legend(fontsize=8, loc="upper left")
    save_figure(fig, path)
