"""The commands that measure, list, show or explore rather than train or write a model's output:
``gankit eval``, ``experiment``, ``view``, ``configs``, ``config show`` and ``completion``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from gankit.commandline.flags import (
    device_override,
    sampler_settings,
    say_checkpoint,
    weighted_features,
)
from gankit.commandline.output import print_result
from gankit.errors import GankitError


def cmd_eval(args: argparse.Namespace) -> None:
    from gankit.api import load
    from gankit.evaluation import EVAL_SEED
    from gankit.storage.files import check_output
    from gankit.training.runlog import write_json

    if args.weights is not None and args.features not in weighted_features():
        raise GankitError(f"--weights is for --features {' or '.join(weighted_features())}")
    settings = sampler_settings(args)
    out = None if args.out is None else check_output(args.out, "file", args.overwrite)
    run = load(args.run_dir, device_override(args), progress=False, checkpoint=args.checkpoint)
    record = run.eval_record(args.n, EVAL_SEED if args.seed is None else args.seed,
                            features=args.features,
                            weights=str(args.weights) if args.weights else None,
                            sampler=settings)
    if out is not None:
        write_json(out, record)
        print(f"wrote {out}", file=sys.stderr)
    elif run.run_dir is not None:  # a shipped generator (pretrained:NAME) is printed only
        try:
            print(f"wrote {run.save_evaluation(record)}", file=sys.stderr)
        except OSError as err:  # a read-only run directory: the figures are still the result
            warnings.warn(f"cannot write the evaluation into {args.run_dir} ({err.strerror}); "
                          f"printed only (--out FILE writes it elsewhere)", stacklevel=1)
    say_checkpoint(run)
    print_result(record)


def cmd_experiment(args: argparse.Namespace) -> None:
    if args.name == "list":  # read from the experiments' source: no torch to list them
        from gankit.registry import declared

        experiments = declared("gankit.experiments.base:EXPERIMENTS")
        width = max(map(len, experiments), default=0)
        for name, declaration in experiments.items():
            print(f"{name:{width}s}  {declaration.summary}".rstrip())
        return
    from gankit.experiments import EXPERIMENTS
    from gankit.experiments.base import output_paths
    from gankit.storage.files import check_output

    experiment = EXPERIMENTS[args.name]  # an unknown name: one line naming the known ones
    out_dir = check_output(args.out, "directory") / args.name
    check_output(out_dir, "directory")
    paths = output_paths(out_dir, args.name)
    for written in paths:
        check_output(written, "file", args.overwrite)
    figures = experiment(out_dir, quick=args.quick)
    for written in paths:
        if written.is_file():  # another package's experiment may write neither
            print(f"wrote {written}", file=sys.stderr)
    print_result(figures)


def cmd_view(args: argparse.Namespace) -> None:
    """A run is opened at the checkpoint chosen (said now, before the page asks for it): each
    page opens that checkpoint's folder, or the run's newest when none was asked for."""
    from gankit.configuration.resolve import build_config
    from gankit.storage.files import check_output
    from gankit.view.server import serve
    from gankit.view.session import base_config_data, open_run
    from gankit.view.settings import check_base

    runs = check_output(args.runs, "directory", flag="--runs")  # runs are saved in there
    base, chosen = base_config_data(args.source, args.checkpoint)
    check_base(build_config(base), str(args.source))  # a config the view cannot draw: now
    opened = None
    if chosen is not None:
        run = open_run(Path(args.source).expanduser(), args.checkpoint)
        say_checkpoint(run)
        opened = run.checkpoint.checkpoint if run.checkpoint.explicit else chosen.run_dir
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        warnings.warn(f"--host {args.host}: the view answers every machine that reaches this "
                      f"address, and runs whatever training it is sent", stacklevel=1)
    serve(base, runs, opened, args.host, args.port)


def cmd_configs(args: argparse.Namespace) -> None:
    from gankit.configuration.compose import config_summary, shipped_configs

    datasets, presets = shipped_configs()
    width = max(map(len, datasets + presets))
    print("data sets (gankit train NAME):")
    for name in datasets:
        print(f"  {name:{width}s}  {config_summary(name)}")
    print("presets, for a recipe or a loss (gankit train NAME-PRESET, e.g. grid25-wgan-gp):")
    for name in presets:
        print(f"  {name:{width}s}  {config_summary('presets/' + name)}")


def cmd_config(args: argparse.Namespace) -> None:
    from gankit.configuration.compose import compose
    from gankit.configuration.resolve import explain, resolve
    from gankit.configuration.yaml_io import dump_yaml

    config, sources = resolve(compose(args.config), args.overrides)
    print("\n".join(explain(config, sources)) if args.explain else dump_yaml(config.to_dict()),
          end="\n" if args.explain else "")


def cmd_completion(args: argparse.Namespace) -> None:
    from gankit.commandline.completion import script

    print(script(args.shell), end="")
