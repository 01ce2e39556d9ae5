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
# # Divergences and the optimal discriminator
#
# A GAN trains a generator $G$ so that its distribution $p_g$ comes close to the data's
# $p_{data}$. "Close" needs a measure. This chapter computes three of them with gankit,
# then shows which one the original GAN minimizes and where that measure stops helping.
#
# The claims, each checked below:
#
# 1. For a fixed $G$ the best discriminator is $D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}$.
# 2. At that $D^*$ the GAN's value is $C(G) = -\log 4 + 2\,\mathrm{JS}(p_{data} \,\|\, p_g)$,
#    so the generator minimizes the Jensen-Shannon divergence.
# 3. When the two supports do not overlap, JS is stuck at $\log 2$ however far apart they
#    are, while the Wasserstein distance $W_1$ keeps measuring the gap.

# %%
import math
import os
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display
from scipy import stats

from gankit.experiments import EXPERIMENTS
from gankit.theory.divergences import js, kl, wasserstein1

QUICK = os.environ.get("GANKIT_DOCS_QUICK") == "1"  # the site's CI build: smaller runs
OUT = Path(tempfile.mkdtemp())  # every file this chapter writes goes here
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets



# %% [markdown]
# ## Three ways to compare distributions
#
# We use two 1-D Gaussians as $p$ and $q$, written on a fine grid of points. The functions
# of `gankit.theory.divergences` take arrays of weights (or samples) and compute each
# quantity exactly for them.
#
# The **Kullback-Leibler divergence** is the expected log ratio under $p$:
#
# $$\mathrm{KL}(p \,\|\, q) = \sum_i p_i \log \frac{p_i}{q_i}.$$
#
# For two Gaussians it has a closed form, so we can check gankit's number against it:
#
# $$\mathrm{KL}(p \,\|\, q) = \log\frac{\sigma_q}{\sigma_p}
# + \frac{\sigma_p^2 + (\mu_p - \mu_q)^2}{2\sigma_q^2} - \frac12.$$

# %%
x = np.linspace(-10, 14, 200_001)  # the grid: both densities are negligible outside it
p, q = stats.norm(4, 0.5), stats.norm(3, 1.0)  # p_data = gankit's gaussian-1d, and a p_g


def kl_gaussians(a, b):
    """Closed-form KL(a || b) for two scipy normal distributions."""
    return (math.log(b.std() / a.std())
            + (a.var() + (a.mean() - b.mean()) ** 2) / (2 * b.var()) - 0.5)


print(f"KL(p || q): gankit {kl(p.pdf(x), q.pdf(x)):.6f}, closed form {kl_gaussians(p, q):.6f}")
print(f"KL(q || p): gankit {kl(q.pdf(x), p.pdf(x)):.6f}, closed form {kl_gaussians(q, p):.6f}")

# %% [markdown]
# KL is not symmetric. $\mathrm{KL}(q \,\|\, p)$ is much larger here: the wide $q$ puts mass
# where the narrow $p$ has almost none, and KL punishes that heavily. If $q$ has mass where
# $p$ has exactly none, $\mathrm{KL}(q \,\|\, p) = \infty$.
#
# The **Jensen-Shannon divergence** compares both to their mixture $m = (p + q)/2$:
#
# $$\mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(q \,\|\, m).$$
#
# It is symmetric and always finite, between $0$ and $\log 2$.

# %%
m = (p.pdf(x) + q.pdf(x)) / 2
print(f"JS(p, q) = {js(p.pdf(x), q.pdf(x)):.6f}")
print(f"from its definition: {0.5 * kl(p.pdf(x), m) + 0.5 * kl(q.pdf(x), m):.6f}")
print(f"upper bound log 2 = {math.log(2):.6f}")

# %% [markdown]
# The **Wasserstein-1 distance** (earth mover's distance) is the least average distance
# mass has to travel to turn $p$ into $q$:
#
# $$W_1(p, q) = \inf_{\gamma \in \Pi(p, q)} \mathbb{E}_{(x, y) \sim \gamma} \lVert x - y \rVert.$$
#
# Shifting a distribution by $\delta$ moves every bit of mass by $\delta$, so
# $W_1(p, p + \delta) = |\delta|$. `wasserstein1` takes samples (here the grid points with
# the densities as weights).

# %%
shifted = stats.norm(4 + 1.5, 0.5)
distance = wasserstein1(x, x, x_weights=p.pdf(x), y_weights=shifted.pdf(x))
print(f"W1(p, p shifted by 1.5) = {distance:.6f}")

# %% [markdown]
# ## The optimal discriminator $D^*$
#
# The GAN of Goodfellow et al. (2014) plays the game
#
# $$V(G, D) = \mathbb{E}_{x \sim p_{data}}[\log D(x)] + \mathbb{E}_{x \sim p_g}[\log(1 - D(x))].$$
#
# $D$ maximizes it, $G$ minimizes it. For a fixed $G$, write the value as
# $\int p_{data}(x) \log D(x) + p_g(x) \log(1 - D(x))\,dx$ and maximize the integrand at each
# $x$ on its own. The function $y \mapsto a \log y + b \log(1 - y)$ peaks at $y = a / (a + b)$,
# so (Prop. 1 of the paper)
#
# $$D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}.$$
#
# gankit's `optimal-discriminator` experiment freezes a generator at $p_g = N(3, 1)$, trains
# only $D$ against $p_{data} = N(4, 0.5^2)$, and compares the trained $D$ with $D^*$. It writes
# a PNG and returns its figures.

