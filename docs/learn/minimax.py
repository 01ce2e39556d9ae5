# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The minimax game and the non-saturating loss
#
# The original GAN is a two-player game. This chapter plays it with gankit and looks at the
# generator's gradient, which is where the textbook game and working code part ways.
#
# The claims, each checked below:
#
# 1. The generator's minimax loss $\log(1 - D(G(z)))$ has a vanishing gradient exactly when
#    the discriminator confidently rejects the fakes, which is how training starts.
# 2. The non-saturating loss $-\log D(G(z))$ pushes the generator the same way, with a
#    gradient that stays large there.
# 3. Trained as a game, $D$ tracks $D^* = p_{data} / (p_{data} + p_g)$ and ends near $1/2$
#    wherever the data is, because $p_g$ has come to equal $p_{data}$.

# %%
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Image, display
from scipy import stats

import gankit
from gankit.evaluation.plots import draw_density_1d
from gankit.experiments import EXPERIMENTS
from gankit.losses.adversarial import LOSSES
from gankit.theory.divergences import wasserstein1

QUICK = os.environ.get("GANKIT_DOCS_QUICK") == "1"  # the site's CI build: smaller runs
OUT = Path(tempfile.mkdtemp())  # every file this chapter writes goes here
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets



# %% [markdown]
# ## The game
#
# $D$ outputs a logit $f$; $D(x) = \sigma(f)$ is its probability that $x$ is real. The value
#
# $$V(G, D) = \mathbb{E}_{x \sim p_{data}}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))]$$
#
# is what $D$ maximizes and $G$ minimizes: $\min_G \max_D V(G, D)$. Only the second term
# depends on $G$, so in the game as written $G$ minimizes $\log(1 - D(G(z)))$.
#
# gankit's losses are plain functions of $D$'s logits (`gankit.losses.adversarial`). Each
# entry of `LOSSES` has a `d_loss` and a `g_loss`, both to be minimized. The `minimax` one
# is the game above; `non-saturating` changes only the generator's term to
# $-\log D(G(z))$ (Goodfellow et al. 2014, Sec. 3).

# %%
minimax, non_saturating = LOSSES["minimax"], LOSSES["non-saturating"]
logits = torch.tensor([-6.0, 0.0, 6.0])  # D sure it is fake, unsure, sure it is real
print("D(G(z))               ", torch.sigmoid(logits).numpy().round(4))
print("minimax g_loss        ", [round(minimax.g_loss(f[None]).item(), 4) for f in logits])
print("non-saturating g_loss ", [round(non_saturating.g_loss(f[None]).item(), 4) for f in logits])

# %% [markdown]
# ## Where the minimax loss saturates
#
# Differentiate each loss with respect to the logit $f = D$'s output on a fake:
#
# $$\frac{\partial}{\partial f} \log(1 - \sigma(f)) = -\sigma(f),
# \qquad \frac{\partial}{\partial f} \big(-\log \sigma(f)\big) = -(1 - \sigma(f)).$$
#
# Both are negative: both losses tell $G$ to raise $D$'s verdict. But the minimax gradient
# has size $D(G(z))$, which is near 0 when $D$ rejects the fake, while the non-saturating one
# has size $1 - D(G(z))$, near 1 there. Autograd through gankit's two `g_loss` functions
# gives the curves below (each loss is a mean, so we multiply by the batch size to get one
# point's own gradient).

# %%
f = torch.linspace(-9, 9, 721, requires_grad=True)
curves = {}
for name in ("minimax", "non-saturating"):
    loss = LOSSES[name].g_loss(f) * len(f)
    (grad,) = torch.autograd.grad(loss, f)
    curves[name] = (loss.detach() / len(f), grad)  # not the mean: each point's own loss

d = torch.sigmoid(f).detach()
print("max |grad - (-sigma(f))|     :", (curves["minimax"][1] + d).abs().max().item())
print("max |grad - (-(1 - sigma(f)))|:", (curves["non-saturating"][1] + 1 - d).abs().max().item())

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
for name, colour in (("minimax", "C3"), ("non-saturating", "C0")):
    left.plot(d, [LOSSES[name].g_loss(v[None]).item() for v in f.detach()], colour, label=name)
    right.plot(d, curves[name][1].abs(), colour, label=name)
left.set(xlabel="D(G(z))", ylabel="generator loss", xscale="log",
         title=r"$\log(1 - D(G(z)))$ vs $-\log D(G(z))$")
right.set(xlabel="D(G(z))", ylabel=r"$|\partial\,\mathrm{loss} / \partial f|$", xscale="log",
          yscale="log", title="gradient at D's logit f")
right.axvspan(d.min().item(), 0.05, color="gray", alpha=0.12, label="D rejects the fake")
for ax in (left, right):
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# On the left, the minimax loss is flat at 0 for small $D(G(z))$: a fake that $D$ rejects
# with $D(G(z)) = 10^{-3}$ costs $G$ almost nothing to leave where it is. On the right (log
# scales), its gradient falls in proportion to $D(G(z))$ there, while the non-saturating
# gradient stays near 1. The two meet at $D(G(z)) = 1/2$.

