"""What this machine runs natively, and the training precision that follows from it.

bfloat16 autocast is a large win where the hardware computes it (CPUs with AVX-512 BF16 or AMX,
GPUs since Ampere) and a large loss where it is emulated: on an AVX2-only CPU a bf16 matmul ran
at 0.9 GFLOP/s against 45.6 in fp32, and a DCGAN step 10-16x slower. ``train.precision: auto``
therefore picks bf16 only where it is native:

- CUDA: ``torch.cuda.is_bf16_supported()``.
- CPU: oneDNN must report bf16 support (``torch.ops.mkldnn._is_mkldnn_bf16_supported()``), and a
  short probe (a few small matmuls, ~50 ms) must find bf16 at least as fast as fp32. The probe
  catches CPUs that report bf16 but run it slowly, and processes that cap oneDNN's instruction
  set (``ONEDNN_MAX_CPU_ISA=AVX2``).

Every benchmark records :func:`describe` with its figures, since ratios differ between CPUs.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass

import torch

from gankit.errors import GankitError
from gankit.training import distributed

# bf16 must be at least this fast relative to fp32 in the probe to count as native; emulated
# bf16 is 10-50x slower, native 1.3-3x faster, so the threshold is far from both.
_NATIVE_SPEEDUP = 1.0


@dataclass(frozen=True)
class PrecisionChoice:
    precision: str  # "fp32" or "bf16": what the trainer runs
    requested: str  # what train.precision said
    reason: str  # one line for the log and the run directory
    emulated: bool = False  # bf16 was forced on hardware that emulates it: worth a warning

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return torch.bfloat16 if self.precision == "bf16" else None


def cpu_model() -> str:
    """The CPU's marketing name (``lscpu``'s Model name), or the platform's best guess."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def onednn_bf16_supported() -> bool:
    """oneDNN's own verdict on native bf16 (AVX-512 BF16 / AMX) for this process."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.lru_cache(maxsize=1)
def cpu_bf16_speedup(size: int = 256, repeats: int = 20) -> float:
    """fp32 time / bf16 time of ``repeats`` [size x size] matmuls on this CPU (> 1: bf16 faster).

    Each is warmed up once and timed at its best of three, so a busy machine does not decide.
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)

    def best(x: torch.Tensor, y: torch.Tensor) -> float:
        torch.mm(x, y)  # warm-up: kernel selection, page faults
        times = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(repeats):
                torch.mm(x, y)
            times.append(time.perf_counter() - start)
        return min(times)

    return best(a, b) / best(a.bfloat16(), b.bfloat16())


def bf16_supported(device: torch.device) -> tuple[bool, str]:
    """Whether ``device`` has bf16 arithmetic at all (the driver's or oneDNN's verdict, no
    timing), with the evidence as a phrase."""
    if device.type == "cuda":
        supported = torch.cuda.is_bf16_supported()
        return supported, f"torch.cuda.is_bf16_supported() is {supported}"
    if device.type != "cpu":
        return False, f"no bf16 check for device type {device.type!r}"
    if not onednn_bf16_supported():
        return False, "oneDNN reports no native bf16 on this CPU"
    return True, "oneDNN reports native bf16"


def bf16_native(device: torch.device) -> tuple[bool, str]:
    """Whether ``device`` computes bf16 natively, with the evidence as a phrase: supported
    (:func:`bf16_supported`) and, on a CPU, at least as fast as fp32 in a probe."""
    supported, evidence = bf16_supported(device)
    if not supported or device.type != "cpu":
        return supported, evidence
    speedup = cpu_bf16_speedup()
    if speedup < _NATIVE_SPEEDUP:
        return False, f"oneDNN reports bf16, but a probe ran it {1 / speedup:.1f}x slower than fp32"
    return True, f"oneDNN reports native bf16; a probe ran it {speedup:.1f}x faster than fp32"


