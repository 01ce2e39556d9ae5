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
# # The energy view and MCMC in latent space
#
# A trained GAN leaves two networks behind. We usually keep $G$ and throw $D$ away. This
# chapter keeps $D$: read as an energy, it says where $G$ is still wrong, and sampling $z$
# against that energy fixes part of the error without any more training.
#
# The claims, each run below on PacGAN's 25 Gaussians (grid25):
#
# 1. The logit $d$ of an optimal discriminator is $\log p_{data}(x) - \log p_g(x)$, so
#    $-d(x)$ is an energy that corrects $p_g$ towards $p_{data}$.
# 2. $G$'s density has no formula in $x$, but in $z$ it is the prior. Pulled back to $z$, the
#    correction is an energy $E(z)$ that MCMC can sample.
# 3. MCMC on $E(z)$ raises the share of good samples and keeps every mode. The truncation
#    trick also raises quality, but it pays with modes.
# 4. An energy model trained as such (MEG) ranks points by density, where a GAN's $D$ only
#    ranks them by $G$'s error.

# %%
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import Image, display

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import gankit  # noqa: E402
from gankit.evaluation.palette import GENERATED, REAL  # noqa: E402
from gankit.evaluation.plots import plot_chain_trace  # noqa: E402
from gankit.experiments import energy_landscape  # noqa: E402
from gankit.sampling.settings import SamplerSettings  # noqa: E402

QUICK = os.environ.get("GANKIT_DOCS_QUICK") == "1"  # the site's CI build: smaller runs
OUT = Path(tempfile.mkdtemp())  # every file this chapter writes goes here
N = 1000 if QUICK else 2500  # samples per measurement (PacGAN's protocol uses 2,500)



def latest_snapshot(run):
    """The newest picture the run wrote in samples/."""
    return sorted((run.run_dir / "samples").glob("step-*.png"))[-1]


# %% [markdown]
# ## An energy is a density you cannot sample directly
#
# Any function $U(x)$ defines a density
#
# $$q(x) = \frac{e^{-U(x)}}{Z}, \qquad Z = \int e^{-U(x)}\,dx .$$
#
# Low energy means high density. $Z$ is unknown, so we cannot draw from $q$ in one step; MCMC
# can, because it only needs differences and gradients of $U$.
#
# A GAN's discriminator is such an energy. For a fixed $G$, the best $D$ is
# $D^* = p_{data} / (p_{data} + p_g)$ (chapter 1). Its logit is
#
# $$d^*(x) = \log \frac{D^*(x)}{1 - D^*(x)} = \log p_{data}(x) - \log p_g(x),
# \qquad\text{so}\qquad p_{data}(x) \propto p_g(x)\, e^{d^*(x)} .$$
#
# The data density is $G$'s density tilted by $e^{d}$: the energy $-d(x)$ is the correction
# $G$ still needs. This holds for the logit of the log-likelihood loss, so we train a
# non-saturating GAN.

# %%
steps = 2000 if QUICK else 6000
gan = gankit.build("grid25-non-saturating",
                   overrides=[f"train.steps={steps}", f"data.n_eval={N}",
                              "train.plot_every=1.0", "train.checkpoint_every=1.0"],
                   run_dir=OUT / "gan", progress=False)
gan.fit()
print({k: round(v, 3) for k, v in gan.result.items() if k in ("modes", "high_quality",
                                                               "reverse_kl", "w1")})

# %% [markdown]
# The run's last snapshot (`samples/step-*.png`) draws the real points (black), $G$'s samples
# (gold) and $D$'s landscape underneath. The green lines are eight MALA chains in $z$,
# decoded through $G$ at every step: they are the sampler of the next sections, already
# moving samples towards the modes.

# %%
display(Image(filename=latest_snapshot(gan)))

# %% [markdown]
# ## $G$'s density lives in $z$
#
# $p_g$ is the prior $N(0, I)$ pushed through $G$. It has no formula in $x$, but it needs
# none in $z$: there it is just the prior. Tilting the prior by $e^{d(G(z))}$ and pushing the
# result through $G$ gives the data distribution when $D$ is optimal (DDLS, Che et al. 2020).
# The tilted prior is $p_t(z) \propto e^{-E(z)}$ with the latent energy
#
# $$E(z) = \frac{\lVert z\rVert^2}{2} - \frac{d(G(z))}{T} .$$
#
# $T = 1$ is the paper's; a larger $T$ trusts $D$ less. gankit builds this energy from any
# recipe (`recipe.latent_energy()`). We check it against the formula, by hand:

# %%
recipe = gan.recipe
recipe.eval()  # the samplers run the networks in eval mode too
z = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))  # [5, 2]: grid25's z is 2-D
with torch.no_grad():
    d = recipe.nets["D"](recipe.decode(z)).logits.reshape(-1)  # [5] D's logits at G(z)
    by_hand = 0.5 * z.pow(2).sum(1) - d  # ||z||^2 / 2 - d(G(z)) / T, T = 1
    energy = recipe.latent_energy()(z)
