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
# # Conditional GANs, AC-GAN, InfoGAN, CAAE
#
# A plain GAN draws a digit, but you cannot ask it for a 7. This chapter gives the generator a
# *code* it must obey, four ways:
#
# - **CGAN** tells both players the class;
# - **AC-GAN** tells G the class and makes D name it;
# - **InfoGAN** invents codes without labels and makes them recoverable from the image;
# - **CAAE** encodes a real image and redraws it under another class.
#
# Each section trains gankit's recipe on scikit-learn's 8x8 digits (`digits8`) for a few
# hundred steps and shows the picture the run writes. Quick mode (`GANKIT_DOCS_QUICK=1`) trains
# 200 steps, enough to see the mechanism but not clean digits; each section ends with the
# recorded picture of a long run on 28x28 MNIST (`mnist5k`), read from
# `benchmarks/results/conditional/`.

# %%
import json
import math
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import Image, display

import gankit
from gankit import pretrained

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
QUICK = os.environ.get("GANKIT_DOCS_QUICK") == "1"
STEPS = 200 if QUICK else 3000
# one snapshot (pictures and metrics) at the end; one thread suits these small networks
COMMON = [f"train.steps={STEPS}", "train.plot_every=1.0", "train.checkpoint_every=1.0",
          "train.log_every=0.1", "train.threads=1", *(["data.n_eval=300"] if QUICK else [])]
ROOT = Path(gankit.__file__).resolve().parents[2]  # the repository: benchmarks/results/
RECORDED = ROOT / "benchmarks/results/conditional"
RECORDS = json.loads((ROOT / "benchmarks/results/conditional.json").read_text())
OUT = Path(tempfile.mkdtemp())  # every run of this page goes here, never into the repository


def train(config: str) -> gankit.Run:
    """Train a shipped config briefly in OUT/config and return the run."""
    run = gankit.build(config, overrides=COMMON, run_dir=OUT / config, progress=False)
    run.fit()
    return run


def recorded(name: str, picture: str, keys: tuple[str, ...]) -> None:
    """Show a recorded long run's picture with the figures measured at its last step."""
    record = RECORDS[name]
    figures = ", ".join(f"{key} {record[key]:.3g}" for key in keys)
    command = " ".join([record["config"], *record["overrides"]])
    print(f"recorded: {command}, {record['steps']} steps: {figures}")
    slug = name.replace(", ", "-").replace(" ", "-")
    display(Image(filename=str(RECORDED / f"{slug}-{picture}.png"), width=420))


# %% [markdown]
# ## First, a trained one
#
# Before training anything: `pretrained:cgan-mnist` ships with gankit, a class-conditional
# DCGAN trained on 28x28 MNIST digits (its record, and the one command that trained it, are on
# the [pretrained generators](../../pretrained/) page). Asked for each class in turn, it draws
# that digit: each row below is one class, from 0 to 9.

# %%
shipped = gankit.load("pretrained:cgan-mnist")
digits = shipped.sample(80, seed=0, labels=torch.arange(10).repeat_interleave(8))
fig, axes = plt.subplots(10, 8, figsize=(4, 5))
for ax, image in zip(axes.ravel(), digits, strict=True):
    ax.imshow(image[0], cmap="gray", vmin=-1, vmax=1)
    ax.axis("off")
plt.show()
measured = pretrained.record("cgan-mnist")["metrics"]  # what the shipped weights were measured at
print(f"step {shipped.step}: the digit classifier agrees with the asked class "
      f"{measured['class_accuracy']:.0%} of the time (FID {measured['fid']:.0f})")

# %% [markdown]
# ## CGAN: both players are told the class
#
# Mirza & Osindero (2014) condition both players on the label y:
#
# $$\min_G \max_D \; \mathbb E_{x, y}\left[\log D(x \mid y)\right]
# + \mathbb E_{z, y}\left[\log\left(1 - D(G(z \mid y) \mid y)\right)\right].$$
#
# G reads $[z, \mathrm{onehot}(y)]$; D reads the image with the one-hot as extra input
# channels. D now rejects a perfect 3 offered as a 7, so G must draw the class it is given.
#
# The recipe's *latent layout* says where the class sits in G's input:

