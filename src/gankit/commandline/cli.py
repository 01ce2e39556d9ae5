"""``gankit``: train, resume, sample, translate, evaluate, export and run the theory experiments
from a shell.

It composes with a shell: results go to stdout (``train`` and ``eval`` print one JSON object,
``sample`` and ``export`` the path they wrote), everything else (progress bar, run directory,
notices, warnings) to stderr, so ``gankit train ring8 | jq .modes`` works. Every user mistake
ends in one line on stderr (``gankit: error: ...``) and exit status 2; SIGINT or SIGTERM at any
moment ends in one line and exit status 128 + the signal number (an interrupted run saves a
checkpoint of its last finished step first); a closed pipe ends quietly.

The parser imports nothing heavy: torch and the rest load inside the commands, so ``--help``
and shell completion answer at once.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from gankit import __version__
from gankit.configuration.messages import range_problem, show_value
from gankit.configuration.schema import DEVICE, DEVICES, SEED_RANGE
from gankit.errors import GankitError
from gankit.registry import Declaration, declared
from gankit.sampling.settings import DEFAULT_SAMPLER
from gankit.training import interrupts

SAMPLE_FORMATS = ("npy", "png-dir")
SHELLS = ("bash", "zsh")


# The registries whose entries the parser offers, read from their declarations in the source
# (gankit.registry.declared): choices, help and flags without importing torch or the entries.
@cache
def _declared(registry: str) -> dict[str, Declaration]:
    return declared(registry)


def _export_formats() -> dict[str, Declaration]:
    return _declared("gankit.storage.export:EXPORT_FORMATS")


def _feature_extractors() -> dict[str, Declaration]:
    return _declared("gankit.metrics.extractors:FEATURE_EXTRACTORS")


def _samplers() -> dict[str, Declaration]:
    return _declared("gankit.sampling.settings:SAMPLERS")


def _listing(entries: dict[str, Declaration]) -> str:
    """``name: summary; ...`` for a flag's help."""
    return "; ".join(f"{name}: {d.summary}" if d.summary else name for name, d in entries.items())


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's one-line errors (argparse prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        print(f"gankit: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(2)


def _path(text: str) -> Path:
    """A path flag; ``~`` expands even where the shell leaves it (``--out=~/runs``)."""
    return Path(text).expanduser()


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """An int flag in [low, high], refused in one line like a config key's: text of thousands
    of digits too (argparse would echo it whole, and ``int()`` refuses more than 4,300)."""

    def parse(text: str) -> int:
        if not re.fullmatch(r"[-+]?[0-9]+", text):
            raise argparse.ArgumentTypeError(f"must be an integer, got {show_value(text)}")
        if (digits := len(text.lstrip("+-"))) > 4300:
            raise argparse.ArgumentTypeError(f"must be an integer of at most 4300 digits, got "
                                             f"{digits} digits")
        value = int(text)
        if problem := range_problem(value, low, high):
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def _device_name(text: str) -> str:
    """A --device flag, held to train.device's pattern (it becomes that key)."""
    if not DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be {DEVICES}, got {show_value(text)}")
    return text