print("E(z) by gankit :", energy.numpy().round(4))
print("E(z) by hand   :", by_hand.numpy().round(4))

# %% [markdown]
# ## Three ways to draw $z$
#
# **The prior.** $z \sim N(0, I)$, what training used.
#
# **The truncation trick** (Brock et al. 2019). Every component with $|z_i| > t$ is drawn
# again until it falls inside. Samples near the prior's centre are the ones $G$ has seen most,
# so quality rises. But the trick knows nothing about $D$: it pulls every $z$ towards the
# centre, and the modes that $G$ maps from the edges of the prior disappear.
#
# **Langevin dynamics on $E$.** Each step goes downhill on the energy and adds noise:
#
# $$z' = z - \epsilon \nabla E(z) + \sqrt{2\epsilon}\,\xi, \qquad \xi \sim N(0, I).$$
#
# **MALA** treats that step as a proposal and accepts it with the Metropolis-Hastings
# probability, which removes Langevin's $O(\epsilon)$ bias:
#
# $$\alpha = \min\Bigl(1,\ e^{-E(z') + E(z)}\,\frac{q(z \mid z')}{q(z' \mid z)}\Bigr),
# \qquad \log q(z' \mid z) = -\frac{\lVert z' - z + \epsilon \nabla E(z)\rVert^2}{4\epsilon} .$$
#
# Each sampler is a `SamplerSettings`; `run.eval_record(n, sampler=...)` measures the samples
# it gives with PacGAN's metrics: modes captured, the share of high-quality samples (within
# 3 standard deviations of a mode), the reverse KL of the mode histogram to uniform (lower:
# more even) and the exact $W_1$ to real samples.

# %%
chain_steps = 100 if QUICK else 300
samplers = {"prior": SamplerSettings(),
            "truncation t=0.5": SamplerSettings("truncation", threshold=0.5),
            f"MALA, {chain_steps} steps": SamplerSettings("mala", steps=chain_steps,
                                                          step_size=0.01)}
records = {name: gan.eval_record(N, sampler=settings) for name, settings in samplers.items()}
print(f"{'draw of z':22} {'modes':>5} {'high quality %':>15} {'reverse KL':>11} {'W1':>6}"
      f" {'acceptance':>11}")
for name, r in records.items():
    accept = f"{r['mcmc_acceptance']:.2f}" if "mcmc_acceptance" in r else ""
    print(f"{name:22} {r['modes']:5.0f} {r['high_quality']:15.1f} {r['reverse_kl']:11.3f}"
          f" {r['w1']:6.3f} {accept:>11}")

# %% [markdown]
# Now the samples themselves, drawn the three ways from the same model (`run.sample` with
# `latents=run.sampler(settings)`):

# %%
real = gan.data.points(N, torch.Generator().manual_seed(1)).numpy()
fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
for ax, (name, settings) in zip(axes, samplers.items(), strict=True):
    source = gan.sampler(settings)
    fake = gan.sample(N, seed=0, latents=source).numpy()
    ax.scatter(real[:, 0], real[:, 1], s=2, c=REAL, alpha=0.35, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c=GENERATED, alpha=0.6, label="generated")
    r = records[name]
    ax.set(title=f"{name}\n{r['modes']:.0f} modes, {r['high_quality']:.1f}% high quality",
           aspect="equal", xlim=(-5.5, 5.5), ylim=(-5.5, 5.5))
axes[0].legend(loc="upper right", markerscale=4, fontsize=8)
plt.show()

# %% [markdown]
# Truncation makes the grid's outer modes fade or vanish: it buys quality with diversity.
# MALA tightens the samples onto the modes and keeps all of them, because it moves each $z$
# where $D$ says data is, not towards the prior's centre. (The site's quick build trains the
# GAN briefly, which leaves MALA much to correct; on 12,000-step models, near the ceiling,
# `benchmarks/toy_modes.py` measures a smaller gain, with all modes kept.)
#
# `gankit sample --trace PNG` draws how the chains went: the mean energy falls as the chains
# settle, and the acceptance rate says whether the step size suits the energy (here the last
# MALA source's trace).

# %%
display(Image(filename=plot_chain_trace(source.last_trace, OUT / "trace.png", "mala")))

