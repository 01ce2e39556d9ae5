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
# # Image-to-image translation and composite losses
#
# So far $G$ drew from noise. An image-to-image GAN takes an image $a$ of one domain and
# returns an image of another: edges to digits, thin strokes to thick ones. The adversarial
# loss alone does not say *which* output goes with $a$, so these models add other terms to
# it. Their objective is a weighted sum, a *composite loss*.
#
# The claims, each run below on digits:
#
# 1. pix2pix (Isola et al. 2017) learns from pairs $(a, b)$ with a conditional GAN plus an
#    L1 term. The L1 term alone gives blurry outputs; the GAN term alone gives sharp ones
#    that need not match $a$; the sum gives sharp, faithful outputs.
# 2. Its discriminator is a PatchGAN: it judges every small patch of the image, not the
#    whole image.
# 3. CycleGAN (Zhu et al. 2017) learns from unpaired sets: a second generator maps back, and
#    the cycle $a \to b \to a$ must return $a$.

# %%
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Image, display

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import gankit  # noqa: E402
from gankit.evaluation.plots import plot_training_curves  # noqa: E402

QUICK = os.environ.get("GANKIT_DOCS_QUICK") == "1"  # the site's CI build: smaller runs
OUT = Path(tempfile.mkdtemp())  # every file this chapter writes goes here
N = 200 if QUICK else 1000  # held-out images measured



def latest_snapshot(run):
    """The newest picture the run wrote in samples/."""
    return sorted((run.run_dir / "samples").glob("step-*.png"))[-1]


# %% [markdown]
# ## First, a trained one
#
# `pretrained:pix2pix-edges2digits` ships with gankit: pix2pix trained to draw a digit from its
# edges (the [pretrained generators](../../pretrained/) page has its record and the command
# that trained it). Top row: eight held-out edge maps; bottom row: what it draws from them.

# %%
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

EDGES = Path(gankit.__file__).resolve().parents[2] / "docs/images/pretrained/edges"
edges = torch.stack([torch.from_numpy(np.array(PILImage.open(path).convert("L")))[None]
                     for path in sorted(EDGES.glob("*.png"))])  # uint8 [8, 1, 32, 32]
shipped = gankit.load("pretrained:pix2pix-edges2digits")
drawn = shipped.translate(edges)  # [8, 1, 32, 32] in [-1, 1]
fig, axes = plt.subplots(2, len(edges), figsize=(len(edges), 2.2))
for column, (edge, digit) in enumerate(zip(edges, drawn, strict=True)):
    axes[0, column].imshow(edge[0], cmap="gray")
    axes[1, column].imshow(digit[0], cmap="gray", vmin=-1, vmax=1)
for ax in axes.ravel():
    ax.axis("off")
plt.show()

# %% [markdown]
# ## The data: pairs of edges and digits
#
# `edges2digits` pairs each mnist5k digit $b$ with its edges $a$, the morphological gradient:
# the digit dilated minus the digit eroded, both with a 3x3 square,
# $a = (b \oplus S) - (b \ominus S)$. A batch holds `a` and `b`; the run keeps held-out pairs
# that it never trains on, and measures and draws them.
#
# ## pix2pix: a conditional GAN plus L1
#
# $D$ sees the input next to an output, $D(a, b)$, so it can reject an output that does not
# fit its input. The conditional GAN loss is
#
# $$\mathcal{L}_{cGAN}(G, D) = \mathbb{E}_{a,b}[\log D(a, b)]
#   + \mathbb{E}_{a}[\log(1 - D(a, G(a)))] .$$
#
# The L1 term pulls each output towards its own target:
#
# $$\mathcal{L}_{L1}(G) = \mathbb{E}_{a,b}\, \lVert b - G(a) \rVert_1 .$$
#
# $G$ minimizes their sum with the weight $\lambda$ (the paper's eq. 4, $\lambda = 100$):
#
# $$G^* = \arg\min_G \max_D\ \mathcal{L}_{cGAN}(G, D) + \lambda\, \mathcal{L}_{L1}(G) .$$
#
# In gankit, $\lambda$ is `pix2pix.pixel_weight` and the cGAN term's weight is
# `pix2pix.gan_weight`; the shipped `edges2digits` config has the paper's settings with
# narrower networks. $G$ is a U-Net, whose skips carry the input's layout straight to the
# output.

