"""Adversarial losses against hand-computed values, at extreme logits, and the saturation point."""

import math

import pytest
import torch

from gankit.errors import ConfigError
from gankit.losses.adversarial import LOSSES, d_display

# Small batches written out by hand: r = D(x) on real data, f = D(G(z)) on fakes.
R = [2.0, -1.0, 0.5]
F = [-0.5, 3.0, 0.0]


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def bce_d(r, f):  # -E[log D(x)] - E[log(1 - D(G(z)))], Goodfellow et al. 2014, eq. 1
    return -mean(math.log(sigmoid(t)) for t in r) - mean(math.log(1 - sigmoid(t)) for t in f)


# name -> (D loss, G loss), each written from the papers' formulas in plain Python.
EXPECTED = {
    "minimax": (bce_d, lambda f: mean(math.log(1 - sigmoid(t)) for t in f)),
    "non-saturating": (bce_d, lambda f: -mean(math.log(sigmoid(t)) for t in f)),
    "wgan": (lambda r, f: mean(f) - mean(r), lambda f: -mean(f)),
    "wgan-gp": (lambda r, f: mean(f) - mean(r), lambda f: -mean(f)),
    "lsgan": (
        lambda r, f: 0.5 * mean((t - 1) ** 2 for t in r) + 0.5 * mean(t**2 for t in f),
        lambda f: 0.5 * mean((t - 1) ** 2 for t in f),
    ),
    "hinge": (
        lambda r, f: mean(max(0.0, 1 - t) for t in r) + mean(max(0.0, 1 + t) for t in f),
        lambda f: -mean(f),
    ),
}


def test_registry_holds_exactly_the_documented_losses():
    f_gan = [f"f-{name}" for name in F_NAMES]
    assert LOSSES.names() == sorted([*EXPECTED, *f_gan])


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        LOSSES["wgan_gp"]
    message = str(err.value)
    assert "'wgan_gp'" in message and "\n" not in message
    assert all(name in message for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_losses_match_hand_computed_values(name):
    spec = LOSSES[name]
    expected_d, expected_g = EXPECTED[name]
    r = torch.tensor(R, dtype=torch.float64)
    f = torch.tensor(F, dtype=torch.float64)
    assert spec.d_loss(r, f).item() == pytest.approx(expected_d(R, F), rel=1e-12, abs=1e-12)
    assert spec.g_loss(f).item() == pytest.approx(expected_g(F), rel=1e-12, abs=1e-12)
    assert spec.d_loss(r, f).shape == spec.g_loss(f).shape == ()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_losses_are_batch_means(name):
    """Invariance: repeating the batch changes nothing (a mean, not a sum)."""
    spec = LOSSES[name]
    r, f = torch.tensor(R), torch.tensor(F)
    torch.testing.assert_close(spec.d_loss(r.repeat(3), f.repeat(3)), spec.d_loss(r, f))
    torch.testing.assert_close(spec.g_loss(f.repeat(3)), spec.g_loss(f))


def test_bce_d_loss_at_zero_logits_is_2_log_2():
    """D = 1/2 everywhere: -log(1/2) - log(1/2) = 2 log 2, the value at D* when p_g = p_data."""
    zeros = torch.zeros(5)
    for name in ("minimax", "non-saturating"):
        assert LOSSES[name].d_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2), rel=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_extreme_logits_give_finite_losses_and_gradients(name, scale):
    spec = LOSSES[name]
    r = (scale * torch.tensor([1.0, -1.0, 0.3])).requires_grad_(True)
    f = (scale * torch.tensor([-1.0, 1.0, 0.7])).requires_grad_(True)
    d, g = spec.d_loss(r, f), spec.g_loss(f)
    assert torch.isfinite(d) and torch.isfinite(g)
    d_grads = torch.autograd.grad(d, (r, f))
    (g_grad,) = torch.autograd.grad(g, f)
    assert all(torch.isfinite(t).all() for t in (*d_grads, g_grad))