# %% [markdown]
# ## MEG: train the energy on purpose
#
# A GAN's $D$ is only a correction: where $G$ is already right, $d \approx 0$ whatever the
# density there. Maximum Entropy Generators (Kumar et al. 2019) train the energy $U(x)$ as a
# density model instead. Its loss has a *positive phase* on data and a *negative phase* on
# $G$'s samples, plus a penalty that makes the data flat minima:
#
# $$\mathcal{L}_U = \mathbb{E}_{data}[U(x)] - \mathbb{E}_z[U(G(z))]
#   + \lambda\, \mathbb{E}_{data} \lVert \nabla_x U(x) \rVert^2 .$$
#
# $G$ plays the sampler of $q = e^{-U}/Z$: it lowers $U$ on its samples but keeps its entropy
# high, so it does not collapse onto the lowest point of $U$:
#
# $$\mathcal{L}_G = \mathbb{E}_z[U(G(z))] - H[p_G] .$$
#
# The entropy is estimated through the mutual information of $x$ and $z$ (the guide
# [The energy view](../../energy-view/) walks through each term and the function that computes
# it). The `grid25-meg` config is the paper's settings, five energy steps per $G$ step. The
# run logs the terms of $\mathcal{L}_U$: the two phases (`energy_real`, `energy_fake`),
# their difference (`d_loss`) and the penalty (`d_gp`), which the trainer adds:

# %%
meg_steps = 200 if QUICK else 3000
meg = gankit.build("grid25-meg",
                   overrides=[f"train.steps={meg_steps}", f"data.n_eval={N}"]
                   + (["model.g_hidden=64", "model.d_hidden=64"] if QUICK else []),
                   progress=False, snapshots=False)
last = [record for record in meg.fit() if "d_loss" in record][-1]
print(f"E_data[U] = {last['energy_real']:.4f}, E_z[U(G(z))] = {last['energy_fake']:.4f}")
print(f"their difference by hand {last['energy_real'] - last['energy_fake']:.4f}, "
      f"logged d_loss {last['d_loss']:.4f}")
print(f"penalty lambda E||grad U||^2 = d_gp {last['d_gp']:.4f}; "
      f"L_U = d_loss + d_gp = {last['d_loss'] + last['d_gp']:.4f}")

# %% [markdown]
# ## The energy landscape
#
# Does each energy follow the true density? gankit's `energy-landscape` experiment compares
# a model's data-space energy (`recipe.energy(x)`: MEG's $U$, the GAN's $-d$) with the exact
# $\log p_{data}$ of the mixture, over a grid of the data's box. Here we give its functions our
# two trained models and let it draw its figure (`docs/energy-landscape.png` is the one of
# its full run). The titles carry the correlation of $-U$ with $\log p_{data}$ over the grid.

# %%
size = 60 if QUICK else 120  # grid points per axis
panels = []
for name, run in (("meg", meg), ("non-saturating", gan)):
    grid = energy_landscape.box_grid(run.data, size)  # [size^2, 2]
    energy = energy_landscape.data_energy(run)  # points [N, 2] -> U(x) [N], eval mode
    result = energy_landscape.compare(energy, run.data, grid, torch.Generator().manual_seed(0))
    panels.append(("grid25", energy_landscape.MODELS[name], grid, energy(grid).numpy(),
                   run.data, result))
    print(f"{name:15} Pearson over the grid {result['pearson_grid']:.2f}, "
          f"near the data {result['pearson_near_data']:.2f}, mode depth "
          f"{result['mode_depth']:.2f}")
png = OUT / "energy-landscape.png"
energy_landscape.plot(panels, size, png)
display(Image(filename=png))

# %% [markdown]
# The left panel is the truth: 25 wells, one per mode.
#
# A well-trained MEG's $U$ is smooth, with a shallow well at each mode, and it ranks points by
# density over the whole box: Pearson 0.72 after 3,000 steps in the full experiment
# (`docs/energy-landscape.png`). MEG learns slowly, five energy steps per $G$ step; in the
# site's quick build it trains only a couple of hundred steps, and its $U$ is still little
# more than a slope (the correlations printed above say how far it is).
#
# The GAN's $-d$ has a well at each mode and is flat or rippled between them. Over the box it
# hardly follows the density (Pearson 0.03 in the full experiment), near the data it does
# (0.75): it only models what $G$ still gets wrong, $\log p_{data} - \log p_g$. For sampling,
# that is exactly what is needed: DDLS starts from $G$ and asks $D$ for the correction.
#
# ## Try it yourself
#
# Train the GAN, then draw $z$ three ways and measure each (`gankit eval` writes each
# record to `eval-...-SAMPLER.json` beside `eval.json`):
#
# <!-- quick: --set train.steps=200 --set train.plot_every=1.0 -->
# ```bash
# gankit train grid25-non-saturating --set train.steps=4000 --out runs/ns
# gankit eval runs/ns
# gankit eval runs/ns --sampler truncation --threshold 0.5
# gankit eval runs/ns --sampler mala --steps 300 --step-size 0.01
# gankit sample runs/ns --sampler mala --steps 300 --out mala.npy --trace mala-trace.png
# ```
#
# The two experiments behind this chapter, at their full size (minutes each):
#
# <!-- quick gankit experiment: --quick -->
# ```bash
# gankit experiment mcmc-truncation --out runs/experiments
# gankit experiment energy-landscape --out runs/experiments
# ```
#
# In Python, `run.sample(n, latents=run.sampler(SamplerSettings("mala", steps=300)))` draws
# the samples and `run.eval_record(sampler=...)` measures them.
