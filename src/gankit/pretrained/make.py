"""Train one of the shipped generators again and pack it, in one command:

    python -m gankit.pretrained.make dcgan-mnist --into src/gankit/pretrained

trains ``gankit train CONFIG --set ...`` with the settings :data:`MODELS` records into
``--run`` (default ``runs/pretrained/NAME``), then writes ``NAME.safetensors`` and ``NAME.json``
into ``--into`` (:mod:`gankit.pretrained` says what they hold) and the run's final pictures into
``--pictures`` (the docs' sample grids). A ``--run`` already trained to its last step with
these settings is packed without training again; one trained otherwise is refused.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gankit import __version__
from gankit.errors import GankitError


@dataclass(frozen=True)
class Model:
    """How a shipped generator is trained: a shipped config and its ``--set`` overrides."""

    config: str
    overrides: tuple[str, ...]
    about: str
    # float16 halves an image generator's file, and its outputs move by less than a grey
    # level; a 2-D point's by up to 0.04, near the grid's mode width 0.05: float32 there
    storage: str = "float16"


# One thread, pictures and checkpoints at each quarter: how every shipped model was trained
# (the time they took on a shared CPU is in each record).
COMMON = ("train.threads=1", "train.plot_every=0.25", "train.checkpoint_every=0.25")
# Widths halved from the configs' (G's weights are what ships: the four stay far under 10 MB;
# D as narrow, for a CPU shared by many), and short runs; the digit models keep a weight
# average of G (train.g_ema, a half-life of ~140 steps), which is what samples.
DIGITS = ("model.g_hidden=32", "model.d_hidden=32", "train.steps=1500", "train.g_ema=0.995")
# The unconditional DCGAN needs longer than the conditional one to draw digits (FID 212 after
# 1,500 steps): D at the config's width and 4,000 steps, G's average ramped up (StyleGAN2-ADA).
DCGAN = ("model.g_hidden=32", "model.d_hidden=64", "train.steps=4000", "train.g_ema=0.999",
         "train.g_ema_rampup=0.05")
MODELS = {
    "dcgan-mnist": Model("mnist5k", DCGAN,
                         "DCGAN (Radford et al. 2016) on mnist5k's digits, 28x28"),
    "cgan-mnist": Model("mnist5k-cgan", DIGITS,
                        "class-conditional GAN (Mirza & Osindero 2014) on mnist5k: one digit "
                        "class asked for per sample"),
    "pix2pix-edges2digits": Model("edges2digits", ("model.g_hidden=16",),
                                  "pix2pix (Isola et al. 2017): a digit's edges to the digit, "
                                  "32x32"),
    "gan-grid25": Model("grid25", (),
                        "hinge-loss GAN on PacGAN's 25 Gaussians (the README demo)", "float32"),
}
DEFAULT_RUNS = Path("runs/pretrained")
PROBE = 64  # inputs at which the stored weights' outputs are compared with float32's


def overrides(name: str) -> list[str]:
    """The ``--set`` values ``name`` trains with."""
    return [*COMMON, *MODELS[name].overrides]


def command(name: str) -> str:
    """The one command that trains and packs ``name``, as the docs and its record show it."""
    return f"python -m gankit.pretrained.make {name} --into src/gankit/pretrained"


def train(name: str, run_dir: Path) -> None:
    """Train ``name`` into ``run_dir`` unless it holds that run finished already; a run of
    other settings, or one stopped early, is one line."""
    import gankit
    from gankit.configuration.resolve import build_config, load_config
    from gankit.configuration.yaml_io import read_yaml
    from gankit.training.choice import kept_steps

    wanted = load_config(MODELS[name].config, overrides(name)).to_dict()
    if not (run_dir / "config.yaml").is_file():
        gankit.build(MODELS[name].config, overrides(name), run_dir=run_dir).fit()
        return
    kept = build_config(read_yaml(run_dir / "config.yaml")).to_dict()  # tuples as wanted's
    differ = [f"{part}.{key}" for part, values in wanted.items() if isinstance(values, dict)
              for key, value in values.items() if kept.get(part, {}).get(key) != value]
    differ += [part for part, value in wanted.items()
               if not isinstance(value, dict) and kept.get(part) != value]
    if differ:
        raise GankitError(f"run {run_dir} was trained with other settings than {name}'s "
                          f"({', '.join(differ)}); give another --run")
    steps = kept_steps(run_dir)
    if not steps or steps[-1] != wanted["train"]["steps"]:
        raise GankitError(f"run {run_dir} stopped at step {steps[-1] if steps else 0} of "
                          f"{wanted['train']['steps']}: continue it with 'gankit train "
                          f"--resume {run_dir}'")


def pack(name: str, run_dir: Path, into: Path) -> dict[str, Any]:
    """Write ``NAME.safetensors`` (G's weights, stored as :attr:`Model.storage` says) and
    ``NAME.json`` from the finished run ``run_dir`` into ``into``; returns the record."""
    from safetensors.torch import save

    import gankit
    from gankit.configuration.yaml_io import read_yaml
    from gankit.storage.files import replace_atomically
    from gankit.training.runlog import read_json_or_none, write_json

    run = gankit.load(run_dir, ["train.device=cpu"], progress=False)
    nets = [net for net in ("G", "G_ema") if net in run.recipe.nets]
    state = {key: value.detach().contiguous()
             for key, value in run.recipe.nets[nets[-1]].state_dict().items()}
    dtype = getattr(torch, MODELS[name].storage)
    stored = {key: value.to(dtype) if value.is_floating_point() else value
              for key, value in state.items()}
    probe = run.recipe.example_input(PROBE, torch.Generator().manual_seed(0))
    before = _outputs(run, nets[-1], probe)
    for net in nets:  # as gankit.pretrained.load does: both hold what ships
        run.recipe.nets[net].load_state_dict(stored)
    difference = float((_outputs(run, nets[-1], probe) - before).abs().max())
    measured = {key: value for key, value in run.eval_record().items() if key != "checkpoint"}
    record = {
        "name": name, "about": MODELS[name].about, "command": command(name),
        "config_name": MODELS[name].config, "overrides": overrides(name),
        "network": nets[-1], "parameters": sum(v.numel() for v in state.values()),
        "storage": MODELS[name].storage, "storage_max_abs_diff": difference,
        "metrics": measured,  # of the weights that ship, as stored
        "metrics_fp32": read_json_or_none(run_dir / "eval.json"),  # the run's own, at its end
        "train_seconds": round(run.trainer.elapsed, 1),
        "gankit_version": __version__, "date": datetime.date.today().isoformat(),
        "hardware": read_json_or_none(run_dir / "hardware.json"),
        "config": read_yaml(run_dir / "config.yaml"),  # as it trained (loading set the CPU)
    }
    into.mkdir(parents=True, exist_ok=True)
    with replace_atomically(into / f"{name}.safetensors") as tmp:
        tmp.write_bytes(save(stored, {"gankit_version": __version__, "name": name,
                                    "network": nets[-1]}))
    write_json(into / f"{name}.json", record)
    return record


def _outputs(run: Any, net: str, inputs: Tensor) -> Tensor:
    """``net``'s outputs at ``inputs``, in eval mode and without gradients."""
    G = run.recipe.nets[net]
    training = G.training
    with torch.no_grad():
        G.eval()
        out = G(inputs).float()
    G.train(training)
    return out


def copy_pictures(run_dir: Path, name: str, folder: Path) -> list[Path]:
    """The run's pictures of its last snapshot (each picture folder's newest PNG) as
    ``folder/NAME-KIND.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for kind in sorted(p for p in run_dir.iterdir() if p.is_dir() and any(p.glob("*.png"))):
        newest = sorted(kind.glob("*.png"))[-1]
        copied.append(Path(shutil.copyfile(newest, folder / f"{name}-{kind.name}.png")))
    return copied


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gankit.pretrained.make",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(MODELS))
    parser.add_argument("--into", type=Path, required=True,
                        help="where NAME.safetensors and NAME.json go (src/gankit/pretrained)")
    parser.add_argument("--run", type=Path, help="the run directory (default runs/pretrained/NAME)")
    parser.add_argument("--pictures", type=Path,
                        help="a folder for the final sample pictures (docs/images/pretrained)")
    args = parser.parse_args(argv)
    for given in (args.into, args.pictures):  # before minutes of training, not after
        if given is not None and given.exists() and not given.is_dir():
            parser.error(f"{given} is a file; give a folder")
    run_dir = args.run or DEFAULT_RUNS / args.name
    try:
        train(args.name, run_dir)
        record = pack(args.name, run_dir, args.into)
        pictures = copy_pictures(run_dir, args.name, args.pictures) if args.pictures else []
    except GankitError as err:
        parser.exit(2, f"gankit: error: {err}\n")
    print(f"wrote {args.into / args.name}.safetensors and .json: step "
          f"{record['metrics']['step']}, {record['parameters']} parameters, "
          f"{record['storage']} (outputs within {record['storage_max_abs_diff']:.2g} of "
          f"float32's)", file=sys.stderr)
    for path in pictures:
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
