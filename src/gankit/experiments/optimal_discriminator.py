r"""The optimal discriminator and the value it attains, Goodfellow et al. 2014, Prop. 1 and Thm. 1.

For a fixed generator, the D maximizing
$V(G, D) = \mathbb{E}_{p_{data}}[\log D(x)] + \mathbb{E}_{p_g}[\log(1 - D(x))]$ is
$D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))$ (Prop. 1), and at it
$V(G, D^*) = 2\,\mathrm{JS}(p_{data} \,\|\, p_g) - 2 \log 2$ (proof of Thm. 1, eq. 5-6).

Here p_data is gankit's ``gaussian-1d`` (N(4, 0.5^2)) and the generator is frozen at
G(z) = mu_g + sigma_g z, z ~ N(0, 1), so p_g = N(mu_g, sigma_g^2). An MLP D is trained alone with
the BCE D loss (the trainer runs a D-only recipe) and compared with D*. Independently of the
network, V(G, D*) is integrated adaptively (scipy.integrate.quad) and JS is computed by
:func:`gankit.theory.divergences.js` on the densities discretized on a fine grid.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import integrate, stats
from scipy.special import expit
from torch import Tensor, nn

from gankit.configuration.resolve import build_config
from gankit.configuration.schema import Config, DataConfig
from gankit.data import DATASETS
from gankit.evaluation.plots import save_figure, subplots
from gankit.experiments.base import EXPERIMENTS, critic_on_grid, output_paths
from gankit.losses.adversarial import LOSSES
from gankit.models import DISCRIMINATORS, build_part
from gankit.recipes.base import (
    OptimizerSpec,
    Phase,
    PhaseOutput,
    Recipe,
    StepContext,
    gaussian_latent,
)
from gankit.theory.divergences import js
from gankit.training.runlog import write_json
from gankit.training.trainer import Trainer

NAME = "optimal-discriminator"
MU_G, SIGMA_G = 3.0, 1.0  # the frozen generator's p_g = N(3, 1)
REGION_FRACTION = 1e-2  # errors are measured where p_data + p_g >= this fraction of its max


class AffineGenerator(nn.Module):
    """G(z) = mu + sigma * z, with no trainable parameters."""

    def __init__(self, mu: float, sigma: float) -> None:
        super().__init__()
        self.mu, self.sigma = mu, sigma

    def forward(self, z: Tensor) -> Tensor:
        return self.mu + self.sigma * z


class FixedGeneratorDiscriminator(Recipe):
    """Trains only D, by the config's D loss, against a frozen 1-D affine generator."""

    def __init__(self, config: Config, mu_g: float, sigma_g: float) -> None:
        super().__init__()
        discriminator = build_part(DISCRIMINATORS, config.model, "discriminator", (1,))
        self.nets = nn.ModuleDict({"G": AffineGenerator(mu_g, sigma_g), "D": discriminator})
        self.loss = LOSSES[config.loss.name]
        self.lr = config.train.lr_d

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"d": OptimizerSpec(("D",), self.lr)}

    def phases(self) -> list[Phase]:
        return [Phase("d", "d")]

    def critic(self, x: Tensor) -> Tensor:
        return self.nets["D"](x).logits  # [N]

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        real, fake = ctx.real_batch(), self.sample(ctx.batch_size, ctx.rng)  # [N, 1] each
        return PhaseOutput({"d_loss": self.loss.d_loss(self.critic(real), self.critic(fake))})

    def latent(self, n: int, generator: torch.Generator) -> Tensor:
        return gaussian_latent(n, 1, generator)

    def decode(self, z: Tensor) -> Tensor:
        return self.nets["G"](z)


def value_at_optimum(p_data: Any, p_g: Any) -> float:
    """V(G, D*) = E_pdata[log D*] + E_pg[log(1 - D*)] for two frozen scipy.stats distributions,
    integrated adaptively in log space (no grid, no network)."""

    def integrand(x: float) -> float:
        log_pd, log_pg = p_data.logpdf(x), p_g.logpdf(x)
        log_sum = np.logaddexp(log_pd, log_pg)
        return math.exp(log_pd) * (log_pd - log_sum) + math.exp(log_pg) * (log_pg - log_sum)

    value, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-13, limit=200)
    return value


def value_on_grid(x: np.ndarray, pd: np.ndarray, pg: np.ndarray, logits: np.ndarray) -> float:
    """V(G, D) by the midpoint rule on the uniform grid x, for D = sigmoid(logits)."""
    # log D = -softplus(-t), log(1 - D) = -softplus(t): finite for any logit t.
    log_d, log_1md = -np.logaddexp(0, -logits), -np.logaddexp(0, logits)
    return float(np.sum(pd * log_d + pg * log_1md) * (x[1] - x[0]))


