"""Generator export: each format reloaded with its own loader (safetensors into a freshly built G,
torch.jit.load, onnxruntime) gives the run's outputs at fixed latents; ``ema`` picks the weight
average; bad input is one clear line and writes nothing."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import gankit
from conftest import tiny_dict
from gankit.errors import GankitError
from gankit.models import GENERATORS, build_part
from gankit.storage.export import EXPORT_FORMATS, METADATA_FILE, export_generator, generator_of

# Both runs keep a weight average (beta small, so three steps move it well away from G). The
# image run trains in bf16 with channels-last weights: the export must still be plain float32.
RUNS = {
    "toy": tiny_dict(train={"steps": 3, "g_ema": 0.5}),
    "images": ("digits8", ["model.latent_dim=8", "model.g_hidden=8", "model.d_hidden=8",
                           "data.batch_size=16", "data.n_eval=64", "train.steps=3",
                           "train.g_ema=0.5", "train.precision=bf16",
                           "train.channels_last=true"]),
}


@pytest.fixture(scope="module", params=list(RUNS))
def trained(request):
    spec = RUNS[request.param]
    config, overrides = (spec, None) if isinstance(spec, dict) else spec
    run = gankit.build(config, overrides, snapshots=False, progress=False)
    run.fit()
    return run


def latents(run, n: int = 5):
    """Fixed latents; 5 of them, not the 2 the export traces with, to test the batch axis."""
    return run.recipe.latent(n, torch.Generator().manual_seed(0))


def reference(run, z, ema: bool):
    """What the run itself computes at z: recipe.decode (G_ema here) or G, in eval mode."""
    recipe = run.recipe
    recipe.eval()
    try:
        with torch.no_grad():
            return recipe.decode(z) if ema else recipe.nets["G"](z)
    finally:
        recipe.train()


def reload_state_dict(run, path: Path):
    G = build_part(GENERATORS, run.config.model, "generator", run.data.shape)  # fresh weights
    G.load_state_dict(load_file(path))
    G.eval().requires_grad_(False)
    return G


def reload_torchscript(run, path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load is deprecated
        G = torch.jit.load(path)
    return lambda z: G(z).detach()


def reload_onnx(run, path: Path):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda z: torch.from_numpy(session.run(["x"], {"z": z.numpy()})[0])


RELOAD = {"state_dict": reload_state_dict, "torchscript": reload_torchscript,
          "onnx": reload_onnx}


def metadata_of(fmt: str, path: Path) -> dict[str, str]:
    if fmt == "state_dict":
        with safe_open(path, "pt") as f:
            return f.metadata()
    if fmt == "torchscript":
        files = {METADATA_FILE: ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.load(path, _extra_files=files)
        return json.loads(files[METADATA_FILE])
    onnx = pytest.importorskip("onnx")
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.mark.parametrize("ema", [False, True], ids=["G", "G_ema"])
@pytest.mark.parametrize("fmt", EXPORT_FORMATS.names())
def test_reloaded_export_gives_the_runs_outputs(trained, fmt, ema, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    out = tmp_path / "nested" / "dir" / f"g.{fmt}"
    assert export_generator(trained.recipe, fmt, out, ema=ema) == out
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # one file, no sidecar or temp
    G = RELOAD[fmt](trained, out)
    for z in (latents(trained), latents(trained, 1)):
        x = G(z)
        assert x.dtype == torch.float32 and x.shape == (len(z), *trained.data.shape)
        torch.testing.assert_close(x, reference(trained, z, ema), atol=1e-5, rtol=1e-5)
    meta = metadata_of(fmt, out)
    assert meta["network"] == ("G_ema" if ema else "G")
    assert json.loads(meta["latent_shape"]) == [trained.config.model.latent_dim]
    assert json.loads(meta["output_shape"]) == list(trained.data.shape)
    assert meta["gankit_version"] == gankit.__version__


def test_ema_exports_the_weight_average_and_leaves_the_run_as_it_was(trained, tmp_path):
    recipe = trained.recipe
    before = {k: v.clone() for k, v in recipe.nets.state_dict().items()}
    G = reload_state_dict(trained, export_generator(recipe, "state_dict", tmp_path / "g"))
    G_ema = reload_state_dict(trained, export_generator(recipe, "state_dict", tmp_path / "e",
                                                        ema=True))
    z = latents(trained)
    # Ten times the tolerance of the reload comparisons, so those tell G and G_ema apart.
    assert (G(z) - G_ema(z)).abs().max() > 1e-4
    assert generator_of(recipe, ema=True) is recipe.nets["G_ema"]
    assert generator_of(recipe) is recipe.nets["G"]
    assert all(m.training for m in recipe.modules())  # the export worked on a copy
    after = recipe.nets.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_ema_without_a_weight_average_names_train_g_ema(make_run, tmp_path):
    run = make_run()  # train.g_ema = 0
    with pytest.raises(GankitError, match=r"no weight average G_ema.*train\.g_ema > 0"):
        generator_of(run.recipe, ema=True)
    with pytest.raises(GankitError, match="train.g_ema"):
        export_generator(run.recipe, "state_dict", tmp_path / "g", ema=True)
    assert not list(tmp_path.iterdir())


def test_unknown_format_names_the_value_and_the_known_ones(make_run, tmp_path):
    with pytest.raises(GankitError,
                       match=r"unknown export format 'pickle'; known: onnx, state_dict, "
                             r"torchscript$"):
        export_generator(make_run().recipe, "pickle", tmp_path / "g")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("package", ["onnx", "onnxscript"])
def test_onnx_without_its_packages_is_one_line_naming_them(make_run, tmp_path, monkeypatch,
                                                           package):
    monkeypatch.setitem(sys.modules, package, None)  # `import package` now raises ImportError
    with pytest.raises(GankitError) as error:
        export_generator(make_run().recipe, "onnx", tmp_path / "g.onnx")
    message = str(error.value)
    assert "\n" not in message and f"needs the {package} package" in message
    assert message.endswith("pip install onnx onnxscript")
    assert not list(tmp_path.iterdir())


def test_a_failed_export_leaves_an_existing_file_and_no_temporary(make_run, tmp_path,
                                                                  monkeypatch):
    def failing_writer(G, z, path, metadata):
        path.write_bytes(b"half a file")
        raise RuntimeError("disk full")

    monkeypatch.setitem(EXPORT_FORMATS._entries, "state_dict", failing_writer)
    out = tmp_path / "g.safetensors"
    out.write_bytes(b"the earlier export")
    with pytest.raises(RuntimeError, match="disk full"):
        export_generator(make_run().recipe, "state_dict", out, overwrite=True)
    assert out.read_bytes() == b"the earlier export"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