# %% [markdown]
# ## The same picture on a generator's samples
#
# The gradient reaches $G$ through the samples: each fake $x = G(z)$ is moved along
# $-\partial\,\mathrm{loss} / \partial x$. We build gankit's 1-D GAN (`gaussian-1d`:
# $p_{data} = N(4, 0.5^2)$), give $D$ five steps per $G$ step so that it gets ahead, train a
# few steps, and then ask: with this one $D$, how hard does each loss push each fake?
# (This is what the arrows of `gankit view` draw in 2-D.)

# %%
steps = 200 if QUICK else 600
settings = [f"train.steps={steps}", "train.n_critic=5", "train.log_every=10",
            "train.checkpoint_every=1.0"]
run = gankit.build("gaussian-1d", [*settings, "loss.name=non-saturating"], progress=False,
                   snapshots=False)
run.fit(10)

fake = run.sample(400, seed=0).requires_grad_(True)  # [400, 1]
logits = run.recipe.critic(fake)  # [400]: D's raw output
pushes = {}
for name in ("minimax", "non-saturating"):
    (grad,) = torch.autograd.grad(LOSSES[name].g_loss(logits) * len(logits), fake,
                                  retain_graph=True)
    pushes[name] = grad.abs()[:, 0]
verdict = torch.sigmoid(logits).detach()
print(f"after 10 steps: median D(G(z)) {verdict.median():.4f}, "
      f"median push: minimax {pushes['minimax'].median():.2e}, "
      f"non-saturating {pushes['non-saturating'].median():.2e}")

