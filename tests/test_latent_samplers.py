"""Latent samplers (gankit.sampling) against targets with known answers: with G the
identity the energy is over z directly, so MALA must reproduce a Gaussian's moments and a
mixture's weights, ULA's bias must follow its closed form, and the truncation trick must give
the truncated normal. Monte Carlo tolerances are a few standard errors at a fixed seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from gankit.errors import GankitError
from gankit.evaluation.latents import LatentSource
from gankit.models.base import DOutput
from gankit.sampling.energies import ddls_energy, meg_energy
from gankit.sampling.mcmc import langevin, mala, mala_log_acceptance, truncated_normal
from gankit.sampling.sources import LangevinLatents, MALALatents, TruncatedLatents

MEAN = torch.tensor([1.0, -2.0])
COV = torch.tensor([[2.0, 0.8], [0.8, 0.5]])  # eigenvalues 2.35 and 0.15: far from isotropic


def gaussian_energy(z: torch.Tensor) -> torch.Tensor:
    """-log N(z; MEAN, COV) up to a constant, [N]."""
    d = z - MEAN
    return 0.5 * ((d @ torch.linalg.inv(COV)) * d).sum(1)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_mala_matches_a_correlated_gaussians_moments_and_law():
    n = 10_000
    g = seeded()
    z, trace = mala(gaussian_energy, torch.randn(n, 2, generator=g), 400, 0.2, g)
    se_mean = torch.sqrt(torch.diag(COV) / n)
    assert torch.all((z.mean(0) - MEAN).abs() < 4 * se_mean)
    se_cov = torch.sqrt((torch.outer(torch.diag(COV), torch.diag(COV)) + COV ** 2) / n)
    assert torch.all((torch.cov(z.T) - COV).abs() < 4 * se_cov)
    exact = np.random.default_rng(0).multivariate_normal(MEAN.numpy(), COV.numpy(), n)
    for direction in ([1, 0], [0, 1], [1, 1], [1, -1]):  # the diagonals see the correlation
        assert stats.ks_2samp(z.numpy() @ direction, exact @ direction).pvalue > 1e-3
    assert 0.5 < trace.acceptance.mean() < 0.95


def test_mala_crosses_between_modes_to_the_mixture_weights():
    """Two modes 5 sd apart (the density between them is 4% of the minor peak); every chain
    starts in the minor mode, so the weights are reached only by crossing the barrier."""
    modes, sd, weights = torch.tensor([[-2.0, 0.0], [2.0, 0.0]]), 0.8, torch.tensor([0.25, 0.75])

    def mixture_energy(z):
        d2 = ((z[:, None, :] - modes[None]) ** 2).sum(-1)  # [N, K]
        return -torch.logsumexp(weights.log() - d2 / (2 * sd ** 2), dim=1)

    g = seeded()
    n = 4000
    z0 = modes[0] + sd * torch.randn(n, 2, generator=g)
    z, _ = mala(mixture_energy, z0, 600, 0.64, g)
    in_major = (z[:, 0] > 0).float().mean().item()
    assert in_major == pytest.approx(0.75, abs=0.03)  # 4.4 standard errors
    # the mixture's mean and covariance in closed form: (1, 0), and sd^2 I plus the spread of
    # the modes around the mean (4^2 w (1 - w) = 3 along x)
    mean = weights @ modes
    spread = (weights[:, None, None] * (modes - mean)[:, :, None] * (modes - mean)[:, None, :]
              ).sum(0)
    cov = sd ** 2 * torch.eye(2) + spread  # within-mode + between-mode covariance
    assert torch.allclose(z.mean(0), mean, atol=4 * (cov.diag() / n).sqrt().max())
    assert torch.allclose(torch.cov(z.T), cov, atol=0.12)  # x variance 3.64: about 4 s.e.
    # and a two-sample test against exact draws of the mixture, along each axis and diagonal
    rng = np.random.default_rng(1)
    exact = (modes.numpy()[rng.choice(2, n, p=weights.numpy())]
             + sd * rng.standard_normal((n, 2)))
    for direction in ([1, 0], [0, 1], [1, 1], [1, -1]):
        assert stats.ks_2samp(z.numpy() @ direction, exact @ direction).pvalue > 1e-3


def test_ula_variance_bias_follows_its_closed_form_and_shrinks_with_the_step():
    """On N(0, s^2) ULA is z' = (1 - eps/s^2) z + sqrt(2 eps) xi, whose stationary variance v
    solves v = (1 - eps/s^2)^2 v + 2 eps: v = s^2 / (1 - eps / (2 s^2))."""
    var, n = 2.0, 100_000
    errors = {}
    for eps in (0.2, 0.05):
        g = seeded()
        z0 = math.sqrt(var) * torch.randn(n, 1, generator=g)
        z, _ = langevin(lambda z: z[:, 0] ** 2 / (2 * var), z0, 150, eps, g)
        expected = var / (1 - eps / (2 * var))
        assert z.var().item() == pytest.approx(expected, abs=4 * expected * math.sqrt(2 / n))
        errors[eps] = z.var().item() - var
    assert errors[0.2] > 3 * errors[0.05] > 0  # 4.2 in closed form: the bias is O(eps)


def test_mala_accepts_every_proposal_on_a_flat_energy():
    g = seeded()
    z, trace = mala(lambda z: 0 * z.sum(1), torch.randn(500, 3, generator=g), 20, 0.7, g)
    assert torch.all(trace.acceptance == 1) and torch.all(trace.step_acceptance == 1)
    assert not torch.equal(z, torch.randn(500, 3, generator=seeded()))


def hand_log_alpha(z, zp, e, ep, grad, gradp, eps, squared=True):
    norm = (lambda v: (v ** 2).sum(1)) if squared else (lambda v: np.sqrt((v ** 2).sum(1)))
    log_q_forward = -norm(zp - z + eps * grad) / (4 * eps)
    log_q_backward = -norm(z - zp + eps * gradp) / (4 * eps)
    return -ep + e + log_q_backward - log_q_forward


def test_the_acceptance_ratio_is_the_hand_computed_one_with_a_squared_norm():
    rng = np.random.default_rng(3)
    z, zp, grad, gradp = (rng.normal(0, 2, (6, 3)) for _ in range(4))
    e, ep = rng.normal(0, 1, 6), rng.normal(0, 1, 6)
    ours = mala_log_acceptance(*(torch.tensor(a) for a in (z, zp, e, ep, grad, gradp)), 0.3)
    np.testing.assert_allclose(ours.numpy(), hand_log_alpha(z, zp, e, ep, grad, gradp, 0.3),
                               rtol=1e-10)
    unsquared = hand_log_alpha(z, zp, e, ep, grad, gradp, 0.3, squared=False)
    assert np.abs(ours.numpy() - unsquared).min() > 0.1  # the defect would not pass the above


def test_one_mala_step_accepts_where_the_hand_computed_test_says():
    n, eps = 2000, 0.4
    z0 = torch.randn(n, 2, generator=seeded(1))
    z1, trace = mala(gaussian_energy, z0, 1, eps, seeded(2))
    g = seeded(2)  # replay the step's draws in its order: the noise, then the uniforms
    xi, u = torch.randn(n, 2, generator=g), torch.rand(n, generator=g)
    precision, m = torch.linalg.inv(COV).double().numpy(), MEAN.double().numpy()
    z, xi, u = z0.double().numpy(), xi.double().numpy(), u.double().numpy()

    def energy_grad(x):
        return 0.5 * (((x - m) @ precision) * (x - m)).sum(1), (x - m) @ precision

    e, grad = energy_grad(z)
    zp = z - eps * grad + math.sqrt(2 * eps) * xi
    ep, gradp = energy_grad(zp)
    accept = u < np.exp(hand_log_alpha(z, zp, e, ep, grad, gradp, eps))
    assert 0.05 < accept.mean() < 0.95  # both outcomes are exercised
    np.testing.assert_allclose(z1.numpy(), np.where(accept[:, None], zp, z), atol=1e-5)
    np.testing.assert_array_equal(trace.acceptance.numpy(), accept.astype(np.float32))


def test_mala_leaves_the_target_invariant_at_a_large_step():
    """Started at exact N(0, 1) draws, MALA must stay there even at eps = 1, where ULA's
    variance would be 2; with the unsquared norm in log q the variance falls to about 0.78."""
    n = 20_000
    g = seeded()
    z, _ = mala(lambda z: 0.5 * z[:, 0] ** 2, torch.randn(n, 1, generator=g), 20, 1.0, g)
    assert z.var().item() == pytest.approx(1.0, abs=4 * math.sqrt(2 / n))
    assert abs(z.mean().item()) < 4 / math.sqrt(n)


@pytest.mark.parametrize("start", [3.0, 1e-3])  # too large (acceptance 3%), too small (100%)
def test_adaptation_moves_acceptance_to_the_target_during_burn_in_only(start):
    burn_in, target = 100, 0.57
    g = seeded()
    z0 = MEAN + torch.randn(2000, 2, generator=g) @ torch.linalg.cholesky(COV).T
    _, trace = mala(gaussian_energy, z0, 200, start, g, burn_in=burn_in, adapt=True,
                    target_acceptance=target)
    assert abs(trace.step_acceptance[0].item() - target) > 0.4
    assert len(set(trace.step_size[:burn_in].tolist())) > 50  # it moved during burn-in
    assert torch.all(trace.step_size[burn_in:] == trace.step_size[burn_in])  # then froze
    assert trace.acceptance.mean().item() == pytest.approx(target, abs=0.05)
    _, fixed = mala(gaussian_energy, z0, 200, start, seeded(), burn_in=burn_in)
    assert torch.all(fixed.step_size == start)  # no adaptation unless asked


def test_truncation_is_exact_and_fast_at_tiny_thresholds():
    """Redrawing until |z| <= t would take ~1 / t rounds (10^5 here: minutes); the inverse CDF
    takes one."""
    import time

    start = time.perf_counter()
    z = truncated_normal((2500, 64), 1e-5, seeded())
    assert time.perf_counter() - start < 5
    assert z.dtype == torch.float32 and z.abs().max() <= 1e-5
    # at a tiny threshold the truncated normal is nearly uniform on [-t, t]
    assert stats.kstest(z.flatten().double().numpy() / 1e-5, stats.uniform(-1, 2).cdf
                        ).pvalue > 1e-3
    far = truncated_normal((10_000,), 50.0, seeded())  # beyond the float64 CDF's tails
    assert torch.isfinite(far).all() and far.std().item() == pytest.approx(1, abs=0.03)


@pytest.mark.parametrize("threshold", [0.5, 2.0])
def test_truncation_resamples_to_the_truncated_normal_without_clamping(threshold):
    z = truncated_normal((20_000, 4), threshold, seeded())
    assert z.abs().max() <= threshold
    assert not torch.any(z.abs() == threshold)  # clamping would pile the tails here
    truncated = stats.truncnorm(-threshold, threshold)
    assert stats.kstest(z.flatten().numpy(), truncated.cdf).pvalue > 1e-3
    edge = z.abs() > 0.99 * threshold  # the last 1% of the range holds its own mass only
    assert edge.float().mean().item() == pytest.approx(
        2 * (truncated.cdf(threshold) - truncated.cdf(0.99 * threshold)), abs=3e-3)


def test_energies_are_the_formulas_with_the_prior_term_and_temperature():
    z = torch.randn(5, 3, generator=seeded())
    U = nn.Linear(3, 1)
    prior = 0.5 * (z ** 2).sum(1)
    with torch.no_grad():
        u = U(z)[:, 0]
        torch.testing.assert_close(meg_energy(nn.Identity(), U, 2.0)(z), u / 2 + prior)
        torch.testing.assert_close(ddls_energy(nn.Identity(), U, 4.0)(z), prior - u / 4)

        class Record(nn.Module):  # gankit's discriminators return a DOutput
            def forward(self, x):
                return DOutput(logits=U(x)[:, 0], features=x)

        torch.testing.assert_close(ddls_energy(nn.Identity(), Record())(z), prior - u)


def small_gan() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    D = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    D[0].bias.requires_grad_(False)  # a frozen parameter must stay frozen
    return G, D


class Prior:
    def draw(self, n, generator):
        return torch.randn(n, 2, generator=generator)


@pytest.mark.parametrize("make", [
    lambda energy: LangevinLatents(energy, Prior(), 10, 0.05),
    lambda energy: MALALatents(energy, Prior(), 10, 0.05, burn_in=5, adapt=True),
    lambda energy: TruncatedLatents((2,), 0.7),
])
def test_sources_are_deterministic_and_leave_the_networks_alone(make):
    G, D = small_gan()
    flags = [p.requires_grad for p in (*G.parameters(), *D.parameters())]
    source = make(ddls_energy(G, D, temperature=0.5))
    assert isinstance(source, LatentSource)
    global_rng = torch.get_rng_state()
    first = source.draw(64, seeded(7))
    assert torch.equal(first, source.draw(64, seeded(7)))
    assert not torch.equal(first, source.draw(64, seeded(8)))
    assert torch.equal(torch.get_rng_state(), global_rng)  # no global randomness
    assert all(p.grad is None for p in (*G.parameters(), *D.parameters()))
    assert [p.requires_grad for p in (*G.parameters(), *D.parameters())] == flags


def flat(z):
    return 0 * z.sum(1)


@pytest.mark.parametrize(("call", "names"), [
    (lambda: langevin(flat, torch.zeros(2, 2), 10, 0.0, seeded()), "step_size must be .* 0.0"),
    (lambda: mala(flat, torch.zeros(2, 2), 10, -0.1, seeded()), "step_size must be .* -0.1"),
    (lambda: mala(flat, torch.zeros(2, 2), 10, float("nan"), seeded()), "step_size .* nan"),
    (lambda: langevin(flat, torch.zeros(2, 2), 0, 0.1, seeded()), "steps must be .* 0"),
    (lambda: mala(flat, torch.zeros(2, 2), 0, 0.1, seeded()), "steps must be .* 0"),
    (lambda: mala(flat, torch.zeros(2, 2), 5, 0.1, seeded(), burn_in=5), "burn_in .* 5"),
    (lambda: mala(flat, torch.zeros(2, 2), 5, 0.1, seeded(), adapt=True), "adapt needs burn_in"),
    (lambda: mala(flat, torch.zeros(2, 2), 5, 0.1, seeded(), burn_in=1,
                  target_acceptance=1.0), "target_acceptance .* 1.0"),
    (lambda: meg_energy(nn.Identity(), nn.Identity(), 0.0), "temperature must be .* 0.0"),
    (lambda: ddls_energy(nn.Identity(), nn.Identity(), -1.0), "temperature must be .* -1.0"),
    (lambda: truncated_normal((3, 2), 0.0, seeded()), "threshold must be .* 0.0"),
    (lambda: TruncatedLatents((2,), -1.0), "threshold must be .* -1.0"),
    (lambda: MALALatents(flat, Prior(), 0, 0.1), "steps must be .* 0"),
    (lambda: LangevinLatents(flat, Prior(), 3, 0), "step_size must be .* 0"),
])
def test_bad_settings_are_one_line_errors_naming_the_value(call, names):
    with pytest.raises(GankitError, match=names) as caught:
        call()
    assert "\n" not in str(caught.value)
