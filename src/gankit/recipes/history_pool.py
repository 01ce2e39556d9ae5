"""The history of generated images that CycleGAN's discriminators are shown (Shrivastava et al.
2017, Sec. 2.3; Zhu et al. 2017, Sec. 4): D sees, half the time, an image G made earlier
instead of the newest, so it keeps rejecting what G has left behind and G cannot oscillate back
to it.

The reference code's rule, image by image: while the pool holds fewer than ``size`` images,
store the new one and show it; once full, with probability 1/2 show a stored image chosen
uniformly and store the new one in its place, else show the new one. The pool lives in buffers
(:class:`HistoryPool` is a module of the recipe's ``nets``), so checkpoints save it and resume
stays bit-exact, and its draws come from the run's generator. Under torchrun every process
gathers the global batch of new images, runs the same pool on it and keeps its own share, so
the pools of all processes are one pool, the one a single process would hold (rank 0's
checkpoint is every process's).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.recipes.base import StepContext
from gankit.training.distributed import gather, shard


class HistoryPool(nn.Module):
    """Up to ``size`` earlier images of shape ``shape``; ``size`` 0 shows every image as is."""

    def __init__(self, size: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    @torch.no_grad()
    def query(self, images: Tensor, ctx: StepContext) -> Tensor:
        """The images [N, ...] D is shown for this process's share of a batch of new ones
        (detached). Draws a coin and an index per image of the global batch every call, used or
        not, so the stream is the same whether the pool is full or not.

        The rule is sequential (an image may show, or overwrite, what an earlier image of the
        same batch stored), but it is computed for the whole batch at once on the device, so a
        query reads nothing back to the host: image i writes slot ``w_i`` (its filling position,
        its drawn slot if it swaps, none otherwise), a swapping image shows the latest earlier
        write to its slot or else the pool's image there, and each slot ends with its last
        write."""
        if self.size == 0:
            return images.detach()
        images = gather(images.detach(), ctx.world_size)  # the global batch, on every process
        n, device = len(images), images.device
        coins = torch.rand(n, generator=ctx.rng, device=ctx.device)  # [n]
        slots = torch.randint(self.size, (n,), generator=ctx.rng, device=ctx.device)
        order = torch.arange(n, device=device)
        position = self.count + order  # [n] the pool's count before each image
        filling = position < self.size
        swaps = ~filling & (coins > 0.5)
        never = torch.full_like(slots, -1)
        writes = torch.where(filling, position, torch.where(swaps, slots, never))  # [n]
        # earlier[i, j]: image j < i wrote the slot image i draws; the latest j is the one shown
        earlier = (writes[None, :] == slots[:, None]) & (order[None, :] < order[:, None])
        latest = torch.where(earlier, order[None, :], -1).amax(dim=1)  # [n], -1: none
        from_batch = images[latest.clamp(min=0)]
        from_pool = self.images[slots].to(images.dtype)
        older = torch.where(_per_image(latest >= 0, images), from_batch, from_pool)
        shown = torch.where(_per_image(swaps, images), older, images)
        # last[t]: the last image that wrote slot t (-1: none), [size]
        wrote = writes[None, :] == torch.arange(self.size, device=device)[:, None]
        last = torch.where(wrote, order[None, :], -1).amax(dim=1)
        stored = images[last.clamp(min=0)].to(self.images.dtype)
        self.images.copy_(torch.where(_per_image(last >= 0, stored), stored, self.images))
        self.count.copy_((self.count + n).clamp(max=self.size))
        return shard(shown, ctx.rank, ctx.world_size)


def _per_image(mask: Tensor, like: Tensor) -> Tensor:
    """A mask [N] shaped to broadcast over images [N, ...]."""
    return mask.reshape(-1, *[1] * (like.dim() - 1))