@EXPERIMENTS.register(NAME)
def optimal_discriminator(out_dir: Path, quick: bool = False) -> dict[str, Any]:
    """Train D against a frozen N(3, 1) generator; compare it with D*, and V(G, D*) with JS."""
    steps = 600 if quick else 2000
    config = build_config({
        "data": {"name": "gaussian-1d", "batch_size": 512},
        "model": {"latent_dim": 1, "d_hidden": 64, "d_depth": 2},
        "loss": {"name": "non-saturating"},
        # D alone faces a fixed target, not a game: Adam's usual beta1 = 0.9, and the learning
        # rate decays to 0 over the second half so D settles instead of jittering around D*.
        "train": {"steps": steps, "lr_d": 1e-2, "beta1": 0.9, "lr_decay_from": 0.5,
                  "log_every": steps // 40, "threads": 1},
    })
    data = DATASETS["gaussian-1d"](DataConfig())
    with torch.random.fork_rng(devices=[]):  # seed D's initialization, leave the caller's RNG
        torch.manual_seed(config.train.seed)
        recipe = FixedGeneratorDiscriminator(config, MU_G, SIGMA_G)
    trainer = Trainer(recipe, data, config, run_dir=None, progress=False)
    trainer.fit()

    p_data = stats.norm(data.centers.item(), data.std)
    p_g = stats.norm(MU_G, SIGMA_G)
    x = np.linspace(-6.0, 12.0, 2**14 + 1)  # [X]; both densities < 1e-18 beyond it
    pd, pg = p_data.pdf(x), p_g.pdf(x)
    d_star = pd / (pd + pg)
    logits = critic_on_grid(recipe.critic, x)
    d_trained = expit(logits)  # sigmoid

    region = (pd + pg) >= REGION_FRACTION * (pd + pg).max()
    error = np.abs(d_trained - d_star)
    mixture = (pd + pg) / 2
    v_star = value_at_optimum(p_data, p_g)
    js_value = js(pd, pg)  # the grid's densities, normalized to masses by js
    figures = {
        "source": "Goodfellow et al. 2014, Prop. 1 and Thm. 1 (eq. 5-6)",
        "p_data": f"N({p_data.mean():g}, {p_data.std():g}^2)",
        "p_g": f"N({MU_G:g}, {SIGMA_G:g}^2)", "steps": steps,
        "region": f"p_data + p_g >= {REGION_FRACTION:g} * max(p_data + p_g)",
        "region_interval": [float(x[region].min()), float(x[region].max())],
        "d_max_abs_error": float(error[region].max()),
        "d_mean_abs_error": float(error[region].mean()),
        "d_mean_abs_error_under_mixture": float(np.sum(error * mixture) / np.sum(mixture)),
        "v_optimal_d": v_star,
        "js": js_value,
        "two_js_minus_two_log2": 2 * js_value - 2 * math.log(2),
        "v_identity_abs_diff": abs(v_star - (2 * js_value - 2 * math.log(2))),
        "v_optimal_d_on_grid": value_on_grid(x, pd, pg, np.log(pd) - np.log(pg)),
        "v_trained_d": value_on_grid(x, pd, pg, logits),
    }
    figures["v_gap"] = figures["v_optimal_d_on_grid"] - figures["v_trained_d"]  # >= 0
    png, json_path = output_paths(out_dir, NAME)
    plot(x, pd, pg, d_star, d_trained, trainer.history, figures, png)
    write_json(json_path, figures)
    return figures


def plot(x: np.ndarray, pd: np.ndarray, pg: np.ndarray, d_star: np.ndarray,
         d_trained: np.ndarray, history: list[dict[str, float]], figures: dict[str, Any],
         path: Path) -> None:
    fig, (left, right) = subplots(1, 2, figsize=(10.5, 3.6))
    show = (x > -1) & (x < 8)
    left.plot(x[show], pd[show], "k:", lw=2, label=r"$p_{data}$")
    left.plot(x[show], pg[show], "g", lw=1.5, label=r"$p_g$")
    left.axvspan(*figures["region_interval"], color="gray", alpha=0.1, label="error region")
    left.set(xlabel="x", ylabel="density",
             title=f"trained D vs D* (mean |D - D*| {figures['d_mean_abs_error']:.3f}, "
                   f"max {figures['d_max_abs_error']:.3f})")
    left.legend(loc="upper left", fontsize=7)
    d_axis = left.twinx()
    d_axis.plot(x[show], d_star[show], "r", lw=2.5, alpha=0.5, label=r"$D^*(x)$")
    d_axis.plot(x[show], d_trained[show], "b--", lw=1.5, label="trained D(x)")
    d_axis.set(ylim=(0, 1), ylabel="D(x)")
    d_axis.legend(loc="center left", fontsize=7)

    steps = [r["step"] for r in history]
    right.plot(steps, [-r["d_loss"] for r in history], "b", lw=1.2,
               label="V(G, D) on training batches")
    right.axhline(figures["v_optimal_d"], color="r", lw=2, alpha=0.5, label="V(G, D*) (quadrature)")
    right.axhline(figures["two_js_minus_two_log2"], color="k", ls=":", lw=1.5,
                  label="2 JS - 2 log 2")
    right.set(xlabel="D step", ylabel="nats", ylim=(figures["v_optimal_d"] - 0.4, None),
              title=f"|V(G, D*) - (2 JS - 2 log 2)| = {figures['v_identity_abs_diff']:.1e}")
    right.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)
