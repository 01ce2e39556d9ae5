"""WGAN-GP's gradient penalty against closed forms and an independent per-example computation."""

import pytest
import torch
from torch import nn

from gankit.losses.penalties import gradient_penalty


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("w", [[3.0, 4.0], [0.6, 0.8], [0.1, -0.2], [0.0, 2.0]])
def test_linear_critic_penalty_is_norm_of_w_minus_one_squared(w):
    """D(x) = w.x has gradient w everywhere, so the penalty is (||w|| - 1)^2 whatever eps is."""
    w = torch.tensor(w, dtype=torch.float64)
    real, fake = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    expected = (w.norm().item() - 1) ** 2
    assert gradient_penalty(lambda x: x @ w, real, fake, seeded()).item() == pytest.approx(
        expected, rel=1e-12, abs=1e-12
    )


def test_norm_is_taken_over_all_of_an_example():
    """Image-shaped inputs [N, C, H, W]: the gradient norm is over C*H*W, not per channel."""
    w = torch.full((2, 3, 3), 0.5, dtype=torch.float64)  # ||w|| = 0.5 * sqrt(18)
    real = torch.randn(5, 2, 3, 3, dtype=torch.float64)
    fake = torch.randn(5, 2, 3, 3, dtype=torch.float64)
    penalty = gradient_penalty(lambda x: (x * w).flatten(1).sum(1), real, fake, seeded())
    assert penalty.item() == pytest.approx((0.5 * 18**0.5 - 1) ** 2, rel=1e-12)


def test_eps_is_one_uniform_draw_per_example_from_the_given_generator():
    """A critic that records x_hat: x_hat = eps x + (1 - eps) x~ with eps of shape [N, 1, 1]."""
    n = 64
    real = torch.ones(n, 3, 4)
    fake = torch.zeros(n, 3, 4)
    seen = []

    def critic(x):
        seen.append(x.detach().clone())
        return x.flatten(1).sum(1)

    gradient_penalty(critic, real, fake, seeded(7))
    (x_hat,) = seen
    eps = x_hat[:, :1, :1]  # [N, 1, 1]: with real = 1 and fake = 0, x_hat is eps itself
    assert torch.equal(x_hat, eps.expand_as(x_hat)), "eps varies inside an example"
    assert eps.unique().numel() == n, "examples share an eps"
    # The very draw the generator makes: torch.rand([N, 1, 1]).
    torch.testing.assert_close(eps, torch.rand(n, 1, 1, generator=seeded(7)), rtol=0, atol=1e-7)
    assert 0 <= eps.min() and eps.max() < 1


def test_quadratic_critic_matches_closed_form_with_the_same_eps():
    """D(x) = 1/2 ||x||^2 has gradient x_hat, whose norm depends on where x_hat lies."""
    n, d = 32, 3
    real = torch.randn(n, d, dtype=torch.float64, generator=seeded(1))
    fake = torch.randn(n, d, dtype=torch.float64, generator=seeded(2))
    eps = torch.rand(n, 1, dtype=torch.float64, generator=seeded(3))
    x_hat = eps * real + (1 - eps) * fake
    expected = ((x_hat.norm(dim=1) - 1) ** 2).mean()
    penalty = gradient_penalty(lambda x: 0.5 * (x**2).sum(1), real, fake, seeded(3))
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-12)
    # One shared eps for the whole batch would give a different number.
    shared = eps[:1].expand(n, 1)
    x_shared = shared * real + (1 - shared) * fake
    assert expected.item() != pytest.approx(((x_shared.norm(dim=1) - 1) ** 2).mean().item())


def test_mlp_critic_matches_an_independent_per_example_autograd():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    real = torch.randn(10, 2, dtype=torch.float64)
    fake = torch.randn(10, 2, dtype=torch.float64)
    eps = torch.rand(10, 1, dtype=torch.float64, generator=seeded(5))
    terms = []
    for i in range(10):  # one example at a time: no batch mixing to hide a wrong reduction
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x[None]).sum(), x)
        terms.append((grad.norm() - 1) ** 2)
    expected = torch.stack(terms).mean()
    penalty = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake, seeded(5))
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-10)


def test_penalty_trains_the_critic_create_graph():
    """d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: the penalty trains D's weights.

    (create_graph=True in the penalty's autograd.grad is what makes this second derivative exist.)
    """
    w = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    real, fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    penalty = gradient_penalty(lambda x: x @ w, real, fake, seeded())
    (grad,) = torch.autograd.grad(penalty, w)
    expected = 2 * (5.0 - 1) * torch.tensor([3.0, 4.0], dtype=torch.float64) / 5.0
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-12)


def test_penalty_does_not_reach_the_generator():
    """Real and fake enter detached: the penalty regularizes D only."""
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    fake = torch.randn(4, 2, requires_grad=True)
    gradient_penalty(lambda x: (x * w).sum(1), torch.randn(4, 2), fake, seeded()).backward()
    assert fake.grad is None and w.grad is not None


def test_penalty_is_invariant_to_a_constant_shift_of_the_critic():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 8), nn.Softplus(), nn.Linear(8, 1))
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    base = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake, seeded(9))
    shifted = gradient_penalty(lambda x: critic(x).squeeze(1) + 123.0, real, fake, seeded(9))
    assert shifted.item() == pytest.approx(base.item(), rel=1e-6)


def test_without_a_generator_the_global_seed_decides():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    draws = []
    for _ in range(2):
        torch.manual_seed(42)
        draws.append(gradient_penalty(lambda x: critic(x).squeeze(1), real, fake))
    assert torch.equal(draws[0], draws[1])


# --- R1 / R2 (Mescheder et al. 2018, eq. 9) ----------------------------------------------------


def test_zero_centred_penalty_of_a_linear_critic_is_its_squared_norm():
    from gankit.losses.penalties import gradient_norm_penalty

    w = torch.tensor([3.0, -4.0])
    x = torch.randn(16, 2)
    assert gradient_norm_penalty(lambda v: v @ w, x).item() == pytest.approx(25.0, rel=1e-6)


def test_zero_centred_penalty_matches_per_example_autograd():
    from gankit.losses.penalties import gradient_norm_penalty

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = torch.randn(6, 3)
    expected = []
    for row in x:  # one example at a time, no batching tricks
        point = row.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(point).sum(), point)
        expected.append(grad.pow(2).sum())
    penalty = gradient_norm_penalty(lambda v: net(v)[:, 0], x)
    assert penalty.item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)
    penalty.backward()  # create_graph: the penalty trains the critic
    assert net[0].weight.grad.abs().sum() > 0 and net[2].weight.grad.abs().sum() > 0


def test_zero_centred_penalty_of_a_quadratic_critic():
    from gankit.losses.penalties import gradient_norm_penalty

    x = torch.randn(10, 4)
    # D(x) = ||x||^2 has gradient 2x, so the penalty is E[4 ||x||^2].
    expected = (4 * x.pow(2).sum(1)).mean().item()
    assert gradient_norm_penalty(lambda v: v.pow(2).sum(1), x).item() == pytest.approx(
        expected, rel=1e-6)