def choose_precision(requested: str, device: torch.device) -> PrecisionChoice:
    """The precision to train in: ``auto`` follows :func:`bf16_native`; an explicit ``bf16`` on
    hardware that emulates it is kept, with the measured slowdown in ``reason`` (the caller
    warns); ``fp32`` is kept as asked."""
    if requested == "fp32":
        return PrecisionChoice("fp32", requested, "fp32 as configured")
    native, evidence = bf16_native(device)
    if requested == "auto":
        return PrecisionChoice("bf16" if native else "fp32", requested, f"auto: {evidence}")
    if native:
        return PrecisionChoice("bf16", requested, f"bf16 as configured ({evidence})")
    slowdown = ""
    if device.type == "cpu":
        slowdown = f"; a probe ran bf16 {1 / cpu_bf16_speedup():.1f}x slower than fp32"
    return PrecisionChoice("bf16", requested, f"train.precision is bf16, but this hardware "
                           f"emulates it ({evidence}{slowdown}); train.precision=auto would use "
                           f"fp32", emulated=True)


def resumed_precision(choice: PrecisionChoice, recorded: str,
                      device: torch.device) -> PrecisionChoice:
    """The precision a run resumed from a checkpoint that trained in ``recorded`` continues in,
    given this start's ``choice``: under ``auto`` the checkpoint's, unless this hardware has no
    bf16 at all (then fp32, and ``reason`` says so; the timing probe is not consulted, so that
    a busy machine cannot switch a run's precision); an explicit ``train.precision`` is the
    config's, as ``choice`` has it."""
    if choice.requested != "auto" or recorded == choice.precision:
        return choice
    if recorded == "fp32":
        return PrecisionChoice("fp32", "auto", "auto: fp32, as the checkpoint trained")
    supported, evidence = bf16_supported(device)
    if supported:
        return PrecisionChoice("bf16", "auto", f"auto: bf16, as the checkpoint trained "
                                               f"({evidence})")
    return PrecisionChoice("fp32", "auto", f"auto: this hardware lacks bf16 ({evidence})")


def training_device(name: str) -> torch.device:
    """``train.device`` as a device this machine has (one error line where it has not)."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GankitError(f"train.device is {name!r} but CUDA is not available")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise GankitError(f"train.device is {name!r} but this machine has "
                          f"{torch.cuda.device_count()} CUDA device(s)")
    return device


def announce_precision(choice: PrecisionChoice, device: torch.device) -> dict[str, object]:
    """Say what precision runs and why (a warning where bf16 is emulated); returns the record
    for the run directory's ``hardware.json``."""
    if choice.emulated:
        warnings.warn(choice.reason, stacklevel=4)
    else:
        # One write, newline included: print() writes the text and the newline apart, and
        # a signal between the two would glue the interrupt's line to this one.
        sys.stderr.write(f"gankit: precision {choice.precision} ({choice.reason})\n")
    return {"precision": choice.precision, "precision_requested": choice.requested,
            "precision_reason": choice.reason, **describe(device)}


def agreed_precision(choice: PrecisionChoice, world_size: int,
                     device: torch.device) -> PrecisionChoice:
    """Under torchrun every process probes its own hardware; ``auto`` takes bf16 only if
    all of them found it native, so that the replicas compute alike. Collective: every
    process calls it."""
    if world_size == 1 or choice.requested != "auto":
        return choice
    native = torch.tensor(float(choice.precision == "bf16"), device=device)
    if distributed.average({"bf16": native}, world_size)["bf16"].item() == 1.0:
        return choice
    return PrecisionChoice("fp32", "auto", "auto: not every process computes bf16 natively")


def available_memory(device: str | torch.device = "cpu") -> int:
    """Bytes ``device`` can allocate now: CUDA's free memory; on the CPU the kernel's estimate of
    what can be allocated without swapping (``MemAvailable``: free pages plus the page cache it
    can reclaim; free pages alone would refuse runs that fit), else the total physical memory,
    a looser bound that refuses only what could never fit. Container (cgroup) limits are not
    read: they can only lower the figure, so a run is never refused for them."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the kernel writes kB
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): nothing is refused
        return sys.maxsize


def describe(device: str | torch.device = "cpu") -> dict[str, object]:
    """The hardware facts a speed figure depends on, for benchmark results and run directories."""
    device = torch.device(device)
    facts: dict[str, object] = {
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_bf16": onednn_bf16_supported(),
        "threads": torch.get_num_threads(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
    }
    if device.type == "cuda" and torch.cuda.is_available():
        facts["gpu"] = torch.cuda.get_device_name(device)
        facts["cuda_bf16"] = torch.cuda.is_bf16_supported()
    return facts
