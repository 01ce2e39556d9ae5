"""A training step against this machine's limit: the step's FLOP, the machine's peak rate, and
where the step's time goes.

- FLOP are counted with ``torch.utils.flop_counter.FlopCounterMode`` on a real step: matmuls and
  convolutions, forward and backward, 2 FLOP per multiply-add. Batch norm, activations, losses
  and the optimizer count nothing: they move memory, and the machine's limit is its multiply
  rate.
- The peak is what this machine's kernels reach on work shaped for them: a large square matmul
  and a large 3x3 convolution's forward + backward, timed at the step's dtype in the same
  process as the step. Both are timed in CPU seconds (``time.process_time``), so that their
  ratio holds on a machine whose cores other jobs share: the wall clock counts their turns.
- Where the time goes: a ``torch.profiler`` trace of a few steps (CPU), each operator's self
  time put in one of :data:`KINDS`; the wall time no operator covers (Python between operators,
  a ``DataLoader``'s collation in Python) is data/other.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

KINDS = ("conv/matmul", "batch norm", "elementwise/activations", "optimizer", "casts/copies",
         "data/other")
# aten::_convolution's own time is a transposed convolution's compute (oneDNN is called from it
# through a stub the profiler does not see); the other names are the kernels themselves.
_CONV_MATMUL = re.compile(r"conv|^(mm|addmm|bmm|baddbmm|matmul|linear)$")
_COPIES = {"copy_", "_to_copy", "to", "clone", "contiguous"}
# Drawing batches and latents, and the bookkeeping every operator pays (allocation, views).
_DATA_OTHER = {"index", "index_select", "randn", "normal_", "randint", "randperm", "uniform_",
               "multinomial", "random_", "empty", "empty_strided", "empty_like", "view",
               "_unsafe_view", "reshape", "as_strided", "as_strided_", "t", "transpose",
               "permute", "expand", "detach", "detach_", "alias", "unsqueeze", "squeeze",
               "flatten", "unflatten", "select", "slice", "resize_", "lift_fresh",
               "result_type", "set_", "item", "_local_scalar_dense"}

# The large problems the peak is measured on: a [2048 x 2048] matmul (17 GFLOP) and a 3x3
# convolution of 256 to 256 channels on 64 images of 16 x 16 (19.3 GFLOP forward; 58 forward
# and backward, as FlopCounterMode counts it).
PEAK_MATMUL_SIDE = 2048
PEAK_CONV = {"batch": 64, "channels": 256, "side": 16, "kernel": 3}


def counted_flop(fn: Callable[[], object]) -> int:
    """FLOP of one call of ``fn``, as ``FlopCounterMode`` counts them (matmuls and
    convolutions, forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def cpu_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of ``repeats`` calls of ``fn`` after one warm-up call (kernel choice, page
    faults), in this process's CPU seconds: on a machine shared with other jobs the wall clock
    also counts the time the scheduler gives them, the CPU clock only this process's work."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def peak_rates(dtype: torch.dtype) -> dict[str, float]:
    """GFLOP per CPU second of the large matmul and of the large convolution's forward +
    backward at ``dtype``, each at its best of three, with FLOP counted as the step's are."""
    generator = torch.Generator().manual_seed(0)
    side = PEAK_MATMUL_SIDE
    a = torch.randn(side, side, generator=generator).to(dtype)
    b = torch.randn(side, side, generator=generator).to(dtype)
    c, s, k = PEAK_CONV["channels"], PEAK_CONV["side"], PEAK_CONV["kernel"]
    x = torch.randn(PEAK_CONV["batch"], c, s, s, generator=generator).to(dtype)
    w = (torch.randn(c, c, k, k, generator=generator) / (c * k * k) ** 0.5).to(dtype)
    x.requires_grad_(True)
    w.requires_grad_(True)

    def conv() -> None:
        y = F.conv2d(x, w, padding=k // 2)
        y.backward(torch.ones_like(y))
        x.grad = w.grad = None

    rates = {}
    for name, fn in {"matmul": lambda: torch.mm(a, b), "conv": conv}.items():
        rates[name] = counted_flop(fn) / cpu_seconds(fn) / 1e9
    return rates


def kind_of(name: str, ancestors: Iterable[str] = ()) -> str:
    """The kind of work (one of :data:`KINDS`) of a profiler event called ``name`` inside the
    events ``ancestors``: anything under ``Optimizer.step`` / ``Optimizer.zero_grad`` is the
    optimizer's; events that are not aten operators (the autograd engine, its nodes) are
    framework bookkeeping, data/other."""
    if any(each.startswith("Optimizer.") for each in (name, *ancestors)):
        return "optimizer"
    if not name.startswith("aten::"):
        return "data/other"
    op = name.removeprefix("aten::")
    if _CONV_MATMUL.search(op):
        return "conv/matmul"
    if "batch_norm" in op:
        return "batch norm"
    if op in _COPIES:
        return "casts/copies"
    if op in _DATA_OTHER:
        return "data/other"
    return "elementwise/activations"


def time_shares(step: Callable[[], object], steps: int) -> dict[str, object]:
    """Profile ``steps`` calls of ``step`` (CPU) and return the wall and CPU milliseconds per
    step under the profiler and each kind's share of the wall time (:data:`KINDS`, summing to
    1). The profiler times operators by the wall clock; where other jobs take turns on the core,
    their turns fall on the operators in proportion to their length, so the shares hold."""
    with profile(activities=[ProfilerActivity.CPU]) as trace:
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        wall_us = (time.perf_counter() - start) * 1e6
        cpu_ms = (time.process_time() - cpu) * 1e3
    spent = dict.fromkeys(KINDS, 0.0)
    for event in trace.events():
        ancestors, parent = [], event.cpu_parent
        while parent is not None:
            ancestors.append(parent.name)
            parent = parent.cpu_parent
        spent[kind_of(event.name, ancestors)] += event.self_cpu_time_total
    spent["data/other"] += max(0.0, wall_us - sum(spent.values()))  # Python between operators
    total = sum(spent.values())
    return {"step_ms": total / steps / 1e3, "step_cpu_ms": cpu_ms / steps,
            "shares": {kind: us / total for kind, us in spent.items()}}


def median_rates(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The median of each rate over the rounds that measured it."""
    return {name: statistics.median(each[name] for each in rounds) for name in rounds[0]}
