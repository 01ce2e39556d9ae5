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
# # Mode collapse and its cures
#
# A generator *collapses* when it draws only part of the data: a few digits out of ten, a few
# Gaussians out of twenty-five. Its samples can each look perfect while whole regions of the
# data are never drawn. This chapter measures collapse on PacGAN's 25 Gaussians (`grid25`),
# trains the cures gankit has, and shows each beside the baseline.
#
# Quick mode (`GANKIT_DOCS_QUICK=1`, what the site's CI runs) trains each model for a few
# hundred steps, which is too short for any of them to settle: read its figures as a
# demonstration of the tools. Without it, each run is ten times longer.

# %%
import json
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Image, display

import gankit
from gankit.metrics.mode_collapse import mode_metrics
from gankit.models.layers import MinibatchDiscrimination, MinibatchStdDev

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
QUICK = os.environ.get("GANKIT_DOCS_QUICK") == "1"
STEPS = 300 if QUICK else 3000
ROOT = Path(gankit.__file__).resolve().parents[2]  # the repository: benchmarks/results/
OUT = Path(tempfile.mkdtemp())  # every run of this page goes here, never into the repository

# %% [markdown]
# ## First, a trained one that did not collapse
#
# `pretrained:gan-grid25` ships with gankit: the hinge-loss GAN of the grid25 config, trained
# 12,000 steps (its record and command are on the [pretrained generators](../../pretrained/)
# page). Its samples cover all 25 modes of the grid; the rest of this chapter is about the
# runs that do not get there.

# %%
shipped = gankit.load("pretrained:gan-grid25")
points = shipped.sample(2500, seed=0)  # [2500, 2]
fig, ax = plt.subplots(figsize=(3.6, 3.6))
ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5)
ax.set(title="pretrained:gan-grid25, 2,500 samples", aspect="equal")
plt.show()
print(shipped.evaluate())

# %% [markdown]
# ## Why a generator collapses
#
# Fix the discriminator D for a moment. The non-saturating generator loss is
#
# $$L_G = \mathbb E_{z}\left[-\log D(G(z))\right].$$
#
# For a fixed D it is smallest when every z lands on the one point $x^* = \arg\max_x D(x)$.
# Nothing in $L_G$ rewards G for spreading out. Only the *next* D, which learns that $x^*$ is
# fake, pushes G elsewhere, and G may then jump to another single point. Goodfellow et al.
# (2014, Sec. 6) called this the Helvetica scenario.
#
# The baseline below is the non-saturating loss with DCGAN's Adam ($\beta_1 = 0.5$,
# $\beta_2 = 0.999$) at a constant rate of $10^{-3}$, a batch of 128: the kind of setting that
# drops modes on this data.

# %%
COMMON = [f"train.steps={STEPS}", "data.batch_size=128", "train.precision=fp32",
          "train.threads=1", "train.log_every=0.1", "train.checkpoint_every=1.0"]
BASELINE = ["loss.name=non-saturating", "train.beta1=0.5", "train.beta2=0.999",
            "train.lr_decay_from=1.0"]

baseline = gankit.build("grid25", overrides=[*COMMON, *BASELINE, "train.plot_every=1.0"],
                        run_dir=OUT / "baseline", progress=False)
baseline.fit()
print(baseline.evaluate())

# %% [markdown]
# gankit draws every run's samples over D's landscape at each snapshot
# (`RUN/samples/step-N.png`). Black points are real, yellow ones generated; red is where D
# says "real". Once a run has collapsed, the modes G misses stay red: D knows they are real,
# and G does not go there. (After the few hundred steps of quick mode, G is still a blur
# spreading toward the modes.)

# %%
display(Image(filename=str(sorted((OUT / "baseline" / "samples").glob("*.png"))[-1]), width=520))