def test_bce_at_extreme_logits_equals_the_logit_itself():
    """softplus(t) = t + log(1 + e^-t) = t up to e^-t: -log(1 - sigmoid(1e4)) is 1e4, not inf."""
    big = torch.tensor([1e4])
    spec = LOSSES["non-saturating"]
    assert spec.d_loss(-big, big).item() == pytest.approx(2e4, rel=1e-9)  # D fully wrong
    assert spec.d_loss(big, -big).item() == pytest.approx(0.0, abs=1e-9)  # D fully right
    assert spec.g_loss(-big).item() == pytest.approx(1e4, rel=1e-9)


def _g_grad(name: str, logits: list[float]) -> torch.Tensor:
    f = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(LOSSES[name].g_loss(f), f)
    return grad


@pytest.mark.parametrize("logit", [-5.0, -10.0, -20.0, -50.0])
def test_minimax_g_gradient_saturates_where_non_saturating_does_not(logit):
    """Goodfellow et al. 2014, Sec. 3: when D rejects the fakes (D(G(z)) -> 0, logit -> -inf),
    log(1 - D(G(z))) has gradient sigmoid(f) / N -> 0, while -log D(G(z)) has -(1 - sigmoid(f)) / N
    -> -1 / N."""
    n = 4
    logits = [logit] * n
    minimax = _g_grad("minimax", logits)
    non_saturating = _g_grad("non-saturating", logits)
    # Closed forms: d/df of mean(log(1 - sigmoid(f))) is -sigmoid(f) / N per example.
    assert minimax.tolist() == pytest.approx([-sigmoid(logit) / n] * n, rel=1e-9)
    assert non_saturating.tolist() == pytest.approx([-(1 - sigmoid(logit)) / n] * n, rel=1e-9)
    assert minimax.abs().max().item() < math.exp(logit) / n * 1.0001  # vanishes like e^f
    assert non_saturating.tolist() == pytest.approx([-1 / n] * n, rel=1e-2)


def test_minimax_gradient_vanishes_monotonically_while_non_saturating_grows():
    logits = [0.0, -2.0, -5.0, -10.0, -30.0]
    minimax = [_g_grad("minimax", [t]).abs().item() for t in logits]
    non_saturating = [_g_grad("non-saturating", [t]).abs().item() for t in logits]
    assert minimax == sorted(minimax, reverse=True) and minimax[-1] < 1e-12
    assert non_saturating == sorted(non_saturating) and non_saturating[-1] == pytest.approx(1.0)
    # Both push the fake logit up (minimizing the G loss raises D(G(z))).
    assert all(_g_grad(name, [-1.0]).item() < 0 for name in ("minimax", "non-saturating"))


def test_paper_default_constraints():
    assert LOSSES["wgan"].default_clip == 0.01  # c in Arjovsky et al. 2017, Alg. 1
    assert LOSSES["wgan"].default_gp_weight == 0.0
    assert LOSSES["wgan-gp"].default_gp_weight == 10.0  # lambda in Gulrajani et al. 2017, Alg. 1
    assert LOSSES["wgan-gp"].default_clip == 0.0
    for name in ("minimax", "non-saturating", "lsgan", "hinge"):
        assert LOSSES[name].default_clip == LOSSES[name].default_gp_weight == 0.0


def test_d_display_applies_sigmoid_only_to_logit_losses():
    out = torch.tensor([-2.0, 0.0, 3.0])
    expected = torch.tensor([sigmoid(t) for t in out.tolist()])
    torch.testing.assert_close(d_display(out, LOSSES["non-saturating"]), expected)
    assert torch.equal(d_display(out, LOSSES["wgan-gp"]), out)
    assert [LOSSES[n].probabilistic for n in sorted(EXPECTED)] == [
        False, False, True, True, False, False  # hinge, lsgan, minimax, non-sat., wgan, wgan-gp
    ]


@pytest.mark.parametrize("label", [1.0, 0.9, 0.75])
def test_one_sided_label_smoothing_by_hand(label):
    """-(a log D(x) + (1 - a) log(1 - D(x))) - log(1 - D(G(z))), Salimans et al. 2016, Sec. 3.4."""
    from gankit.losses.adversarial import bce_d_loss

    d_real, d_fake = torch.tensor([1.5, -0.5]), torch.tensor([0.3, -2.0])

    def sig(t):
        return 1 / (1 + math.exp(-t))

    real = [-(label * math.log(sig(r)) + (1 - label) * math.log(1 - sig(r))) for r in d_real]
    fake = [-math.log(1 - sig(f)) for f in d_fake]
    expected = sum(real) / 2 + sum(fake) / 2
    assert bce_d_loss(d_real, d_fake, label).item() == pytest.approx(expected, rel=1e-6)