def _positive_float(text: str) -> float:
    """A step size, temperature or threshold: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {show_value(text)}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {show_value(text)}")
    return value


_COUNT = _int_in(1, 2**63 - 1)  # a sample count: torch takes sizes as int64
_SEED = _int_in(*SEED_RANGE)  # the seeds train.seed allows


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gankit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train from a config, or resume a run")
    train.add_argument("config", nargs="?",
                       help="a YAML file or a shipped config name (see 'gankit configs')")
    _add_overrides(train)
    train.add_argument("--out", type=_path, help="run directory (default: runs/NAME-TIME)")
    train.add_argument("--resume", type=_path, metavar="RUN_DIR",
                       help="continue RUN_DIR from its latest checkpoint (its config + --set); "
                       "with --out, in that directory, leaving RUN_DIR as it is")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    sample = commands.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("run_dir", type=_path)
    sample.add_argument("--n", type=_COUNT, default=1000,
                        help="number of samples (default 1000)")
    sample.add_argument("--out", type=_path, required=True,
                        help="output file (npy) or folder (png-dir), written exactly there")
    sample.add_argument("--format", choices=SAMPLE_FORMATS, default="npy",
                        help="npy: one array [N, ...]; png-dir: one PNG per image, the layout "
                             "clean-fid and torch-fidelity read (default npy)")
    sample.add_argument("--seed", type=_SEED, default=0)
    sample.add_argument("--class", dest="label", type=int, metavar="K",
                        help="the class of every sample (cgan, acgan, projection, caae)")
    sample.add_argument("--code", action="append", default=[], metavar="NAME=VALUE",
                        help="fix one of InfoGAN's codes (cat0=3, cont0=1.5); repeatable")
    _add_device(sample)
    _add_sampler(sample, trace=True)

    translate = commands.add_parser("translate", help="translate images with a trained "
                                    "image-to-image run (pix2pix, cyclegan)")
    translate.add_argument("run_dir", type=_path)
    translate.add_argument("--input", type=_path, required=True, metavar="FILE|DIR",
                           help="an image, or a folder of images (searched recursively); each "
                                "is resized and center-cropped to the run's image size")
    translate.add_argument("--out", type=_path, required=True, metavar="DIR",
                           help="a new or empty folder: one PNG per input, named after it")
    translate.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB",
                           help="AtoB (default), or BtoA for a two-way run (cyclegan)")
    _add_device(translate)

    evaluate = commands.add_parser("eval", help="metrics of a trained run (writes eval.json)")
    evaluate.add_argument("run_dir", type=_path)
    evaluate.add_argument("--n", type=_COUNT, help="number of samples (default: data.n_eval)")
    evaluate.add_argument("--seed", type=_SEED, help="seed of the evaluation's draws "
                          "(default: the fixed one training snapshots use)")
    _add_device(evaluate)
    _add_sampler(evaluate, trace=False)  # its JSON records the chains' acceptance and energy
    evaluate.add_argument("--features", choices=tuple(_feature_extractors()),
                          help="image feature space for FID/KID/precision/recall (default: "
                               "digits on digit data, none for a folder of images): "
                               f"{_listing(_feature_extractors())}")
    evaluate.add_argument("--weights", type=_path, metavar="PATH",
                          help=f"the weights file of --features "
                               f"{'|'.join(_weighted_features())}; nothing is downloaded")
    evaluate.add_argument("--out", type=_path, metavar="FILE",
                          help="write the metrics (JSON) to FILE instead of the run directory "
                               "(e.g. for a read-only run)")

    export = commands.add_parser("export", help="write a trained run's generator alone")
    export.add_argument("run_dir", type=_path)
    export.add_argument("--format", choices=tuple(_export_formats()), required=True,
                        help=_listing(_export_formats()))
    export.add_argument("--out", type=_path, required=True, help="output file")
    export.add_argument("--ema", action="store_true",
                        help="export the weight average G_ema, which sampling uses (runs with "
                             "train.g_ema > 0); default: G")

    experiment = commands.add_parser("experiment", help="run one of the theory experiments")
    experiment.add_argument("name", help="experiment name (see 'gankit experiment list')")
    experiment.add_argument("--out", type=_path, default=Path("runs/experiments"),
                            help="output directory (default runs/experiments)")
    experiment.add_argument("--quick", action="store_true", help="a fast, smaller version")

    view = commands.add_parser("view", help="watch a 2-D GAN learn in the browser")
    view.add_argument("source", nargs="?", default="ring8", metavar="CONFIG|RUN_DIR",
                      help="a 2-D toy config (shipped name or YAML file) to train, or a run "
                           "directory to open (default ring8)")
    view.add_argument("--port", type=_int_in(0, 65535), default=8750,
                      help="port to listen on (default 8750; 0: any free one)")
    view.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1: this machine only)")
    view.add_argument("--runs", type=_path, default=Path("runs") / "view", metavar="DIR",
                      help="where the page saves runs and opens them from (default runs/view)")

    commands.add_parser("configs", help="list the shipped configs, one line each")
    config = commands.add_parser("config", help="inspect a config without training")
    config_commands = config.add_subparsers(dest="config_command", required=True,
                                            parser_class=_Parser)
    show = config_commands.add_parser("show", help="print the resolved YAML, defaults filled")
    show.add_argument("config", help="a YAML file or a shipped config name")
    show.add_argument("--explain", action="store_true",
                      help="print each key's value with the file, preset, default or --set "
                           "flag that set it")
    _add_overrides(show)

    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=SHELLS)
    return parser


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.lr_d=2e-4 (repeatable)")


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", type=_device_name,
                        help="run on this device (default: the run's train.device)")


def _weighted_features() -> list[str]:
    """The feature extractors that read a weights file (``--weights``)."""
    return [name for name, d in _feature_extractors().items() if d.facts.get("weights")]


def _sampler_options() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each option any sampler declares -> (its declaration, {sampler: its default})."""
    options: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for name, declaration in _samplers().items():
        for option, spec in declaration.facts.get("flags", {}).items():
            options.setdefault(option, (spec, {}))[1][name] = spec.get("default")
    return options


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def _add_sampler(parser: argparse.ArgumentParser, trace: bool) -> None:
    """--sampler and the union of the samplers' declared options (an option two samplers
    declare takes the first one's type and help), each flag defaulting to None so that the
    chosen sampler's own default applies (:class:`SamplerSettings`)."""
    samplers = _samplers()
    group = parser.add_argument_group(
        "latent sampler", f"where z comes from: {_listing(samplers)}")
    group.add_argument("--sampler", choices=tuple(samplers), default=DEFAULT_SAMPLER,
                       help=f"(default {DEFAULT_SAMPLER})")
    for option, (spec, defaults) in _sampler_options().items():
        shown = set(map(repr, defaults.values()))
        default = (f"default {next(iter(defaults.values()))}" if len(shown) == 1 else
                   "default " + ", ".join(f"{v} for {k}" for k, v in defaults.items()))
        help_text = f"{spec.get('help', '')} ({', '.join(defaults)}; {default})"
        kind = ({"action": "store_true", "default": None} if spec.get("type") == "bool" else
                {"type": _option_type(spec)})
        try:
            group.add_argument(_flag(option), help=help_text, **kind)
        except argparse.ArgumentError:  # a sampler of another package: one line, not argparse's
            raise GankitError(f"the option {option!r} of --sampler {', '.join(defaults)} is also "
                              f"a flag of gankit {parser.prog.split()[-1]}; rename it") from None
    if trace:
        chains = [name for name, d in samplers.items() if d.facts.get("chains")]
        group.add_argument("--trace", type=_path, metavar="PNG",
                           help=f"{' / '.join(chains)}: plot the chains' energy and acceptance "
                                f"per step")


