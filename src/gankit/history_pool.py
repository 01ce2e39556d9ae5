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

from gankit.distributed import gather, shard
from gankit.recipes.base import StepContext


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
        not, so the stream is the same whether the pool is full or not."""
        if self.size == 0:
            return images.detach()
        images = gather(images.detach(), ctx.world_size)  # the global batch, on every process
        n = len(images)
        coins = torch.rand(n, generator=ctx.generator, device=ctx.device).tolist()
        slots = torch.randint(self.size, (n,), generator=ctx.generator,
                              device=ctx.device).tolist()
        count, shown = int(self.count), []  # one host read of the count per batch
        for image, coin, slot in zip(images, coins, slots, strict=True):
            if count < self.size:  # filling: keep it and show it
                self.images[count] = image
                count += 1
                shown.append(image)
            elif coin > 0.5:  # show an older image, keep the new one in its place
                shown.append(self.images[slot].clone().to(images.dtype))
                self.images[slot] = image
            else:
                shown.append(image)
        self.count.fill_(count)
        return shard(torch.stack(shown), ctx.rank, ctx.world_size)