# %%
cgan = train("digits8-cgan")
print(cgan.recipe.layout)
noise = cgan.sampler().draw(1, torch.Generator().manual_seed(0))  # the prior's draw
z = cgan.recipe.layout.fix(noise, {"class": torch.tensor([7])})  # the class part set to 7
print("G's input for class 7:", z.shape, "one-hot part:", z[0, -10:].tolist())

# %% [markdown]
# The run draws one row per class, the same noise in every column
# (`RUN/samples/step-N.png`). Down a column only y changes; along a row only z.

# %%
display(Image(filename=str(sorted((OUT / "digits8-cgan" / "samples").glob("*.png"))[-1]),
              width=360))

# %% [markdown]
# `run.sample` takes the class too: one label for all, or one per sample. The digit
# classifier then checks that G drew what it was asked for: `class_accuracy` in the run's
# metrics is that agreement (a tenth, 0.1, for a G that ignores y).

# %%
sevens = cgan.sample(8, seed=3, labels=7)  # [8, 1, 8, 8] in [-1, 1]
fig, axes = plt.subplots(1, 8, figsize=(6, 0.9))
for ax, image in zip(axes, sevens, strict=True):
    ax.imshow(image[0], cmap="gray", vmin=-1, vmax=1)
    ax.axis("off")
fig.suptitle("cgan.sample(8, labels=7)", fontsize=9)
plt.show()
print("class_accuracy after", cgan.step, "steps:", round(cgan.result["class_accuracy"], 3))

# %%
recorded("cgan, dcgan networks", "samples", ("class_accuracy", "fid", "intra_fid"))

# %% [markdown]
# ## AC-GAN: D names the class
#
# AC-GAN (Odena et al. 2017) gives D an unconditional input and a second head, a classifier
# $P(C \mid x)$. With the source term $L_S$ and the class term $L_C$,
#
# $$L_S = \mathbb E\left[\log P(S{=}\text{real} \mid x_{real})\right]
# + \mathbb E\left[\log P(S{=}\text{fake} \mid x_{fake})\right],\qquad
# L_C = \mathbb E\left[\log P(C{=}c \mid x_{real})\right]
# + \mathbb E\left[\log P(C{=}c \mid x_{fake})\right],$$
#
# D maximizes $L_S + L_C$ and G maximizes $L_C - L_S$: G wants images that look real *and*
# that the classifier files under the class it was given.
#
# The paper's head also learns from G's images, so it learns to name whatever G draws for
# class c as c. gankit's preset uses ADC-GAN's fix (Hou et al. 2022): one 2K-way head that
# names class and source together ($y^+$ for a real image of class y, $y^-$ for a generated
# one), which drives G toward the joint distribution of images and labels.

# %%
acgan = train("digits8-acgan")
print(acgan.config.options)
display(Image(filename=str(sorted((OUT / "digits8-acgan" / "samples").glob("*.png"))[-1]),
              width=360))
print("class_accuracy after", acgan.step, "steps:", round(acgan.result["class_accuracy"], 3))

# %% [markdown]
# The class head gives G a direct gradient toward each class, so AC-GAN's rows usually sort
# themselves sooner than CGAN's.

# %%
recorded("acgan, dcgan networks", "samples", ("class_accuracy", "fid", "intra_fid"))

# %% [markdown]
# ## InfoGAN: codes without labels
#
# InfoGAN (Chen et al. 2016) has no labels. It splits G's input into noise z and codes c (here
# a categorical code `cat0` with 10 values and two continuous codes `cont0`, `cont1` in
# $[-1, 1]$) and asks that the codes stay readable from the image: a high mutual information
# $I(c; G(z, c))$. That is intractable, so a head Q on D's features bounds it from below:
#
# $$L_I(G, Q) = \mathbb E_{c,\, x \sim G(z, c)}\left[\log Q(c \mid x)\right] + H(c)
# \;\le\; I(c; G(z, c)),$$
#
# and the game becomes $\min_{G, Q} \max_D V(D, G) - \lambda L_I(G, Q)$. For the categorical
# code, $H(c) = \log 10$, so its bound is $\log 10$ minus Q's cross-entropy, at most
# $\log 10 \approx 2.303$ when Q reads every code back.

# %%
infogan = train("digits8-infogan")
print(infogan.recipe.layout)