def _option_type(spec: dict[str, Any]) -> Callable[[str], Any]:
    """A declared option's parser: ``int`` in its ``range``, ``float`` finite and > 0."""
    if spec.get("type") == "int":
        return _int_in(*spec.get("range", (-(2**63), 2**63 - 1)))
    return _positive_float


def _sampler_settings(args: argparse.Namespace):  # -> SamplerSettings (imported lazily)
    """--sampler and its flags; a flag the chosen sampler does not read is refused."""
    from gankit.sampling.settings import SamplerSettings

    facts = _samplers()[args.sampler].facts
    allowed = facts.get("flags", {})
    given = {name: getattr(args, name) for name in _sampler_options()
             if getattr(args, name) is not None}
    for name in given.keys() - set(allowed):
        raise GankitError(f"{_flag(name)} does not apply to --sampler {args.sampler} (its "
                          f"flags: {', '.join(map(_flag, allowed)) or 'none'})")
    if getattr(args, "trace", None) is not None and not facts.get("chains"):
        raise GankitError(f"--trace plots MCMC chains, and --sampler {args.sampler} runs none")
    return SamplerSettings(args.sampler, **given)


def _report_chains(args: argparse.Namespace, source: object) -> None:
    """Say on stderr how the chains went, and plot them with --trace."""
    trace = getattr(source, "last_trace", None)
    if trace is None:
        return
    energy = f"mean energy {float(trace.energy[0]):.4g} -> {float(trace.energy[-1]):.4g}"
    if trace.acceptance is not None:
        accepted = (f", acceptance {float(trace.acceptance.mean()):.3f} (chains "
                    f"{float(trace.acceptance.min()):.2f}-{float(trace.acceptance.max()):.2f}), "
                    f"final step size {float(trace.step_size[-1]):.4g}")
    else:
        accepted = ""
    print(f"{args.sampler}: {len(trace.step_size)} steps, {energy}{accepted}", file=sys.stderr)
    if args.trace is not None:
        from gankit.evaluation.plots import plot_chain_trace

        print(f"wrote {plot_chain_trace(trace, args.trace, args.sampler)}", file=sys.stderr)


def _print_result(record: dict) -> None:
    from gankit.training.runlog import to_json

    print(to_json(record), flush=True)