fig, ax = plt.subplots(figsize=(5.6, 3.4))
order = fake[:, 0].detach().argsort()
x_sorted = fake[order, 0].detach()
ax.plot(x_sorted, pushes["minimax"][order], "C3", label="minimax")
ax.plot(x_sorted, pushes["non-saturating"][order], "C0", label="non-saturating")
ax.set(xlabel="generated x", ylabel=r"$|\partial\,\mathrm{loss}/\partial x|$", yscale="log",
       title="how hard each loss pushes each fake (same D)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Same $D$, same fakes: the minimax push is weakest on exactly the fakes that $D$ rejects
# most surely, the ones furthest from the data (left), which are the ones that most need to
# move. Where $D(G(z)) > 1/2$ the order flips, as in the gradient plot.

# %% [markdown]
# ## Training with each loss
#
# Now train both to the end, with the same seed, and measure the exact $W_1$ between 2,000
# generated and 2,000 real points as training goes. Adam divides each step by a running
# estimate of the gradient's size, which hides much of a uniformly small gradient, so on
# this easy problem the minimax game does not stall: it lags, most clearly early, while
# $D$ is ahead. Plain gradient descent would take the small gradient at face value.

# %%
checkpoints = list(range(20, steps + 1, 20))
real = run.data.sample(2000, torch.Generator().manual_seed(1))["x"]  # [2000, 1]
runs, distances = {"non-saturating": run}, {}
runs["minimax"] = gankit.build("gaussian-1d", [*settings, "loss.name=minimax"], progress=False,
                               snapshots=False)
snapshots = {}  # (p_g samples, D on a grid) early and at the end, for the next figure
grid = np.linspace(0.0, 7.0, 400)
for name, each in runs.items():
    distances[name] = []
    for step in checkpoints:
        each.fit(step)
        generated = each.sample(2000, seed=2)
        distances[name].append(wasserstein1(generated, real))
        if name == "non-saturating" and step in (checkpoints[1], steps):
            with torch.no_grad():
                verdicts = torch.sigmoid(each.recipe.critic(torch.tensor(grid[:, None],
                                                                         dtype=torch.float32)))
            snapshots[step] = (each.sample(20_000, seed=3)[:, 0].numpy(), verdicts.numpy())

fig, ax = plt.subplots(figsize=(5.6, 3.4))
for name, colour in (("minimax", "C3"), ("non-saturating", "C0")):
    ax.plot(checkpoints, distances[name], colour, marker="o", ms=3, label=name)
ax.set(xlabel="generator step", ylabel=r"exact $W_1$(generated, real)", yscale="log",
       title="gaussian-1d, 5 D steps per G step")
ax.legend(fontsize=8)
plt.show()
print({name: [round(v, 3) for v in values[:4]] for name, values in distances.items()},
      "(first four checkpoints)")

# %% [markdown]
# ## $D$ against $D^*$ during the game
#
# The previous chapter trained $D$ against a frozen $G$ and found $D^*$. In the game, $G$
# moves after every few $D$ steps, so $D$ can only chase the $D^*$ of the moment:
#
# $$D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}.$$
#
# We know $p_{data}$ exactly (`run.data.pdf`), and estimate $p_g$ from 20,000 samples of $G$
# with a narrow kernel density estimate; then $D^*$ is one line. It is drawn only where
# $p_{data} + p_g$ has mass: elsewhere neither player has anything to learn from.
# gankit's `draw_density_1d` draws the rest of the picture: $p_{data}$, a histogram of
# $p_g$, and $D(x)$.

# %%
p_data = run.data.pdf(torch.tensor(grid[:, None], dtype=torch.float32)).numpy()
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.4))
for ax, (step, (samples, verdicts)) in zip(axes, snapshots.items(), strict=True):
    p_g = stats.gaussian_kde(samples, bw_method=0.05)(grid)
    mass = p_data + p_g > 0.01 * (p_data + p_g).max()  # where D* means something
    d_star = np.where(mass, p_data / (p_data + p_g + 1e-12), np.nan)
    print(f"step {step}: mean |D - D*| where there is mass "
          f"{np.abs(verdicts - d_star)[mass].mean():.3f}")
    draw_density_1d(ax, grid, p_data, samples, verdicts, f"non-saturating GAN, step {step}")
    d_axis = fig.axes[-1]  # the D(x) axis draw_density_1d added
    d_axis.plot(grid, d_star, "r", lw=2.5, alpha=0.45, label=r"$D^*(x)$, $p_g$ by KDE")
    d_axis.legend(loc="upper right", fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# Early on (left) $p_g$ still sits apart from the data and $D$ follows the shape of $D^*$:
# near 0 where only fakes are, near 1 where only data is. Later (right) the histogram has
# moved onto $p_{data}$ and $D$ has flattened toward $1/2$. $D^*$ is sharper than $D$
# wherever $p_g$ has a sharp edge: it jumps from 1 (data, no fakes) to well below $1/2$ (a
# pile of fakes). $D$ is a small smooth network trained a few steps at a time while $G$
# moves, so it only approximates $D^*$; the printed mean gap says how well.
#
# Played on, the game ends where neither player can improve: $p_g = p_{data}$ and
# $D = 1/2$ (Theorem 1). The experiment below gets there.

# %% [markdown]
# ## The paper's Figure 1, as a gankit experiment
#
# Goodfellow et al. (2014, Fig. 1) draw four moments of this game. gankit's `gan-1d`
# experiment trains the same 1-D GAN and snapshots $p_{data}$ (dots), $p_g$ (histogram) and
# $D(x)$ (blue dashes) at four steps, with $|D - 1/2|$ on the data and $W_1$ in each title.

# %%
figures = EXPERIMENTS["gan-1d"](OUT, quick=QUICK)
for record in figures["snapshots"]:
    print(f"step {record['step']:4d}: mean |D - 1/2| {record['mean_abs_d_minus_half']:.4f}, "
          f"W1 {record['w1']:.3f}")
display(Image(filename=OUT / "gan-1d.png"))

# %% [markdown]
# ## In 2-D: 25 Gaussians
#
# The same loss on `grid25`, PacGAN's 25 Gaussians on a 5 x 5 grid. The shipped config
# `grid25` uses the hinge loss; the preset `grid25-non-saturating` swaps in the loss of
# this chapter and keeps the rest. With a run directory, gankit writes a picture of the
# samples over $D$'s landscape at each snapshot (`samples/step-*.png`), with the mode
# metrics of PacGAN and the exact $W_1$ in its title.

# %%
grid_steps = 300 if QUICK else 3000
grid_run = gankit.build("grid25-non-saturating",
                        [f"train.steps={grid_steps}", "train.plot_every=0.5",
                         "train.checkpoint_every=1.0"],
                        run_dir=OUT / "grid25", progress=False)
grid_run.fit()
print({k: round(v, 3) for k, v in grid_run.result.items() if isinstance(v, float)})
pictures = sorted((OUT / "grid25" / "samples").glob("step-*.png"))
display(Image(filename=pictures[-1]))  # the last snapshot

# %% [markdown]
# Real points are black, generated ones yellow, over $D$'s probability. The title counts
# the modes with at least one sample within three standard deviations and the share of such
# "high-quality" samples. The green paths are MALA chains in latent space, the subject of
# the energy chapter. A short run spreads the samples over the square; a full run (the
# Benchmarks section gives the numbers) puts them on the 25 modes. Missing modes are the
# subject of the mode-collapse chapter.

# %% [markdown]
# ## Try it yourself
#
# The 1-D game with either loss, then the 2-D one. Each run directory holds `training.png`
# (losses and metrics) and `samples/step-*.png`.
#
# <!-- quick: --set train.steps=20 -->
# ```bash
# gankit train gaussian-1d-minimax --out runs/g1d-minimax
# gankit train gaussian-1d-non-saturating --out runs/g1d-non-saturating
# gankit train grid25-non-saturating --set train.steps=2000 --out runs/grid25-ns
# gankit experiment gan-1d --quick --out runs/experiments
# ```
#
# To see the generator's gradient as arrows while it trains, open the run in the
# browser view: `gankit view grid25-minimax`.
