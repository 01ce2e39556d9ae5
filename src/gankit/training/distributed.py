"""Data-parallel training under ``torchrun``: N processes, one model replica each.

How gankit splits the work, and why it differs from wrapping each network in
``DistributedDataParallel``:

- Every process draws the *global* batch (data, latents, penalty interpolation) from the same
  seeded stream and keeps its 1/N shard of it (:func:`shard`). The global batch of a step is
  then the same whatever N is, so a run gives the same result on 1 or N processes up to float
  rounding, and a checkpoint resumes exactly with another process count. Over a step the
  processes see disjoint shards of one batch drawn from the whole data set.
- Gradients are averaged over processes after ``backward()`` (:func:`average_gradients`, one
  flattened all-reduce per optimizer, as DDP's buckets do). DDP's hooks assume one forward and
  one backward per step of a fixed set of parameters; a GAN step runs D several times per
  backward (real, fake, the gradient-penalty interpolates, whose double backward DDP does not
  support) and switches which network is trained between phases.
- Layers that look at the whole batch (batch norm, minibatch discrimination / stddev) see the
  process's shard; on CUDA batch norm is converted to SyncBatchNorm (which needs GPUs).

Launch: ``torchrun --nproc_per_node=N -m gankit train CONFIG`` (gloo on CPU, nccl on CUDA; each
process uses ``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from gankit.errors import GankitError

COLLECTIVE_TIMEOUT = timedelta(hours=2)


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: str) -> str:
    """Join the process group torchrun describes in the environment (if any, and not joined
    yet); returns the device this process trains on (``cuda`` becomes ``cuda:LOCAL_RANK``)."""
    if not launched_by_torchrun():
        return device
    cuda = device.startswith("cuda")
    if not dist.is_initialized():
        # rank 0 evaluates snapshots (minutes with InceptionV3) while the others wait in the
        # next collective: give that wait more than the default 10 minutes of NCCL
        dist.init_process_group("nccl" if cuda else "gloo", timeout=COLLECTIVE_TIMEOUT)
    if cuda:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    return device


def world() -> tuple[int, int]:
    """(rank, number of processes); (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def check_batch(batch_size: int, size: int, multiple: int = 1, why: str = "") -> None:
    """Every process's shard must hold whole groups of ``multiple`` examples (a recipe's
    :attr:`~gankit.recipes.base.Recipe.batch_multiple`, e.g. PacGAN's packs), named by ``why``."""
    if batch_size % (size * multiple):
        what = f" times {why} ({size} x {multiple})" if multiple > 1 else f" ({size})"
        raise GankitError(f"data.batch_size ({batch_size}) must be a multiple of the number of "
                          f"processes{what}")


def shard_rows(n: int, rank: int, size: int) -> tuple[int, int]:
    """The rows [start, stop) of a global batch of n that process ``rank`` of ``size`` keeps:
    its 1/size share, in rank order (a streamed data set reads only these)."""
    share = n // size
    return rank * share, (rank + 1) * share


def shard(x: Tensor, rank: int, size: int) -> Tensor:
    """This process's 1/size share of the first axis of x (:func:`shard_rows`)."""
    if size == 1:
        return x
    start, stop = shard_rows(x.shape[0], rank, size)
    return x[start:stop]


def gather(x: Tensor, size: int) -> Tensor:
    """The inverse of :func:`shard`: every process's share of x, concatenated in rank order,
    on every process (the global batch that one process would hold)."""
    if size == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def shard_batch(batch: dict[str, Tensor], rank: int, size: int) -> dict[str, Tensor]:
    """:func:`shard` of every tensor of a named batch (the same rows of each)."""
    return {key: shard(value, rank, size) for key, value in batch.items()}


def average_gradients(params: Iterable[nn.Parameter], size: int) -> None:
    """Replace every gradient by its mean over the processes (missing gradients count as 0)."""
    params = list(params)
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= size
    for p, g in zip(params, _unflatten_dense_tensors(flat, grads), strict=True):
        p.grad = g.view_as(p) if p.grad is None else p.grad.copy_(g)


def average(values: dict[str, Tensor], size: int) -> dict[str, Tensor]:
    """Means over the processes of scalar tensors (logged losses), in one all-reduce."""
    if size == 1 or not values:
        return values
    stacked = torch.stack([v.float() for v in values.values()])
    dist.all_reduce(stacked)
    return dict(zip(values, stacked / size, strict=True))


def broadcast_state(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process."""
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=0)


def sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Batch norm over the global batch on CUDA; on CPU (gloo) statistics stay per process."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return module


def shutdown() -> None:
    """Leave the process group (at the end of a command run under torchrun)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