codes = torch.arange(10).repeat_interleave(50)  # c: every value of cat0, 50 times
x = infogan.sample(500, seed=2, codes={"cat0": codes})  # x ~ G(z, c)
D = infogan.recipe.nets["D"].eval()
with torch.no_grad():
    q_logits = D(x).heads["q"][:, :10]  # Q's logits of cat0 [500, 10]
bound = math.log(10) - F.cross_entropy(q_logits, codes).item()
print(f"L_I of cat0: {bound:.3f} of log 10 = {math.log(10):.3f}; Q reads the code back "
      f"{(q_logits.argmax(1) == codes).float().mean():.0%} of the time")

# %% [markdown]
# Q reading the code back says only that G keeps it visible. Whether it means *the digit* is
# a separate question: `cat0_accuracy` matches the code's values to the digit classifier's
# labels (the best one-to-one matching; 0.1 is chance).
#
# The run draws each code's traversal: `codes-cat0.png` has one row per value of `cat0`, and
# `codes-cont0.png` sweeps `cont0` from -2 to 2 (past the $[-1, 1]$ it was trained on) with
# everything else fixed.

# %%
print("cat0_accuracy after", infogan.step, "steps:", round(infogan.result["cat0_accuracy"], 3))
display(Image(filename=str(OUT / "digits8-infogan" / "codes-cat0.png"), width=360))
display(Image(filename=str(OUT / "digits8-infogan" / "codes-cont0.png"), width=400))

# %% [markdown]
# In the recorded long run, each row of `cont0` is one value of `cat0`, a digit, and moving
# `cont0` from left to right changes the same factor in every row: the slant and width of the
# stroke. Nobody told the model what slant is.

# %%
recorded("infogan seed 1", "codes-cont0", ("cat0_accuracy", "fid"))

# %% [markdown]
# ## CAAE: redraw a real digit as another class
#
# A conditional adversarial autoencoder (Zhang, Song & Qi 2017, built for age progression of
# faces) encodes a real image, $z = E(x) \in [-1, 1]^d$, and decodes it under a label,
# $\hat x = G(E(x), l)$. Two discriminators shape it: $D_z$ holds the codes to the uniform
# prior, and $D_{img}$ judges (image, label) pairs. E and G minimize
#
# $$\lambda_{rec} \lVert x - G(E(x), l) \rVert_1 + \lambda_z L_G(D_z(E(x)))
# + \lambda_{img} L_G(D_{img}(G(E(x), l), l)).$$
#
# If z keeps the style (stroke, slant) and l the class, then $G(E(x), l')$ redraws the same
# digit's style as class $l'$: the paper's age progression. gankit's preset adds two terms
# (`caae.z_given_label`, `caae.recondition_weight`) without which E keeps the class in z and G
# ignores l.

# %%
caae = train("digits8-caae")
print(caae.config.options)
display(Image(filename=str(OUT / "digits8-caae" / "recondition.png"), width=420))
print({k: round(caae.result[k], 3) for k in ("reconstruction_l1", "recondition_accuracy")})

# %% [markdown]
# Each row starts with a held-out digit, then its code decoded under every class; the column
# of its own class is its reconstruction. `recondition_accuracy` is the share of redrawn digits
# that the classifier reads as their new class.

# %%
recorded("caae", "recondition", ("recondition_accuracy", "reconstruction_l1", "fid"))

# %% [markdown]
# ## Try it yourself
#
# The four recipes are presets: `DATA-cgan`, `DATA-acgan`, `DATA-infogan`, `DATA-caae`, on
# `digits8` or `mnist5k`. Train one, then draw a class or set a code:
#
# <!-- quick: --set train.steps=20 --set train.plot_every=1.0 --set data.n_eval=300 -->
# ```bash
# gankit train digits8-cgan --out runs/cgan
# gankit sample runs/cgan --n 16 --class 7 --format png-dir --out sevens
# gankit train digits8-infogan --out runs/infogan
# gankit sample runs/infogan --n 16 --code cat0=3 --code cont0=1.5 --format png-dir --out codes
# ```
#
# The recorded long runs, on 28x28 digits (about 20 minutes each on one core):
#
# <!-- no-test: a long training -->
# ```bash
# gankit train mnist5k-cgan --out runs/mnist-cgan
# gankit train mnist5k-infogan --set model.name=dcgan-fc --set model.latent_dim=62 --out runs/info
# python benchmarks/conditional.py
# ```