def test_feature_matching_by_hand():
    from gankit.losses.adversarial import feature_matching_loss

    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]], requires_grad=True)  # mean (1, 1)
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx(1.0 + 4.0)
    loss.backward()
    torch.testing.assert_close(fake.grad, torch.tensor([[-1.0, -2.0], [-1.0, -2.0]]))


def test_pull_away_term_against_a_double_loop():
    """Zhao et al. 2017, eq. 6, written as the paper's double sum."""
    from gankit.losses.adversarial import pull_away_term

    torch.manual_seed(0)
    s = torch.randn(5, 3)
    n = len(s)
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                total += (torch.dot(s[i], s[j]) / (s[i].norm() * s[j].norm())).item() ** 2
    assert pull_away_term(s).item() == pytest.approx(total / (n * (n - 1)), rel=1e-5)


def test_pull_away_term_is_invariant_to_rescaling_a_sample():
    from gankit.losses.adversarial import pull_away_term

    torch.manual_seed(1)
    s = torch.randn(6, 4)
    scaled = s.clone()
    scaled[2] *= 7.5
    scaled[4] *= 0.01
    assert pull_away_term(scaled).item() == pytest.approx(pull_away_term(s).item(), rel=1e-5)
    assert pull_away_term(torch.eye(3)).item() == pytest.approx(0.0, abs=1e-7)  # orthogonal
    assert pull_away_term(torch.ones(4, 2)).item() == pytest.approx(1.0)  # all alike


# --- f-GAN (Nowozin et al. 2016) ---------------------------------------------------------------

F_NAMES = ["kl", "reverse-kl", "pearson", "hellinger", "js", "gan"]


@pytest.mark.parametrize("name", F_NAMES)
def test_f_conjugate_satisfies_fenchel_young(name):
    """f*(f'(u)) = u f'(u) - f(u): the conjugate is the right one for f."""

    div = LOSSES[f"f-{name}"].divergence
    u = torch.tensor([0.2, 0.7, 1.0, 1.8, 4.0], dtype=torch.float64)
    t = div.f_prime(u)
    torch.testing.assert_close(div.conjugate(t), u * t - div.f(u))


@pytest.mark.parametrize("name", F_NAMES)
def test_f_stable_composition_equals_the_naive_one(name):

    div = LOSSES[f"f-{name}"].divergence
    v = torch.linspace(-3, 3, 13, dtype=torch.float64)
    torch.testing.assert_close(div.conjugate_of_activation(v), div.conjugate(div.activation(v)))


@pytest.mark.parametrize("name", F_NAMES)
def test_f_gan_bound_is_tight_at_the_optimal_critic(name):
    """With T*(x) = f'(p/q), E_P[T] - E_Q[f*(T)] equals D_f(P||Q) = sum q f(p/q) (eq. 4-6)."""

    div = LOSSES[f"f-{name}"].divergence
    p = torch.tensor([0.1, 0.4, 0.3, 0.2], dtype=torch.float64)
    q = torch.tensor([0.25, 0.25, 0.2, 0.3], dtype=torch.float64)
    t = div.f_prime(p / q)
    bound = (p * t).sum() - (q * div.conjugate(t)).sum()
    torch.testing.assert_close(bound, (q * div.f(p / q)).sum())
    if name == "kl":
        from gankit.theory.divergences import kl

        assert bound.item() == pytest.approx(kl(p.numpy(), q.numpy()), rel=1e-9)


def test_f_gan_gan_is_the_standard_discriminator_loss():
    d_real, d_fake = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.0, -0.3, 0.0])
    torch.testing.assert_close(LOSSES["f-gan"].d_loss(d_real, d_fake),
                               LOSSES["non-saturating"].d_loss(d_real, d_fake))


@pytest.mark.parametrize("name", F_NAMES)
def test_f_gan_losses_train_a_step(make_run, name):
    run = make_run(loss={"name": f"f-{name}"}, train={"steps": 2})
    run.fit()
    assert all(torch.isfinite(p).all() for p in run.recipe.parameters())
