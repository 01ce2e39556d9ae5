"""``gankit``: train, resume, sample, evaluate and run the theory experiments from a shell.

Every user mistake ends in one line on stderr (``gankit: error: ...``) and exit status 2;
an interrupted run saves a checkpoint first and exits with 128 + the signal number.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from gankit import __version__, distributed
from gankit.api import build, load
from gankit.checkpoint import latest_checkpoint
from gankit.config import load_config, shipped_configs
from gankit.errors import GankitError
from gankit.image_eval import FEATURE_NAMES
from gankit.runlog import to_json, write_json
from gankit.trainer import TrainingInterrupted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train from a config, or resume a run")
    train.add_argument("config", nargs="?",
                       help="a YAML file or a shipped config name (see 'gankit configs')")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.lr_d=2e-4 (repeatable)")
    train.add_argument("--out", type=Path, help="run directory (default: runs/NAME-TIME)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR",
                       help="continue RUN_DIR from its latest checkpoint (its config + --set)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    sample = commands.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("run_dir", type=Path)
    sample.add_argument("--n", type=int, default=1000, help="number of samples (default 1000)")
    sample.add_argument("--out", type=Path, required=True, help="output .npy file")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--device", help="run on this device (default: the run's train.device)")

    evaluate = commands.add_parser("eval", help="metrics of a trained run (writes eval.json)")
    evaluate.add_argument("run_dir", type=Path)
    evaluate.add_argument("--n", type=int, help="number of samples (default: data.n_eval)")
    evaluate.add_argument("--device", help="run on this device (default: the run's train.device)")
    evaluate.add_argument("--features", choices=FEATURE_NAMES,
                          help="image feature space for FID/KID/precision/recall (default: "
                               "digits on digit data, none for a folder of images)")
    evaluate.add_argument("--weights", type=Path, metavar="PATH",
                          help="InceptionV3 weights for --features inception (pytorch-fid's "
                               "pt_inception-2015-12-05-6726825d.pth; nothing is downloaded)")

    experiment = commands.add_parser("experiment", help="run one of the theory experiments")
    experiment.add_argument("name", help="experiment name (see 'gankit experiment list')")
    experiment.add_argument("--out", type=Path, default=Path("runs/experiments"),
                            help="output directory (default runs/experiments)")
    experiment.add_argument("--quick", action="store_true", help="a fast, smaller version")

    commands.add_parser("configs", help="list the shipped configs")
    return parser


def cmd_train(args: argparse.Namespace) -> None:
    progress = not args.no_progress
    if args.resume is not None:
        if args.config is not None:
            raise GankitError("give either CONFIG or --resume RUN_DIR, not both")
        run = load(args.resume, args.overrides, progress)
        print(f"resuming {args.resume} at step {run.step}", file=sys.stderr)
    else:
        if args.config is None:
            raise GankitError("train needs CONFIG (a YAML file or a shipped name) "
                              "or --resume RUN_DIR")
        config = load_config(args.config, args.overrides)
        stem = Path(args.config).stem
        out = args.out or Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        if out.exists() and not out.is_dir():
            raise GankitError(f"--out {out} is a file; the run directory must be a directory")
        if latest_checkpoint(out) is not None:
            raise GankitError(f"{out} already holds a run; continue it with "
                              f"'gankit train --resume {out}' or choose another --out")
        run = build(config, run_dir=out, progress=progress)
    run.fit()
    if run.trainer.is_main:  # under torchrun the other processes are done
        print(f"run directory: {run.run_dir}")
        print(to_json(run.evaluate()))


def _device(args: argparse.Namespace) -> list[str]:
    """A CUDA-trained run can be sampled or evaluated on a CPU machine with --device cpu."""
    return [f"train.device={args.device}"] if args.device else []


def cmd_sample(args: argparse.Namespace) -> None:
    if args.out.is_dir():
        raise GankitError(f"--out {args.out} is a directory; give a file name such as x.npy")
    run = load(args.run_dir, _device(args), progress=False)
    samples = run.sample(args.n, args.seed).numpy()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, samples)
    print(f"wrote {samples.shape} samples to {args.out}")


def cmd_eval(args: argparse.Namespace) -> None:
    run = load(args.run_dir, _device(args), progress=False)
    if args.weights is not None and args.features != "inception":
        raise GankitError("--weights is for --features inception")
    metrics = run.evaluate(args.n, features=args.features,
                           weights=str(args.weights) if args.weights else None)
    write_json(args.run_dir / "eval.json", {"step": run.step, **metrics})
    print(to_json(metrics))


def cmd_experiment(args: argparse.Namespace) -> None:
    from gankit.experiments import EXPERIMENTS

    if args.name == "list":
        print("\n".join(EXPERIMENTS.names()))
        return
    results = EXPERIMENTS[args.name](args.out / args.name, quick=args.quick)
    print(to_json(results))


def cmd_configs(args: argparse.Namespace) -> None:
    datasets, losses = shipped_configs()
    print("data sets:", " ".join(datasets))
    print("losses:   ", " ".join(losses))
    print("train one as NAME or NAME-LOSS, e.g. 'gankit train grid25-wgan-gp'")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval,
               "experiment": cmd_experiment, "configs": cmd_configs}[args.command]
    try:
        command(args)
    except TrainingInterrupted as stop:
        print(f"gankit: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except GankitError as err:
        print(f"gankit: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path the user gave cannot be read or written
        print(f"gankit: error: {err.strerror or err}: {err.filename or ''}", file=sys.stderr)
        return 2
    except MemoryError:
        print("gankit: error: out of memory; use a smaller batch_size, width or sample count",
              file=sys.stderr)
        return 2
    finally:
        distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