# %%
steps = 300 if QUICK else 2000
# quick: narrower networks, and one torch thread (two threads on a busy 2-core CI machine
# spend most of their time waiting for each other)
small = ["model.g_hidden=16", "model.d_hidden=16", "train.threads=1"] if QUICK else []


def pix2pix(name, *overrides):
    """Train a pix2pix run on edges2digits: the run and its logged records. Its snapshot at
    the end draws and measures the held-out pairs."""
    run = gankit.build("edges2digits",
                       overrides=[f"train.steps={steps}", f"data.n_eval={N}",
                                  "train.plot_every=1.0", "train.checkpoint_every=1.0",
                                  *small, *overrides],
                       run_dir=OUT / name, progress=False)
    return run, run.fit()


both, history = pix2pix("lambda-100")  # cGAN + 100 L1: the paper's objective

# %% [markdown]
# The line the run printed is the PatchGAN's: with one stride-2 layer (`model.d_depth: 1`)
# each of $D$'s verdicts sees a 16x16 patch of the 32x32 image, and $D$'s loss is the mean
# over all verdicts. A patch is enough to tell a sharp stroke from a blurred one; the L1 term
# already takes care of the image's overall layout.
#
# `fit` returns the logged records: $D$'s loss and $G$'s two terms, each already times its
# weight, so `g_pixel` is $\lambda \mathcal{L}_{L1}$ on the batch and `g_gan` is $G$'s
# adversarial term. (The last record holds the held-out metrics, `eval/...`.) gankit's
# `plot_training_curves` draws them, as in the run's `training.png`.

# %%
terms = ("d_loss", "g_gan", "g_pixel")
training = [record for record in history if "g_pixel" in record]  # not the eval record
last = training[-1]
print({key: round(last[key], 4) for key in ("step", *terms)})
print(f"L1 on the last batch: g_pixel / lambda = {last['g_pixel'] / 100:.4f}")
display(Image(filename=plot_training_curves(training, OUT / "terms.png", terms)))

# %% [markdown]
# With $\lambda = 100$ the L1 term is far larger than the GAN term, and it is the one that
# falls: L1 sets the output's layout, and the GAN term adds what L1 cannot (the next sections
# show what).
#
# The run's snapshot (`samples/step-*.png`) has one column per held-out pair: the input
# edges, $G$'s output, and the target digit.

# %%
display(Image(filename=latest_snapshot(both)))

# %% [markdown]
# The run measures the held-out pairs at the end (`run.result`, also `eval.json`): `l1` is
# $\mathcal{L}_{L1}$ per pixel on the $[-1, 1]$ scale, PSNR and SSIM compare each output with
# its target, and `label_preservation` is the share of outputs that the digit classifier reads
# as the input's digit. We check `l1` by translating the same held-out edges with
# `run.translate` and computing the mean absolute error by hand:

# %%
held = both.data.held_out()  # a, b: [M, 1, 32, 32] in [-1, 1]
outputs = both.translate(held.a[:N])  # G(a), networks in eval mode
print(f"L1 by hand   {(held.b[:N] - outputs).abs().mean():.4f}")
print(f"L1 of the run {both.result['l1']:.4f}")

# %% [markdown]
# ## What $\lambda$ changes
#
# Now the same run with $\lambda = 0$ (`pix2pix.pixel_weight=0`: the cGAN alone) and with the
# GAN term off (`pix2pix.gan_weight=0`: L1 alone, $D$ is not trained at all).

# %%
cgan_only, _ = pix2pix("lambda-0", "pix2pix.pixel_weight=0")
l1_only, _ = pix2pix("l1-only", "pix2pix.gan_weight=0")
runs = {"cGAN + 100 L1": both, "cGAN alone (lambda 0)": cgan_only, "L1 alone": l1_only}
print(f"{'objective':24} {'L1':>6} {'PSNR dB':>8} {'SSIM':>6} {'FID':>7} {'labels kept':>12}")
for name, run in runs.items():
    r = run.result
    print(f"{name:24} {r['l1']:6.3f} {r['psnr']:8.2f} {r['ssim']:6.3f} {r['fid']:7.1f}"
          f" {r['label_preservation']:12.2f}")

# %%
fig, axes = plt.subplots(len(runs), 1, figsize=(7, 2.6 * len(runs)))
for ax, (name, run) in zip(axes, runs.items(), strict=True):
    ax.imshow(plt.imread(latest_snapshot(run)))
    ax.set_title(name, fontsize=10)
    ax.axis("off")