# %%
figures = EXPERIMENTS["optimal-discriminator"](OUT, quick=QUICK)
print(f"mean |D - D*| where the densities matter: {figures['d_mean_abs_error']:.4f}")
print(f"V(G, D*) by quadrature:  {figures['v_optimal_d']:.6f}")
print(f"V(G, trained D):         {figures['v_trained_d']:.6f}  (never above V(G, D*))")
display(Image(filename=OUT / "optimal-discriminator.png"))

# %% [markdown]
# On the left the trained $D$ (blue dashes) lies on $D^*$ (red) wherever there is data to
# learn from; at the edges, where neither distribution puts mass, $D$ is free. On the right,
# the value on the training batches climbs to $V(G, D^*)$.

# %% [markdown]
# ## What the generator minimizes: $C(G) = -\log 4 + 2\,\mathrm{JS}$
#
# Put $D^*$ back into $V$. Both terms become KL divergences to the mixture
# $m = (p_{data} + p_g)/2$, each shifted by $-\log 2$:
#
# $$C(G) = \max_D V(G, D) = \mathbb{E}_{p_{data}}\Big[\log \frac{p_{data}}{p_{data} + p_g}\Big]
# + \mathbb{E}_{p_g}\Big[\log \frac{p_g}{p_{data} + p_g}\Big]
# = -\log 4 + 2\,\mathrm{JS}(p_{data} \,\|\, p_g).$$
#
# So training $G$ against a perfect $D$ minimizes JS. The minimum, $-\log 4$, is reached
# exactly when $p_g = p_{data}$ (Theorem 1). Below, the left side is integrated on the grid
# for generators $N(\mu_g, 0.5^2)$ at many $\mu_g$; the right side comes from gankit's `js`.

# %%
data_pdf = p.pdf(x)
dx = x[1] - x[0]
mus = np.linspace(0, 8, 81)
c_of_g, two_js = [], []
for mu_g in mus:
    g_pdf = stats.norm(mu_g, 0.5).pdf(x)
    total = data_pdf + g_pdf
    c_of_g.append(np.sum(data_pdf * np.log(data_pdf / total)
                         + g_pdf * np.log(g_pdf / total)) * dx)  # V(G, D*)
    two_js.append(-math.log(4) + 2 * js(data_pdf, g_pdf))
c_of_g, two_js = np.array(c_of_g), np.array(two_js)
print(f"largest |C(G) - (-log 4 + 2 JS)| over the sweep: {np.abs(c_of_g - two_js).max():.1e}")

fig, ax = plt.subplots(figsize=(5.6, 3.4))
ax.plot(mus, c_of_g, "C0", lw=4, alpha=0.4, label=r"$C(G) = V(G, D^*)$ (integrated)")
ax.plot(mus, two_js, "k--", lw=1.2, label=r"$-\log 4 + 2\,\mathrm{JS}$ (gankit's js)")
ax.axhline(-math.log(4), color="gray", ls=":", lw=1, label=r"$-\log 4$")
ax.axvline(4, color="C3", lw=0.8, label=r"$p_g = p_{data}$")
ax.set(xlabel=r"generator mean $\mu_g$ ($p_g = N(\mu_g, 0.5^2)$)", ylabel="nats")
ax.legend(fontsize=8, loc="center right")
plt.show()

# %% [markdown]
# The two curves are one. Notice the flat shoulders: once $\mu_g$ is more than about two
# units from 4, the two Gaussians barely overlap, $\mathrm{JS} \approx \log 2$ and
# $C(G) \approx 0$. Moving $G$ a little changes almost nothing there. The next section takes
# this to its limit.

# %% [markdown]
# ## JS saturates, $W_1$ does not
#
# Arjovsky et al. (2017, Example 1) take $P_0 = U[0, 1]$ and $P_\theta = U[\theta, \theta + 1]$.
# For $\theta \ge 1$ the supports are disjoint. Then $D^*$ is 1 on one support and 0 on the
# other, and
#
# $$\mathrm{JS}(P_0, P_\theta) = \log 2 \quad\text{for every } \theta \ge 1,
# \qquad W_1(P_0, P_\theta) = \theta.$$
#
# A generator that follows JS gets no signal to move closer; one that follows $W_1$ does.
# gankit's `js-saturation` experiment sweeps $\theta$ from 3 down to 0.

# %%
figures = EXPERIMENTS["js-saturation"](OUT, quick=QUICK)
print(f"max |JS - log 2| over the disjoint thetas: {figures['js_max_dev_from_log2_disjoint']:.1e}")
print(f"max |W1 - theta| over all thetas:          {figures['w1_max_error']:.1e}")
display(Image(filename=OUT / "js-saturation.png"))

# %% [markdown]
# In the grey region JS (red) is a flat line at $\log 2$, while $W_1$ (blue) falls in a
# straight line as $\theta$ shrinks. Once the supports overlap ($\theta < 1$), JS drops to
# $\theta \log 2$.
#
# In high dimensions, real images and early generated ones live on thin sets that rarely
# overlap, so this is the usual case, not a corner case. The next chapter shows what it does
# to the generator's gradient, and the Wasserstein chapter trains on $W_1$ instead.

# %% [markdown]
# ## Try it yourself
#
# Each experiment writes `NAME.png` and `NAME.json` under `--out`; `--quick` runs the small
# version this page runs in CI.
#
# ```bash
# gankit experiment list
# gankit experiment optimal-discriminator --quick --out runs/experiments
# gankit experiment js-saturation --quick --out runs/experiments
# ```
#
# In Python, `gankit.theory.divergences` gives `kl`, `js` and `wasserstein1` on any arrays:
# try two Gaussians with different widths and see how KL's asymmetry grows.
