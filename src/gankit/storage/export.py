"""Write a trained generator alone, z [N, ...] -> x [N, ...] (a translation run's G, a [N, ...]
-> b [N, ...]), for use outside gankit.

Three formats (``EXPORT_FORMATS``, a registry: a format of one's own is a function registered
there, see docs/extending.md), each one file, G in eval mode on the CPU in float32:

- ``state_dict``: G's weights as a safetensors file, to load into gankit or your own copy of the
  network (``G.load_state_dict(safetensors.torch.load_file(path))``). Loading executes no code
  (no pickle), the same rule as our checkpoints; the network's definition is not in the file.
- ``torchscript``: G traced at an example latent and saved with ``torch.jit.save``, to run from
  C++/libtorch or ``torch.jit.load`` with no gankit or Python source. ``torch.jit`` is deprecated
  in favour of ``torch.export`` but it is still what libtorch loads; its deprecation warnings
  are silenced here.
- ``onnx``: the graph for other runtimes (onnxruntime, TensorRT, the browser), input ``"z"``,
  output ``"x"``, a dynamic batch axis. Needs the ``onnx`` and ``onnxscript`` packages (torch's
  ``torch.export``-based exporter; the TorchScript-based one is deprecated).

Every file carries the same metadata (safetensors header, TorchScript extra file
``gankit.json``, ONNX ``metadata_props``): the gankit version, which network (``G`` or the
weight average ``G_ema``) and the latent and output shapes without the batch axis, as JSON lists
(``gankit export`` adds the ``run``, the ``checkpoint`` folder and ``step`` it read);
for a generator with codes also ``latent_layout``, where the noise and each code (a class
one-hot, InfoGAN's codes) lie in z (:meth:`gankit.models.latent_layout.LatentLayout.describe`).

    export_generator(run.recipe, "onnx", Path("g.onnx"), ema=True)
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

from gankit import __version__
from gankit.errors import GankitError
from gankit.recipes.base import Recipe
from gankit.registry import Registry
from gankit.storage.files import check_output, replace_atomically

# (G in eval mode on the CPU, an example input [2, ...], the file to write, the metadata) -> None;
# ``requires``: the packages a format imports, checked before any work.
Writer = Callable[[nn.Module, Tensor, Path, dict[str, str]], None]
EXPORT_FORMATS: Registry[Writer] = Registry("export format", package="gankit.storage.export",
                                            group="gankit.export_formats")
METADATA_FILE = "gankit.json"  # the TorchScript extra file with the metadata


def generator_of(recipe: Recipe, ema: bool = False) -> nn.Module:
    """The recipe's generator network: ``nets["G"]``, or the weight average ``nets["G_ema"]``
    with ``ema`` (kept when the run trains with ``train.g_ema`` > 0)."""
    name = "G_ema" if ema else "G"
    if name in recipe.nets:
        return recipe.nets[name]
    if ema:
        raise GankitError("this run keeps no weight average G_ema to export (it was trained "
                          "with train.g_ema = 0); leave out --ema, or train with train.g_ema > 0")
    raise GankitError(f"recipe {type(recipe).__name__} has no generator network 'G' "
                      f"(networks: {', '.join(recipe.nets)})")


def export_generator(recipe: Recipe, fmt: str, out: str | Path, ema: bool = False,
                     overwrite: bool = False, source: dict[str, str] | None = None) -> Path:
    """Write the recipe's generator (``G_ema`` with ``ema``) in format ``fmt`` to exactly
    ``out`` (parent directories created; written whole or not at all, a device or pipe in place:
    :func:`~gankit.storage.files.replace_atomically`). An ``out`` that cannot be written (a
    folder, a parent that is a file, an existing file without ``overwrite``) is refused before
    any work (:func:`~gankit.storage.files.check_output`). The recipe is not changed.
    ``source``: text fields added to the metadata, such as the ``checkpoint`` and ``step`` it
    was exported from (``gankit export``). Returns ``out``."""
    write = EXPORT_FORMATS[fmt]  # an unknown format: one line naming the known ones
    out = check_output(out, "file", overwrite)
    # before any work, so that a missing package is the one line the user sees
    _require(fmt, EXPORT_FORMATS.facts(fmt).get("requires", ()))
    G = standalone(generator_of(recipe, ema))
    # Two latents, not one: torch.export would specialize a batch of size 1 into the graph.
    z = recipe.example_input(2, torch.Generator()).float()  # [2, ...] on the CPU
    with torch.no_grad():
        x = G(z)  # [2, ...]
    # a translator's input is an image of domain A, a generator's a latent
    given = "input_shape" if recipe.translates else "latent_shape"
    metadata = {"gankit_version": __version__, "network": "G_ema" if ema else "G",
                given: json.dumps(list(z.shape[1:])),
                "output_shape": json.dumps(list(x.shape[1:])), **(source or {})}
    if recipe.layout is not None and recipe.layout.conditional:  # where the codes lie in z
        metadata["latent_layout"] = json.dumps(recipe.layout.describe())
    with replace_atomically(out) as tmp, _quiet_torch():
        write(G, z, tmp, metadata)
    return out


def standalone(G: nn.Module) -> nn.Module:
    """A copy of G in eval mode, on the CPU, float32 weights in contiguous memory, no grads."""
    G = copy.deepcopy(G).to(device="cpu", dtype=torch.float32,
                            memory_format=torch.contiguous_format)
    return G.eval().requires_grad_(False)


@EXPORT_FORMATS.register("state_dict")
def write_state_dict(G: nn.Module, z: Tensor, path: Path, metadata: dict[str, str]) -> None:
    """G's weights as a safetensors file (no pickle; the network's code is not in it)."""
    from safetensors.torch import save

    # save() to bytes, not save_file(): that one creates the file readable by its owner only.
    path.write_bytes(save({k: v.contiguous() for k, v in G.state_dict().items()}, metadata))


@EXPORT_FORMATS.register("torchscript")
def write_torchscript(G: nn.Module, z: Tensor, path: Path, metadata: dict[str, str]) -> None:
    """G traced for libtorch and torch.jit.load, runnable without gankit or Python source."""
    traced = torch.jit.trace(G, z)  # the trace re-runs G at z and checks the outputs agree
    # Saved to bytes, then written: torch's own file writer aborts the process on a pipe.
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={METADATA_FILE: json.dumps(metadata)})
    path.write_bytes(buffer.getbuffer())


@EXPORT_FORMATS.register("onnx", requires=("onnx", "onnxscript"))
def write_onnx(G: nn.Module, z: Tensor, path: Path, metadata: dict[str, str]) -> None:
    """G's graph for other runtimes (onnxruntime, TensorRT, the browser), needing the onnx
    package."""
    program = torch.onnx.export(
        G, (z,), input_names=["z"], output_names=["x"],
        dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, verbose=False)
    program.model.metadata_props.update(metadata)
    # One self-contained file: the exporter's default puts the weights in a "<file>.data" sidecar.
    program.save(path, external_data=False)


def _require(fmt: str, packages: tuple[str, ...]) -> None:
    """The packages a format's writer imports lazily, deep in its work (torch's ONNX exporter
    imports onnx and onnxscript), checked first."""
    for package in packages:
        try:
            importlib.import_module(package)
        except ImportError:
            raise GankitError(f"{fmt} export needs the {package} package, which is not "
                              f"installed: pip install {' '.join(packages)}") from None


@contextlib.contextmanager
def _quiet_torch() -> Iterator[None]:
    """Silence torch's notices about its own API (deprecations of torch.jit, the ONNX exporter's
    "torchvision is not installed" log lines); UserWarnings such as TracerWarning still show."""
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        onnx_log.setLevel(level)
