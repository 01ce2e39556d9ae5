"""Memory a run will need, checked before it is allocated: one line naming the config key and the
bytes, instead of an allocator's traceback (``DefaultCPUAllocator: can't allocate memory``).

Each figure is a lower bound of what PyTorch will allocate, so that a config is refused only
when it cannot fit; measured peaks of a training step were 1.0-2.0x the estimate (8 configs:
MLPs, DCGANs, minibatch discrimination, WGAN-GP, packing; tests/test_memory.py checks two).

- **state**: every parameter and buffer once, plus each trained parameter's gradient and
  optimizer moments (Adam: 2, RMSprop: 1). Counted on a copy of the recipe built on the meta
  device (shapes, no storage) *before* the real networks exist, so ``model.latent_dim=10^12``
  allocates nothing.
- **a training step**: the global batch of data and latents (every process draws the whole
  batch, :mod:`gankit.training.distributed`), the generated batch, and what autograd saves for
  backward
  in a forward pass of G and of D, read by ``saved_tensors_hooks`` while the real networks run
  1, 2 and 3 examples; the bytes are fitted exactly by c + a k + b k^2 (minibatch
  discrimination compares every pair) and extrapolated to the batch. The D phase keeps D's
  graph of a real and a generated batch, the G phase G's and D's: a step holds at least
  D + max(D, G). Backward buffers and penalties' double backward come on top, uncounted.
- **samples**: ``Run.sample(n)`` holds n latents and the decoded samples twice (the chunks and
  their concatenation); G's activations are bounded by its decoding chunk and not counted.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from itertools import chain
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec, Field
from gankit.errors import ConfigError, GankitError
from gankit.models.base import packed_shape
from gankit.training.hardware import available_memory, choose_precision

if TYPE_CHECKING:
    from gankit.recipes.base import Recipe

RecipeBuilder = Callable[[Config, DataSpec], "Recipe"]

FLOAT_BYTES = 4  # float32: the dtype of latents, samples and the probes' inputs
MOMENTS = {"adam": 2, "rmsprop": 1}  # optimizer state per trained parameter (exp_avg, exp_avg_sq)
# Config keys that size the networks, and the smallest value each takes: the key named in a
# refusal is the one whose smallest value would save the most.
SIZE_KEYS = {"latent_dim": 1, "g_hidden": 1, "d_hidden": 1, "g_depth": 1, "d_depth": 1,
             "minibatch_discrimination": 0, "pack": 1}
SMALLEST_IMAGE = 8  # px: a size every model family takes (DCGAN's smallest)
PROBE_SIZES = (1, 2, 3)  # examples per probe forward: three points fit the quadratic exactly


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB': binary units, as allocators and ``free -h`` report them."""
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} PiB"


@dataclasses.dataclass(frozen=True)
class StepMemory:
    """The bytes of one training step on one process, by what holds them."""

    state: int  # weights, buffers, gradients and optimizer moments
    batch: int  # the global batch of data and latents
    activations: int  # what the forward passes of the D and G phases keep for backward

    @property
    def total(self) -> int:
        return self.state + self.batch + self.activations


def state_bytes(recipe: nn.Module, optimizer: str) -> int:
    """Every parameter and buffer once; each trained one (``requires_grad``; G_ema's are not)
    again for its gradient and for each optimizer moment."""
    copies = 2 + MOMENTS[optimizer]
    total = sum(t.numel() * t.element_size() for t in recipe.buffers())
    for p in recipe.parameters():
        total += p.numel() * p.element_size() * (copies if p.requires_grad else 1)
    return total


def check_weights(config: Config, spec: DataSpec, build: RecipeBuilder) -> None:
    """Refuse, in one line, networks whose training state cannot fit on ``train.device``,
    measured on a meta-device build of ``build(config, spec)`` before the real one."""
    device = torch.device(config.train.device)
    if (available := _available(device)) is None:
        return
    if (recipe := _meta_build(config, spec, build)) is None:
        return
    need = state_bytes(recipe, config.train.optimizer)
    if need <= available:
        return
    name, largest = max(recipe.named_parameters(), key=lambda item: item[1].numel())
    moments = "Adam moments" if config.train.optimizer == "adam" else "RMSprop averages"
    raise ConfigError(f"{_culprit(config, spec, build, need)} would need {format_bytes(need)} "
                      f"for weights, gradients and {moments} (the largest tensor: "
                      f"{name.removeprefix('nets.')} {list(largest.shape)}); "
                      f"{_where(device)} has {format_bytes(available)} available")


