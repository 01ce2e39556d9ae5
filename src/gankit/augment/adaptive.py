r"""What D sees: the configured augmentations, each applied to each image with probability p,
and ADA's control of p (Karras et al. 2020, "Training Generative Adversarial Networks with
Limited Data", Sec. 3).

Notation (ADA, Sec. 3): :math:`r_t = \mathbb E[\mathrm{sign}(D_{train})]`, the mean sign of D's
raw outputs on the real images it trains on, is near 0 while D cannot tell real from generated
and near 1 when it has memorized the reals. Every ``ada_interval`` D steps,
:math:`p \leftarrow \mathrm{clip}_{[0,1]}(p + \mathrm{sign}(r_t - \text{target}) \cdot
\text{batch} \cdot \text{interval} / \text{speed})`, with r_t over those steps' batches and the
global batch (under torchrun r_t is averaged over the processes, so p stays the same in each).

p and the running sums are buffers: the module sits in the recipe's ``nets`` (as BEGAN's k_t
does), so a checkpoint carries them and a resume continues exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gankit.augment.diffaugment import AUGMENTATIONS, Augmentation, policy_names
from gankit.configuration.schema import AugmentConfig, Config
from gankit.errors import ConfigError
from gankit.training import distributed

if TYPE_CHECKING:
    from gankit.recipes.base import StepContext


# Losses whose D output is positive on what D takes for real and negative on what it takes for
# generated (a logit; hinge's margins at +-1), so that sign(D(x)) is D's verdict; a Wasserstein
# critic's level is arbitrary and least squares' boundary is 1/2.
SIGNED_LOSSES = ("minimax", "non-saturating", "hinge")


def check_augment(config: Config) -> None:
    """One line, before anything is built, for a policy naming an unknown augmentation, or for
    ADA's r_t on a loss whose D output has no sign that says real (:data:`SIGNED_LOSSES`)."""
    settings = config.augment
    if settings.policy:
        policy_names(settings.policy)
    if settings.ada and config.loss.name not in SIGNED_LOSSES:
        raise ConfigError(f"augment.ada steers p by r_t = E[sign(D(real))], which needs a D "
                          f"output whose sign is its verdict ({', '.join(SIGNED_LOSSES)}), got "
                          f"loss.name {config.loss.name!r}; set augment.ada: false or another loss")


class AugmentPipe(nn.Module):
    """The augmentations of ``augment.policy`` with probability p per image and augmentation.

    Each call draws, for the global batch, one coin and the augmentations' parameters per
    image from the run's generator (:meth:`StepContext.draw`, which keeps this process's shard):
    the same number of draws whatever p is, so p never shifts the run's random stream.
    """

    def __init__(self, settings: AugmentConfig) -> None:
        super().__init__()
        self.names = policy_names(settings.policy)
        self.augmentations: list[Augmentation] = [AUGMENTATIONS[name]() for name in self.names]
        self.width = sum(1 + a.draws for a in self.augmentations)  # a coin, then the draws
        self.ada = settings.ada
        self.target, self.interval, self.speed = (settings.ada_target, settings.ada_interval,
                                                  settings.ada_speed)
        self.register_buffer("p", torch.tensor(settings.start_p, dtype=torch.float64))
        if self.ada:
            self.register_buffer("sign_sum", torch.zeros((), dtype=torch.float64))
            self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
            self.register_buffer("r_t", torch.zeros((), dtype=torch.float64))  # the last r_t
        # ``steps`` on the host too, so that deciding when p moves never waits for the device
        # (a sync every D step on CUDA); set from the buffer when a checkpoint is loaded
        self.host_steps = 0

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        if self.ada:
            self.host_steps = int(self.steps)

    def extra_repr(self) -> str:
        return f"policy={','.join(self.names)}, ada={self.ada}"

    def forward(self, ctx: StepContext, *images: Tensor) -> tuple[Tensor, ...]:
        """``images`` (each [N, C, H, W], N this process's share) as D sees them, all by one
        draw: a pair (an input and its output) gets the same transformation."""
        n = len(images[0]) * ctx.world_size  # the global batch the draws are made for
        u = ctx.draw(lambda k, g: torch.rand(k, self.width, generator=g, device=ctx.device),
                     n)  # [N, width]
        p = self.p.to(u.dtype)
        column = 0
        for augmentation in self.augmentations:
            applied = (u[:, column] < p).reshape(-1, 1, 1, 1)  # [N, 1, 1, 1]
            draws = u[:, column + 1:column + 1 + augmentation.draws]
            # the draws stay float32 (bf16 would coarsen shifts and centres); x keeps its dtype
            images = tuple(torch.where(applied, augmentation.apply(x, draws).to(x.dtype), x)
                           for x in images)
            column += 1 + augmentation.draws
        return images

    @torch.no_grad()
    def observe(self, d_real: Tensor, ctx: StepContext) -> dict[str, Tensor]:
        """Record the signs of D's raw outputs on this D step's reals (any shape; each entry
        one verdict, a PatchGAN's per patch); every ``interval`` steps, move p (ADA, Sec. 3).
        The statistics to log: p and the last r_t; none without ``augment.ada``."""
        if not self.ada:
            return {}
        self.sign_sum += d_real.detach().float().sign().mean().double()
        self.steps += 1
        self.host_steps += 1
        if self.host_steps % self.interval == 0:
            local = {"r_t": self.sign_sum / self.interval}
            self.r_t.copy_(distributed.average(local, ctx.world_size)["r_t"].double())
            step = ctx.batch_size * self.interval / self.speed
            self.p.copy_((self.p + torch.sign(self.r_t - self.target) * step).clamp(0, 1))
            self.sign_sum.zero_()
        return {"augment_p": self.p.float().clone(), "ada_r_t": self.r_t.float().clone()}