def cmd_train(args: argparse.Namespace) -> None:
    from gankit.api import build, check_new_run_dir, load, resumes_in_place
    from gankit.configuration.resolve import load_config
    from gankit.training.checkpoint import clean_checkpoints

    progress = not args.no_progress
    if args.resume is not None:
        if args.config is not None:
            raise GankitError("give either CONFIG or --resume RUN_DIR, not both")
        in_place = resumes_in_place(args.resume, args.out)
        if in_place:  # before choosing the checkpoint; a run continued elsewhere is only read
            clean_checkpoints(args.resume)
        run = load(args.resume, args.overrides, progress, out=args.out)
        where = "" if in_place else f" in {run.run_dir}"
        print(f"resuming {args.resume} at step {run.step}{where}", file=sys.stderr)
    else:
        if args.config is None:
            raise GankitError("train needs CONFIG (a YAML file or a shipped name) "
                              "or --resume RUN_DIR")
        config = load_config(args.config, args.overrides)
        stem = Path(args.config).stem
        out = args.out or Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        check_new_run_dir(out)
        run = build(config, run_dir=out, progress=progress)
    run.fit()
    if run.trainer.is_main:  # under torchrun the other processes are done
        print(f"run directory: {run.run_dir}", file=sys.stderr)
        record = run.result  # the final snapshot's metrics, already in eval.json
        if record is None:
            record = run.eval_record()
            run.save_evaluation(record)
        _print_result(record)


def _device(args: argparse.Namespace) -> list[str]:
    """A CUDA-trained run can be sampled or evaluated on a CPU machine with --device cpu."""
    return [f"train.device={args.device}"] if args.device else []


def cmd_sample(args: argparse.Namespace) -> None:
    from gankit.api import load
    from gankit.storage.files import written_in_place
    from gankit.storage.sample_files import write_samples

    if args.format == "npy" and args.out.is_dir():
        raise GankitError(f"--out {args.out} is a directory; give a file name such as x.npy "
                          f"(or --format png-dir for a folder of PNGs)")
    settings = _sampler_settings(args)
    codes = _codes(args.code)
    run = load(args.run_dir, _device(args), progress=False)
    run.fixed_codes(args.label, codes)  # a wrong --class or --code: one line before any work
    source = run.sampler(settings)
    samples = run.sample(args.n, args.seed, source, labels=args.label, codes=codes)
    _report_chains(args, source)
    path = write_samples(samples, args.out, args.format)
    print(f"wrote {len(samples)} samples {list(samples.shape[1:])} to {path}", file=sys.stderr)
    if not written_in_place(path):  # --out /dev/stdout: the samples are stdout
        print(path)


def _codes(pairs: list[str]) -> dict[str, float]:
    """``["cat0=3", "cont0=-1.5"]`` -> {"cat0": 3.0, "cont0": -1.5}."""
    codes = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = None
        if not sep or not name or value is None:
            raise GankitError(f"--code takes NAME=NUMBER (cat0=3, cont0=1.5), "
                              f"got {show_value(pair)}")
        codes[name] = value
    return codes


def cmd_translate(args: argparse.Namespace) -> None:
    from gankit.api import load
    from gankit.data.image_files import read_input_images
    from gankit.storage.sample_files import write_png_dir

    run = load(args.run_dir, _device(args), progress=False)
    if not run.recipe.translates:  # before reading any image
        raise GankitError(f"gankit translate needs an image-to-image run (recipe pix2pix or "
                          f"cyclegan); {args.run_dir} is a run of recipe {run.config.recipe}, "
                          f"which generates from noise: use gankit sample")
    run.recipe.translator(args.direction)  # a direction the recipe lacks: one line
    spec = run.data.spec
    channels, size = (spec.shape if args.direction == "AtoB" else spec.shape_b)[:2]
    images, files = read_input_images(args.input, size, channels)
    names = [f"{Path(file).with_suffix('').as_posix()}.png" for file in files]
    if clashes := [f for f, name in zip(files, names, strict=True) if names.count(name) > 1]:
        raise GankitError(f"--input files {', '.join(clashes[:5])} would all be written as one "
                          f"PNG (one name, several suffixes); rename them")
    outputs = run.translate(images, args.direction)
    path = write_png_dir(outputs, args.out, names)
    print(f"translated {len(outputs)} images {args.direction} into {path}", file=sys.stderr)
    print(path)


