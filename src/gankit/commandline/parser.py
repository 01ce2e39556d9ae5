"""The ``gankit`` command tree: each subcommand with its arguments, built from the flags of
:mod:`gankit.commandline.flags` and the registries' torch-free declarations."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from gankit import __version__, commandline, pretrained
from gankit.commandline.flags import (
    CLASS_INDEX,
    COUNT,
    SEED,
    add_checkpoint,
    add_device,
    add_output,
    add_overrides,
    add_sampler,
    export_formats,
    feature_extractors,
    feature_space,
    int_in,
    listing,
    path,
    weighted_features,
)

SAMPLE_FORMATS = ("npy", "png-dir")
SHELLS = ("bash", "zsh", "fish")
# the RUN argument of the commands that read a trained generator (gankit.pretrained)
TRAINED_RUN = (f"a run directory, one of its checkpoint folders, or pretrained:NAME, a "
               f"generator shipped with gankit ({', '.join(pretrained.available())})")


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's one-line errors (argparse prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        print(f"gankit: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gankit", description=commandline.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train from a config, or resume a run")
    train.add_argument("config", nargs="?",
                       help="a YAML file or a shipped config name (see 'gankit configs')")
    add_overrides(train)
    train.add_argument("--out", metavar="DIR",
                       help="run directory (default: runs/NAME-TIME; missing parent folders "
                            "are created)")
    train.add_argument("--resume", type=path, metavar="RUN_DIR",
                       help="continue RUN_DIR (or a checkpoint folder) from its latest "
                       "checkpoint or --checkpoint's (its config + --set); "
                       "with --out, in that directory, leaving RUN_DIR as it is")
    add_checkpoint(train)
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.add_argument("--continue-at-final-lr", action="store_true",
                       help="going on past train.steps (--resume with --set train.steps=N): "
                       "keep the learning-rate schedule and train on at its last rate, not "
                       "stretch it (train.on_extend=final_lr)")

    sample = commands.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("run_dir", type=path, help=TRAINED_RUN)
    sample.add_argument("--n", type=COUNT, default=1000,
                        help="number of samples (default 1000)")
    add_output(sample, "output file (npy) or folder (png-dir), written exactly there",
               "FILE|DIR")
    sample.add_argument("--format", choices=SAMPLE_FORMATS, default="npy",
                        help="npy: one array [N, ...]; png-dir: one PNG per image, the layout "
                             "clean-fid and torch-fidelity read (default npy)")
    sample.add_argument("--seed", type=SEED, default=0)
    sample.add_argument("--class", dest="label", type=CLASS_INDEX, metavar="K",
                        help="the class of every sample (cgan, acgan, projection, caae)")
    sample.add_argument("--code", action="append", default=[], metavar="NAME=VALUE",
                        help="fix one of InfoGAN's codes (cat0=3, cont0=1.5); repeatable")
    add_device(sample)
    add_checkpoint(sample)
    add_sampler(sample, trace=True)

    translate = commands.add_parser("translate", help="translate images with a trained "
                                    "image-to-image run (pix2pix, cyclegan)")
    translate.add_argument("run_dir", type=path, help=TRAINED_RUN)
    translate.add_argument("--input", type=path, required=True, metavar="FILE|DIR",
                           help="an image, or a folder of images (searched recursively); each "
                                "is resized and center-cropped to the run's image size")
    add_output(translate, "a new or empty folder: one PNG per input, named after it", "DIR")
    translate.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB",
                           help="AtoB (default), or BtoA for a two-way run (cyclegan)")
    add_device(translate)
    add_checkpoint(translate)

    evaluate = commands.add_parser("eval", help="metrics of a trained run (writes eval.json)")
    evaluate.add_argument("run_dir", type=path, help=TRAINED_RUN)
    evaluate.add_argument("--n", type=COUNT, help="number of samples (default: data.n_eval)")
    evaluate.add_argument("--seed", type=SEED, help="seed of the evaluation's draws "
                          "(default: the fixed one training snapshots use)")
    add_device(evaluate)
    add_checkpoint(evaluate)
    add_sampler(evaluate, trace=False)  # its JSON records the chains' acceptance and energy
    evaluate.add_argument("--features", type=feature_space, metavar="NAME|FILE",
                          help="image feature space for FID/KID/precision/recall (default: "
                               "data.features, else digits on digit data, none for a folder of "
                               f"images): {listing(feature_extractors())}; or a FILE from "
                               "'gankit features fit'")
    evaluate.add_argument("--weights", type=path, metavar="PATH",
                          help=f"the weights file of --features "
                               f"{'|'.join(weighted_features())}; nothing is downloaded")
    add_output(evaluate, "write the metrics (JSON) to FILE instead of the run directory "
                         "(e.g. for a read-only run)", required=False)

    metrics = commands.add_parser("metrics", help="compare two image sets (folders, .npy, "
                                  ".npz, statistics files): FID, KID, precision/recall, "
                                  "density/coverage")
    metrics.add_argument("a", type=path, metavar="A",
                         help="the reference set (e.g. the real images): a folder of images, a "
                              ".npy or .npz array (FILE.npz:KEY for one of several), or a "
                              ".safetensors statistics file; with --stats, the set B")
    metrics.add_argument("b", type=path, nargs="?", metavar="B",
                         help="the set measured against A, given as A is")
    metrics.add_argument("--features", type=feature_space, metavar="NAME|FILE",
                         help=f"the feature space: a feature file (gankit features fit) or "
                              f"{listing(feature_extractors())}")
    metrics.add_argument("--weights", type=path, metavar="PATH",
                         help=f"the weights file of --features {'|'.join(weighted_features())}")
    metrics.add_argument("--n", type=COUNT, help="use at most N images of each set, a seeded "
                         "draw (default: all)")
    metrics.add_argument("--seed", type=SEED, default=0,
                         help="seed of --n's draw, KID's subsets and the kept features")
    metrics.add_argument("--image-size", type=int_in(4, 1024), metavar="S",
                         help="resize a folder's images (shorter side to S, center-cropped; "
                              "4 to 1024, as data.image_size); "
                              "needed when they differ in size")
    metrics.add_argument("--save-stats", metavar="FILE",
                         help="also write A's feature statistics to FILE (.safetensors)")
    metrics.add_argument("--stats", type=path, metavar="FILE",
                         help="A's statistics from FILE (--save-stats) instead of images")
    add_device(metrics, "cpu")
    add_output(metrics, "also write the metrics (JSON) to FILE", required=False)

    features = commands.add_parser("features", help="fit a feature space to real images")
    features_commands = features.add_subparsers(dest="features_command", required=True,
                                                parser_class=_Parser)
    fit = features_commands.add_parser(
        "fit", help="fit a feature extractor (SimCLR) to a data set's real images, offline")
    fit.add_argument("data", metavar="DATA",
                     help="a shipped data-set config name (mnist5k, ...) or a folder of images")
    add_output(fit, "the feature file (safetensors), for --features FILE and data.features")
    fit.add_argument("--steps", type=int_in(1, 10**7), default=600,
                     help="training steps (default 600)")
    fit.add_argument("--batch-size", type=int_in(2, 65536), default=256,
                     help="images per step, two views each (default 256)")
    fit.add_argument("--seed", type=SEED, default=0)
    fit.add_argument("--image-size", type=int_in(4, 1024), metavar="N",
                     help="side of the images (default: the data's, as a run trains on them)")
    fit.add_argument("--channels", type=int, choices=(1, 3),
                     help="a folder's colour channels, 1 grey or 3 RGB (default 3)")
    fit.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    export = commands.add_parser("export", help="write a trained run's generator alone")
    export.add_argument("run_dir", type=path)
    export.add_argument("--format", choices=tuple(export_formats()), required=True,
                        help=listing(export_formats()))
    add_output(export, "output file")
    export.add_argument("--ema", action="store_true",
                        help="export the weight average G_ema, which sampling uses (runs with "
                             "train.g_ema > 0); default: G")
    add_checkpoint(export)

    experiment = commands.add_parser("experiment", help="run one of the theory experiments")
    experiment.add_argument("name", help="experiment name (see 'gankit experiment list')")
    add_output(experiment, "output directory; NAME/NAME.png and NAME.json are written in it "
                           "(default runs/experiments)", "DIR", False, "runs/experiments")
    experiment.add_argument("--quick", action="store_true", help="a fast, smaller version")

    view = commands.add_parser("view", help="watch a 2-D GAN learn in the browser")
    view.add_argument("source", nargs="?", default="ring8", metavar="CONFIG|RUN_DIR",
                      help="a 2-D toy config (shipped name or YAML file) to train, or a run "
                           "directory or checkpoint folder to open (default ring8)")
    view.add_argument("--port", type=int_in(0, 65535), default=8750,
                      help="port to listen on (default 8750; 0: any free one)")
    view.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1: this machine only)")
    view.add_argument("--runs", default=str(Path("runs") / "view"), metavar="DIR",
                      help="where the page saves runs and opens them from (default runs/view)")
    add_checkpoint(view)

    runs = commands.add_parser("runs", help="list the runs in a folder: config, recipe, step, "
                               "status, final metrics, training time, best checkpoint")
    runs.add_argument("directory", nargs="?", type=path, default=Path("runs"), metavar="DIR",
                      help="searched at any depth for run directories (default runs)")
    runs.add_argument("--sort", default="name", metavar="KEY",
                      help="name (default), config, recipe, step, steps, status, time, best, or "
                           "a metric of eval.json (fid, w1, ...); runs without it come last")
    runs.add_argument("--reverse", action="store_true", help="sort in descending order")
    runs.add_argument("--json", action="store_true",
                      help="print a JSON list, every metric of eval.json included (for jq)")

    compare = commands.add_parser("compare", help="draw runs' curves of one metric on shared "
                                  "axes and print where each ended and was best")
    compare.add_argument("runs", nargs="+", type=path, metavar="RUN",
                         help="run directories, or checkpoint folders (RUN/checkpoints/step-N: "
                              "the run up to that step)")
    compare.add_argument("--metric", metavar="NAME",
                         help="a snapshot metric (fid, w1, modes, ...) or any figure "
                              "metrics.jsonl logs (d_loss, lr/g); default: fid for images, "
                              "else w1 or modes")
    add_output(compare, "the figure (PNG); without it only the table is printed",
               "PNG", required=False)

    commands.add_parser("configs", help="list the shipped configs, one line each")
    config = commands.add_parser("config", help="inspect a config without training")
    config_commands = config.add_subparsers(dest="config_command", required=True,
                                            parser_class=_Parser)
    show = config_commands.add_parser("show", help="print the resolved YAML, defaults filled")
    show.add_argument("config", help="a YAML file or a shipped config name")
    show.add_argument("--explain", action="store_true",
                      help="print each key's value with the file, preset, default or --set "
                           "flag that set it")
    add_overrides(show)

    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=SHELLS)
    return parser