# %% [markdown]
# ## Measuring collapse
#
# `modes`, `high_quality` and `reverse_kl` above are PacGAN's measures (Lin et al. 2018,
# Table 1), after VEEGAN; `w1` is the Wasserstein distance to the data (the Wasserstein
# chapter). Each sample goes to its nearest mode $k(x) = \arg\min_k \lVert x - \mu_k \rVert$
# and is *high quality* if it lies within three standard deviations of it:
# $\lVert x - \mu_{k(x)} \rVert \le 3\sigma$.
#
# - **modes**: how many of the 25 modes hold at least one high-quality sample;
# - **high_quality**: the percentage of high-quality samples;
# - **reverse_kl**: $\mathrm{KL}(p_{gen} \,\|\, u)$, with $p_{gen}$ the histogram of the
#   high-quality samples over the modes and $u$ uniform. A generator spread evenly over $m$ of
#   the $K$ modes scores $\log(K/m)$.
#
# The same numbers by hand, from `run.sample` and the data set's modes:

# %%
x = baseline.sample(2500, seed=1)  # [2500, 2]
mu, sigma = baseline.data.modes, baseline.data.mode_std  # [25, 2], 0.05
distance = torch.cdist(x, mu)  # [2500, 25]
nearest = distance.argmin(1).numpy()  # k(x)
high = (distance.min(1).values <= 3 * sigma).numpy()  # within 3 sigma of k(x)
counts = np.bincount(nearest[high], minlength=len(mu))
p_gen = counts / counts.sum()
by_hand = {"modes": int((counts > 0).sum()), "high_quality": 100 * float(high.mean()),
           "reverse_kl": float(np.sum(p_gen[p_gen > 0] * np.log(p_gen[p_gen > 0] * len(mu))))}
print("by hand:", by_hand)
print("gankit: ", mode_metrics(x, mu, sigma))

# %% [markdown]
# ## Cure 1: let D see the whole batch
#
# A D that judges one sample at a time cannot tell a collapsed batch from a varied one: each
# sample on its own looks real. Two layers give D a feature of the whole batch.
#
# **Minibatch standard deviation** (Karras et al. 2018, Sec. 3) appends one number to every
# example: the standard deviation of each feature over the batch, averaged over features,
#
# $$\bar\sigma = \frac1F \sum_{f=1}^{F} \sqrt{\operatorname{Var}_i h_{i,f} + 10^{-8}}.$$
#
# **Minibatch discrimination** (Salimans et al. 2016, Sec. 3.2) projects each example's
# features to $B$ kernels, $M_i = h_i T$, and appends how close each example is to the rest:
#
# $$o(x_i)_b = \sum_{j} \exp\left(-\lVert M_{i,b} - M_{j,b} \rVert_{1}\right).$$
#
# On a batch of real points and on a batch collapsed onto one mode, the two layers give D very
# different numbers (the last column of each output):

# %%
torch.manual_seed(0)  # the random projection T of minibatch discrimination
real = baseline.data.sample(128, torch.Generator().manual_seed(0))["x"]  # [128, 2]
collapsed = mu[:1].repeat(128, 1) + sigma * torch.randn(128, 2)  # every point on one mode
stddev, discrimination = MinibatchStdDev(), MinibatchDiscrimination(2, kernels=4)
with torch.no_grad():
    for name, batch in [("real", real), ("collapsed", collapsed)]:
        print(f"{name:9s}  sigma-bar {stddev(batch)[0, -1]:.3f}   "
              f"o(x_1) {discrimination(batch)[0, 2:].numpy().round(1)}")

# %% [markdown]
# A varied batch has a large $\bar\sigma$ and small closeness sums; a collapsed one the
# opposite ($o$ approaches the batch size, 128). G can fool such a D only with batches as
# varied as the real ones. In gankit both are options of the model:
# `model.minibatch_stddev=true` and `model.minibatch_discrimination=B`.
#
# ## Cure 2: let D judge samples in packs (PacGAN)
#
# PacGAN (Lin et al. 2018) gives D $m$ samples at once, all real or all generated, so D
# compares the product distributions $P^m$ and $Q^m$. Packing amplifies a missing mode. If G
# drops one of 25 equally likely modes, the total variation that D can exploit grows with $m$:
#
# $$d_{TV}(P^m, Q^m) = 1 - \left(\tfrac{24}{25}\right)^m.$$
#
# The numbers, computed over the product of the mixture's labels:

# %%
p = np.full(25, 1 / 25)  # P: all 25 modes
q = np.r_[np.full(24, 1 / 24), 0.0]  # Q: the last mode dropped
for m in (1, 2, 3, 4):
    pm, qm = p, q
    for _ in range(m - 1):  # the product distribution of m independent draws
        pm, qm = np.outer(pm, p).ravel(), np.outer(qm, q).ravel()
    print(f"m = {m}: TV = {0.5 * np.abs(pm - qm).sum():.4f}   1 - (24/25)^m = "
          f"{1 - (24 / 25) ** m:.4f}")

# %% [markdown]
# In gankit, `model.pack=m` stacks m samples on D's input (the batch size must be a multiple
# of m); the PacGAN paper uses $m \le 4$.
#
# ## Cure 3: the optimizer
#
# Not a cure from the collapse literature, but the one that mattered most when gankit's toy
# benchmark was tuned on this data: the hinge loss, Adam with $\beta_1 = 0$,
# $\beta_2 = 0.9$, and a learning rate that decays linearly to 0 over the second half of
# training. That is the shipped `grid25` config.
#
# ## Each cure on grid25
#
# The baseline and four variants, each changing one thing, trained from the same seed for the
# same number of steps. A cure gives D a harder task (packs, batch features), so early in
# training it can trail the baseline: the order after a short run need not be the order at
# the end.

# %%
CURES = {
    "baseline": BASELINE,
    "minibatch stddev": [*BASELINE, "model.minibatch_stddev=true"],
    "minibatch discr. (B=8)": [*BASELINE, "model.minibatch_discrimination=8"],
    "PacGAN (m=2)": [*BASELINE, "model.pack=2"],
    "hinge, Adam(0, 0.9), decay": ["train.lr_decay_from=0.5"],
}
samples, scores = {}, {}
for name, overrides in CURES.items():
    if name == "baseline":
        run = baseline
    else:
        run = gankit.build("grid25", overrides=[*COMMON, *overrides], progress=False,
                           snapshots=False)
        run.fit()
    samples[name], scores[name] = run.sample(2500, seed=1), run.evaluate()
    print(f"{name:28s} modes {scores[name]['modes']:2d}   high quality "
          f"{scores[name]['high_quality']:5.1f} %   reverse KL {scores[name]['reverse_kl']:.3f}")

# %%
fig, axes = plt.subplots(1, len(CURES), figsize=(3.2 * len(CURES), 3.4), sharey=True)
for ax, (name, points) in zip(axes, samples.items(), strict=True):
    ax.scatter(*mu.T, s=30, c="black", marker="x", label="modes")
    ax.scatter(*points.T, s=2, alpha=0.4, c="tab:orange", label="generated")
    ax.set(xlim=(-5.5, 5.5), ylim=(-5.5, 5.5), aspect="equal",
           title=f"{name}\n{scores[name]['modes']} modes, "
                 f"{scores[name]['high_quality']:.0f}% HQ")
axes[0].legend(loc="lower left", fontsize=7)
fig.suptitle(f"grid25 after {STEPS} steps (one seed)")
fig.tight_layout(rect=(0, 0, 1, 0.9))

# %% [markdown]
# And the two numbers side by side. One seed of a short run is noisy: rerun a cell with
# another `train.seed` before trusting a difference of a mode or two.

# %%
names = list(CURES)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
left.barh(names, [scores[n]["modes"] for n in names], color="tab:blue")
left.axvline(25, color="grey", ls="--")
left.invert_yaxis()  # the first run on top
left.set(xlabel="modes covered (of 25)", title=f"this page's runs, {STEPS} steps")
right.barh(names, [scores[n]["high_quality"] for n in names], color="tab:green")
right.set(xlabel="high-quality samples (%)", xlim=(0, 100))
right.invert_yaxis()
right.set_yticklabels([])
fig.tight_layout()

# %% [markdown]
# Each cure also costs something. Packing halves the number of separate judgements D makes per
# batch; minibatch discrimination compares every pair in the batch, $O(N^2 B)$ work. In
# gankit's own tuning, PacGAN with $m = 2$ kept all 25 modes on grid25 but left the samples
# blurry (84-89 % high quality), and the optimizer change reached all 25 modes with about 97 %
# high quality. The recorded long runs of the shipped setting (three seeds, 12,000 steps),
# read from `benchmarks/results/toy_modes.json`:

# %%
recorded = json.loads((ROOT / "benchmarks/results/toy_modes.json").read_text())
for config, seeds in recorded["runs"].items():
    if config.startswith("grid25"):
        cells = ", ".join(f"{r['modes']} modes / {r['high_quality']:.1f}% HQ"
                          for r in seeds.values())
        print(f"recorded  {config:22s} {cells}")

# %% [markdown]
# ## StackedMNIST: modes out of 1,000
#
# Points in the plane are easy to look at; images are where collapse hurts. StackedMNIST puts
# three MNIST digits into the three colour channels of one image, so it has
# $10^3 = 1{,}000$ modes. gankit's digit classifier labels each channel of a generated image,
# and `stacked_modes` counts the triples that appear; `stacked_reverse_kl` is the KL of their
# histogram to uniform.
#
# These runs take minutes each, too long for this page. The recorded runs, read from
# `benchmarks/results/image_quality.json` (the DCGANs, 450 s of training each on one core) and
# `stacked_mnist_meg.json` (MEG, the energy chapter's model):

# %%
quality = json.loads((ROOT / "benchmarks/results/image_quality.json").read_text())
meg = json.loads((ROOT / "benchmarks/results/stacked_mnist_meg.json").read_text())
stacked = {
    "DCGAN": quality["stacked: dcgan"],
    "DCGAN + minibatch stddev": quality["stacked: + minibatch stddev"],
    "DCGAN + minibatch discr. (shipped)": quality["stacked: + minibatch discrimination (shipped)"],
    "MEG": meg["shipped: λ 30, Adam 2e-4, 4000 steps"] | {"steps": 4000},
}
stacked = {f"{name}, {r['steps']} steps": r for name, r in stacked.items()}
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 2.4))
left.barh(list(stacked), [r["stacked_modes"] for r in stacked.values()], color="tab:blue")
left.set(xlim=(900, 1000), xlabel="modes covered (of 1,000)", title="recorded, StackedMNIST")
left.invert_yaxis()
right.barh(list(stacked), [r["stacked_reverse_kl"] for r in stacked.values()],
           color="tab:red")
right.set(xlabel="KL(generated || uniform), lower is better")
right.invert_yaxis()
right.set_yticklabels([])
fig.tight_layout()

# %% [markdown]
# Our DCGAN does not collapse on StackedMNIST the way the PacGAN paper's does (998 modes rather
# than their 99), so here the batch layers do not pay for their cost at equal time: minibatch
# discrimination slows each step by about 40 %. The histogram over modes stays uneven, though:
# a real sample of the same size scores KL 0.019.
#
# MEG (Kumar et al. 2019, the energy chapter) adds an estimate of G's entropy to its loss, a
# direct reward for spreading out; it covers all 1,000 modes with the lowest KL of these runs.
# Two other cures are not in gankit: the unrolled GAN (Metz et al. 2017) and VEEGAN's
# reconstructor (Srivastava et al. 2017).
#
# ## Try it yourself
#
# The baseline and one cure, then the two runs' mode counts on shared axes:
#
# <!-- quick: --set train.steps=20 --set train.plot_every=0.5 -->
# ```bash
# LOSS="--set loss.name=non-saturating --set data.batch_size=128"
# ADAM="--set train.beta1=0.5 --set train.beta2=0.999 --set train.lr_decay_from=1.0"
# gankit train grid25 $LOSS $ADAM --out runs/collapse
# gankit train grid25 $LOSS $ADAM --set model.pack=2 --out runs/pack2
# gankit compare runs/collapse runs/pack2 --metric modes --out modes.png
# ```
#
# StackedMNIST with minibatch discrimination (the shipped config), then its 1,000-mode count:
#
# <!-- quick: --set train.steps=20 --set train.plot_every=1.0 --set data.n_eval=500 -->
# ```bash
# gankit train stacked-mnist --out runs/stacked
# gankit eval runs/stacked
# ```