def cmd_eval(args: argparse.Namespace) -> None:
    from gankit.api import load
    from gankit.evaluation import EVAL_SEED
    from gankit.training.runlog import write_json

    if args.weights is not None and args.features not in _weighted_features():
        raise GankitError(f"--weights is for --features {' or '.join(_weighted_features())}")
    settings = _sampler_settings(args)
    run = load(args.run_dir, _device(args), progress=False)
    record = run.eval_record(args.n, EVAL_SEED if args.seed is None else args.seed,
                            features=args.features,
                            weights=str(args.weights) if args.weights else None,
                            sampler=settings)
    if args.out is not None:
        write_json(args.out, record)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        try:
            print(f"wrote {run.save_evaluation(record)}", file=sys.stderr)
        except OSError as err:  # a read-only run directory: the figures are still the result
            warnings.warn(f"cannot write the evaluation into {args.run_dir} ({err.strerror}); "
                          f"printed only (--out FILE writes it elsewhere)", stacklevel=1)
    _print_result(record)


def cmd_export(args: argparse.Namespace) -> None:
    from gankit.api import load
    from gankit.storage.export import export_generator

    run = load(args.run_dir, ["train.device=cpu"], progress=False)
    path = export_generator(run.recipe, args.format, args.out, ema=args.ema)
    which = "G_ema" if args.ema else "G"
    print(f"wrote the generator {which} ({args.format}) to {path}", file=sys.stderr)
    if not args.ema and "G_ema" in run.recipe.nets:
        print("gankit: note: this run keeps the weight average G_ema, which 'gankit sample' "
              "uses; --ema exports that one", file=sys.stderr)
    print(path)


def cmd_experiment(args: argparse.Namespace) -> None:
    from gankit.experiments import EXPERIMENTS

    if args.name == "list":
        print("\n".join(EXPERIMENTS.names()))
        return
    _print_result(EXPERIMENTS[args.name](args.out / args.name, quick=args.quick))


def cmd_view(args: argparse.Namespace) -> None:
    from gankit.configuration.resolve import build_config
    from gankit.view.server import serve
    from gankit.view.session import base_config_data
    from gankit.view.settings import check_base

    base, opened = base_config_data(args.source)
    check_base(build_config(base), str(args.source))  # a config the view cannot draw: now
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        warnings.warn(f"--host {args.host}: the view answers every machine that reaches this "
                      f"address, and runs whatever training it is sent", stacklevel=1)
    serve(base, args.runs, opened, args.host, args.port)


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
    import shtab

    print(shtab.complete(_parser(), shell=args.shell))


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "translate": cmd_translate,
            "eval": cmd_eval, "export": cmd_export,
            "experiment": cmd_experiment, "configs": cmd_configs, "config": cmd_config,
            "completion": cmd_completion, "view": cmd_view}


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(f"gankit: warning: {message}\n")  # one write: no signal between the two


def main(argv: list[str] | None = None) -> int:
    previous_handlers = interrupts.install()  # first: a signal during start-up is one line too
    try:
        return _run(argv)
    finally:
        interrupts.restore(previous_handlers)


def _run(argv: list[str] | None) -> int:
    previous_showwarning = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as done:  # --help, --version, or a usage error already printed
            return done.code if isinstance(done.code, int) else 2
        COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        if (signum := interrupts.ignore_from_now()) is not None:  # it came, it was not raised
            raise interrupts.Interrupted(signum)
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more can be said, and that is fine.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except interrupts.Interrupted as stop:
        print(f"gankit: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:  # SIGINT before gankit's handler was installed
        print("gankit: interrupted by SIGINT", file=sys.stderr)
        return 128 + signal.SIGINT
    except GankitError as err:
        print(f"gankit: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path the user gave cannot be read or written
        print(f"gankit: error: {err.strerror or err}: {err.filename or ''}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as err:
        if isinstance(err, RuntimeError) and not _out_of_memory(err):
            raise
        print("gankit: error: out of memory; use a smaller batch_size, width or sample count",
              file=sys.stderr)
        return 2
    finally:
        interrupts.ignore_from_now()  # the outcome is decided; a late signal changes nothing
        warnings.showwarning = previous_showwarning
        if "gankit.training.distributed" in sys.modules:
            sys.modules["gankit.training.distributed"].shutdown()
    return 0


def _out_of_memory(err: RuntimeError) -> bool:
    """torch's allocators raise RuntimeError (CUDA: its OutOfMemoryError subclass), not
    MemoryError; the planner (gankit.training.memory) refuses known sizes before, this is the
    rest."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(err, torch.OutOfMemoryError):
        return True
    return "can't allocate memory" in str(err) or "not enough memory" in str(err)


if __name__ == "__main__":
    sys.exit(main())