def estimate_step(config: Config, spec: DataSpec, recipe: Recipe) -> StepMemory:
    """:class:`StepMemory` of a training step of the built ``recipe`` at ``data.batch_size``."""
    local = config.data.batch_size // int(os.environ.get("WORLD_SIZE", "1"))  # on this process
    generator = torch.Generator().manual_seed(0)  # the probes' own: the run's stream is untouched
    example = sum(math.prod(f.shape) * f.dtype.itemsize for f in spec.fields.values())
    # every process draws the global batch of data and latents, then keeps its shard
    batch = config.data.batch_size * (example + _latent_bytes(recipe, generator))
    activations = _activations(config, spec, recipe, local // config.model.pack, generator)
    return StepMemory(state_bytes(recipe, config.train.optimizer), batch, activations)


def _activations(config: Config, spec: DataSpec, recipe: Recipe, k: int,
                 generator: torch.Generator) -> int:
    """What the forward passes of a step keep for backward at k (packed) examples of D: the D
    phase keeps D's graph of a real and a generated batch (and G's, where a phase records it
    for the next: ``train.reuse_fake``), the G phase G's and D's; both hold the generated
    batch. 0 for a recipe without networks "G" and "D" or with networks the probes cannot run.

    The probes are made on the run's device, where the networks are: a probe on another device
    would fail like a researcher's module that the probes cannot run, and count 0 bytes, so a
    network on another device is an error instead."""
    if not {"G", "D"} <= set(recipe.nets):
        return 0
    pack, g, d = config.model.pack, recipe.nets["G"], recipe.nets["D"]
    device = torch.empty(0, device=config.train.device).device  # "cuda" -> cuda:0, as tensors
    for name, net in (("G", g), ("D", d)):
        _check_device(name, net, device)
    # latents from the probes' own CPU stream (a stream on any device), then moved
    g_fit = _fit(lambda n: _saved_bytes(g, recipe.latent(n * pack, generator).to(device)))
    d_fit = _fit(lambda n: _saved_bytes(
        d, torch.zeros(n, *packed_shape(spec.shape, pack), device=device)))
    if g_fit is None or d_fit is None:
        return 0
    g_bytes, d_bytes = _at(g_fit, k), _at(d_fit, k)
    keeps_g = any("G" in phase.records_graph_of for phase in recipe.phases())
    fake = k * pack * math.prod(spec.shape) * FLOAT_BYTES
    total = fake + d_bytes + max(d_bytes + keeps_g * g_bytes, g_bytes)
    # the probes run in float32; bf16 autocast (the trainer's choice, gankit.training.hardware) may
    # keep
    # 2 bytes a value: halved, the figure stays a lower bound
    bf16 = choose_precision(config.train.precision, torch.device(config.train.device))
    return int(total / 2 if bf16.precision == "bf16" else total)


def check_step(config: Config, spec: DataSpec, recipe: Recipe) -> None:
    """Refuse, in one line, a training step that cannot fit on ``train.device``; run after the
    networks are built, before the trainer allocates its optimizer state or draws a batch."""
    device = torch.device(config.train.device)
    if (available := _available(device)) is None:
        return
    step = estimate_step(config, spec, recipe)
    if step.total > available:
        raise ConfigError(f"data.batch_size={config.data.batch_size} would need "
                          f"{format_bytes(step.total)} for a training step (activations "
                          f"{format_bytes(step.activations)}, the batch of data and latents "
                          f"{format_bytes(step.batch)}, weights and optimizer state "
                          f"{format_bytes(step.state)}); {_where(device)} has "
                          f"{format_bytes(available)} available")


def check_samples(n: int, latent_width: int, shape: tuple[int, ...],
                  device: torch.device) -> None:
    """Refuse, in one line, ``n`` samples whose latents (``latent_width`` floats each, on
    ``device``) and samples (on the CPU, twice: the decoded chunks and their concatenation)
    cannot fit."""
    cpu = torch.device("cpu")
    needs = {cpu: 2 * n * math.prod(shape) * FLOAT_BYTES}
    needs[device] = needs.get(device, 0) + n * latent_width * FLOAT_BYTES
    for where, need in needs.items():
        available = _available(where)
        if available is not None and need > available:
            raise ConfigError(f"number of samples n={n} would need {format_bytes(need)} for "
                              f"the latents and samples; {_where(where)} has "
                              f"{format_bytes(available)} available")


def _available(device: torch.device) -> int | None:
    """Bytes this process may use on ``device``; None for a CUDA device this machine lacks
    (the trainer refuses it with its own line). CPU processes of one torchrun share the
    machine's memory."""
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        return None
    available = available_memory(device)
    if device.type == "cpu":
        available //= int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return available


def _where(device: torch.device) -> str:
    return "this machine" if device.type == "cpu" else str(device)


def _meta_build(config: Config, spec: DataSpec, build: RecipeBuilder) -> Recipe | None:
    """The recipe with shapes and no storage; None where it cannot be built on the meta device
    (a researcher's factory that loads weights or computes with real values): then the real
    build goes ahead unchecked, and raises whatever error the config has."""
    try:
        with torch.device("meta"):
            return build(config, spec)
    except Exception:  # anything a researcher's factory may raise
        return None


def _culprit(config: Config, spec: DataSpec, build: RecipeBuilder, need: int) -> str:
    """``key=value`` of the size key whose smallest value saves the most state bytes (meta
    rebuilds, only on the way to a refusal)."""
    smaller: dict[str, tuple[Config, DataSpec]] = {}
    for name, smallest in SIZE_KEYS.items():
        if (value := getattr(config.model, name)) != smallest:
            model = dataclasses.replace(config.model, **{name: smallest})
            smaller[f"model.{name}={value}"] = dataclasses.replace(config, model=model), spec
    if config.data.image_size > SMALLEST_IMAGE and len(spec.shape) == 3 and "x" in spec.fields:
        side = Field((spec.shape[0], SMALLEST_IMAGE, SMALLEST_IMAGE), spec.fields["x"].dtype)
        smaller[f"data.image_size={config.data.image_size}"] = (
            config, dataclasses.replace(spec, fields={**spec.fields, "x": side}))
    savings = {}
    for key, (other_config, other_spec) in smaller.items():
        if (recipe := _meta_build(other_config, other_spec, build)) is not None:
            savings[key] = need - state_bytes(recipe, config.train.optimizer)
    if not savings or max(savings.values()) <= 0:
        return "the networks"  # a researcher's own, which no size key changes
    return max(savings, key=savings.__getitem__)


def _check_device(name: str, net: nn.Module, device: torch.device) -> None:
    """Refuse to measure a network whose weights are not on the run's ``device``."""
    first = next(chain(net.parameters(), net.buffers()), None)
    if first is not None and first.device != device:
        raise GankitError(f"memory check: network {name} is on {first.device}, the run's device "
                          f"is {device}, so its activations cannot be measured")


def _saved_bytes(net: nn.Module, x: Tensor) -> int:
    """Bytes of the tensors autograd saves for the backward of ``net(x)``: what a training step
    holds from its forward until its backward. Parameters, buffers and x are counted elsewhere,
    and a storage that several saved tensors share (a ReLU's output is the next layer's input)
    once. In eval mode, so that nothing about the net changes (batch norm's running
    statistics, spectral norm's u); the graph is dropped unused."""
    counted = {t.untyped_storage().data_ptr() for t in chain(net.parameters(), net.buffers(), [x])}
    total = 0

    def pack(t: Tensor) -> Tensor:
        nonlocal total
        storage = t.untyped_storage()
        if storage.data_ptr() not in counted:
            counted.add(storage.data_ptr())
            total += storage.nbytes()
        return t

    was_training = net.training
    net.eval()
    try:
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            net(x)
    finally:
        net.train(was_training)
    return total


def _fit(probe: Callable[[int], int]) -> tuple[float, float, float] | None:
    """(c, a, b) with probe(k) = c + a k + b k^2 at k = 1, 2, 3; None where a network does not
    run on such probes (a researcher's module with its own input conventions: the real step
    will tell)."""
    try:
        f1, f2, f3 = (probe(k) for k in PROBE_SIZES)
    except Exception:  # anything a researcher's module may raise
        return None
    b = (f3 - 2 * f2 + f1) / 2
    a = f2 - f1 - 3 * b
    return f1 - a - b, a, b


def _at(fit: tuple[float, float, float], k: int) -> float:
    c, a, b = fit
    return max(0.0, c + a * k + b * k * k)


def _latent_bytes(recipe: Recipe, generator: torch.Generator) -> int:
    """Bytes of one latent of the recipe's prior; 0 for a recipe without one."""
    try:
        z = recipe.latent(1, generator)
    except GankitError:  # a recipe with no unconditional generator (Recipe.latent)
        return 0
    return z.numel() * z.element_size()