plt.show()

# %% [markdown]
# What to look for. L1 alone gives the mean of the digits that fit the edges: the right
# layout, but soft and grey. It scores well on L1 and PSNR, which are what it minimizes. The
# cGAN alone draws crisper strokes; only $D$ ties them to the input. On this task that is
# nearly enough: an edge map almost fixes its digit, and the U-Net's skips carry its layout to
# the output. The sum is meant to have both the layout and the sharpness. FID, in the digit
# classifier's features, measures how real the outputs look.
#
# In the site's quick build (300 steps, narrow networks) the L1 term, 100 times the weight,
# still dominates: $\lambda = 100$ and L1 alone look alike, and the cGAN alone is ahead. At
# the shipped config's 2,000 steps (`benchmarks/translation.py`) FID ranks the three as the
# paper does: L1 alone 3.65, the cGAN alone 2.02, L1 + cGAN 1.33, at the same label
# preservation (96.6-97.5%) and SSIM (0.90).
#
# ## CycleGAN: when there are no pairs
#
# `thin2thick` holds mnist5k digits (A) and thickened digits (B) made from *other* digits: no
# $b$ is the target of any $a$. CycleGAN trains two generators, $G: A \to B$ and
# $F: B \to A$, each with its own discriminator, and ties them with the cycle-consistency
# loss:
#
# $$\mathcal{L}_{cyc}(G, F) = \mathbb{E}_a \lVert F(G(a)) - a \rVert_1
#   + \mathbb{E}_b \lVert G(F(b)) - b \rVert_1 .$$
#
# The full objective is $\mathcal{L}_{GAN}(G, D_B) + \mathcal{L}_{GAN}(F, D_A) +
# \lambda_{cyc} \mathcal{L}_{cyc}$ with $\lambda_{cyc} = 10$ (`cyclegan.cycle_weight`, eq. 3
# of the paper), plus an identity term that asks $G(b) \approx b$ (`cyclegan.identity_weight`).
# A $G$ that turned every digit into the same thick "8" would fool $D_B$, but $F$ could not
# recover $a$ from it: the cycle keeps the content.

# %%
cycle = gankit.build("thin2thick",
                     overrides=[f"train.steps={100 if QUICK else 1000}", f"data.n_eval={N}",
                                "train.plot_every=1.0", "train.checkpoint_every=1.0"]
                     + (["model.g_depth=2", "train.threads=1"] if QUICK else []),
                     run_dir=OUT / "cyclegan", progress=False)
cycle.fit()
r = cycle.result
print(f"cycle L1: |F(G(a)) - a| = {r['cycle_l1_a']:.3f}, |G(F(b)) - b| = {r['cycle_l1_b']:.3f}")
print(f"digits kept A->B {r['label_preservation']:.2f}, B->A {r['label_preservation_ba']:.2f}")

# %% [markdown]
# The snapshot draws both directions: $a$, $G(a)$, $F(G(a))$, then $b$, $F(b)$, $G(F(b))$. The
# held-out digits of `thin2thick` do have thickened versions of themselves, so the run also
# measures L1, PSNR and SSIM against them, though it never trained on a pair.

# %%
display(Image(filename=latest_snapshot(cycle)))

# %% [markdown]
# ## Try it yourself
#
# The shipped configs train the paper's objectives (2,000 pix2pix steps, 3,000 CycleGAN
# steps); `--set` changes one term's weight:
#
# <!-- quick: --set train.steps=10 --set train.plot_every=1.0 --set data.n_eval=100 -->
# ```bash
# gankit train edges2digits --out runs/e2d                                  # cGAN + 100 L1
# gankit train edges2digits --set pix2pix.pixel_weight=0 --out runs/e2d-gan # lambda 0
# gankit train edges2digits --set model.d_depth=0 --out runs/e2d-pixelgan   # 1x1 patches
# gankit eval runs/e2d
# gankit train thin2thick --out runs/t2t                                    # CycleGAN
# ```
#
# Translate your own images with `gankit translate RUN --input FILE|DIR --out DIR` (one PNG
# per input, same names; `--direction BtoA` for CycleGAN's $F$), or in Python:
#
# ```python
# import gankit
#
# run = gankit.load("runs/e2d")
# digits = run.translate(run.data.held_out().a[:16])  # [16, 1, 32, 32] in [-1, 1]
# ```
