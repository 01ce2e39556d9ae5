"""The command line's flags: their types (one-line refusals, like a config key's), the choices
the registries declare in source, and the flags several commands share (--set, --device, the
latent sampler's group), each beside the function that reads it back.

Nothing here imports torch: the registries' entries are read from their declarations
(:func:`gankit.registry.declared`), so ``--help`` and shell completion answer at once.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from gankit.configuration.messages import range_problem, show_value
from gankit.configuration.schema import DEVICE, DEVICES, INT64_RANGE, SEED_RANGE, is_feature_file
from gankit.errors import GankitError
from gankit.registry import Declaration, declared
from gankit.sampling.settings import DEFAULT_SAMPLER, option_problem


# The registries whose entries the parser offers, read from their declarations in the source
# (gankit.registry.declared): choices, help and flags without importing torch or the entries.
@cache
def _declared(registry: str) -> dict[str, Declaration]:
    return declared(registry)


def export_formats() -> dict[str, Declaration]:
    return _declared("gankit.storage.export:EXPORT_FORMATS")


def feature_extractors() -> dict[str, Declaration]:
    return _declared("gankit.metrics.extractors:FEATURE_EXTRACTORS")


def samplers() -> dict[str, Declaration]:
    return _declared("gankit.sampling.settings:SAMPLERS")


def weighted_features() -> list[str]:
    """The feature extractors that read a weights file (``--weights``)."""
    return [name for name, d in feature_extractors().items() if d.facts.get("weights")]


def feature_space(text: str) -> str:
    """A --features flag: a registered feature space, or a feature file (``*.safetensors``
    from ``gankit features fit``, or any existing file), which is read when it is used."""
    if is_feature_file(text, feature_extractors()):
        return str(Path(text).expanduser())
    if text in feature_extractors():
        return text
    raise argparse.ArgumentTypeError(f"must be {', '.join(feature_extractors())} or a feature "
                                     f"file (*.safetensors, from 'gankit features fit'), got "
                                     f"{show_value(text)}")


def listing(entries: dict[str, Declaration]) -> str:
    """``name: summary; ...`` for a flag's help."""
    return "; ".join(f"{name}: {d.summary}" if d.summary else name for name, d in entries.items())


def path(text: str) -> Path:
    """A path flag; ``~`` expands even where the shell leaves it (``--out=~/runs``)."""
    return Path(text).expanduser()


def add_output(parser: argparse.ArgumentParser, what: str, metavar: str = "FILE",
               required: bool = True, default: str | None = None) -> None:
    """--out (kept as the text given, which the handler checks before any work with
    :func:`gankit.storage.files.check_output`: an empty one is not the current directory) and
    --overwrite, with the commands' one overwrite policy in the help."""
    from gankit.storage.files import OVERWRITE_HELP

    parser.add_argument("--out", required=required, default=default, metavar=metavar,
                        help=f"{what} ({OVERWRITE_HELP})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output file, or a folder of PNGs")


def int_in(low: int, high: int) -> Callable[[str], int]:
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


COUNT = int_in(1, INT64_RANGE[1])  # a sample count: torch takes sizes as int64
SEED = int_in(*SEED_RANGE)  # the seeds train.seed allows
# a class index (--class): int64, as torch holds labels; the run's class count is checked when
# the run is loaded (gankit.models.latent_layout), before any sample is drawn
CLASS_INDEX = int_in(0, INT64_RANGE[1])


def add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.lr_d=2e-4 (repeatable)")


def add_device(parser: argparse.ArgumentParser,
               default: str = "the run's train.device") -> None:
    parser.add_argument("--device", type=_device_name,
                        help=f"run on this device (default: {default})")


def _checkpoint_choice(text: str) -> str | int:
    """A --checkpoint flag: a step number, latest or best (:mod:`gankit.training.choice`)."""
    from gankit.training.choice import parse_choice

    try:
        return parse_choice(text, "")  # argparse names the flag
    except GankitError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_checkpoint(parser: argparse.ArgumentParser) -> None:
    """--checkpoint STEP|latest|best: which checkpoint of the run a command reads."""
    parser.add_argument("--checkpoint", type=_checkpoint_choice, metavar="STEP|latest|best",
                        help="the run's checkpoint to read: a step number, latest (default: "
                             "the newest intact one) or best (train.keep_best's list); "
                             "RUN_DIR may also be a checkpoint folder RUN/checkpoints/step-N")


def say_checkpoint(run: Any) -> None:  # run: gankit.Run
    """The checkpoint a command read, on stderr: ``gankit: using checkpoint step 1200 (best
    fid 31.4) of runs/x``; said once the command has done its work, so that a refusal stays
    the one line it prints."""
    print(f"gankit: using checkpoint {run.checkpoint.describe()}", file=sys.stderr)


def device_override(args: argparse.Namespace) -> list[str]:
    """A CUDA-trained run can be sampled or evaluated on a CPU machine with --device cpu."""
    return [f"train.device={args.device}"] if args.device else []


def _sampler_options() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each option any sampler declares -> (its declaration, {sampler: its default})."""
    options: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for name, declaration in samplers().items():
        for option, spec in declaration.facts.get("flags", {}).items():
            options.setdefault(option, (spec, {}))[1][name] = spec.get("default")
    return options


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def add_sampler(parser: argparse.ArgumentParser, trace: bool) -> None:
    """--sampler and the union of the samplers' declared options (an option two samplers
    declare takes the first one's type and help), each flag defaulting to None so that the
    chosen sampler's own default applies (:class:`SamplerSettings`)."""
    declarations = samplers()
    group = parser.add_argument_group(
        "latent sampler", f"where z comes from: {listing(declarations)}")
    group.add_argument("--sampler", choices=tuple(declarations), default=DEFAULT_SAMPLER,
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
        chains = [name for name, d in declarations.items() if d.facts.get("chains")]
        group.add_argument("--trace", metavar="PNG",
                           help=f"{' / '.join(chains)}: plot the chains' energy and acceptance "
                                f"per step (checked and replaced like --out)")


def _option_type(spec: dict[str, Any]) -> Callable[[str], Any]:
    """A declared option's parser: ``int`` in its ``range``; ``float`` checked as the
    computation will see it, in float32 (:func:`gankit.sampling.settings.option_problem`), so
    that ``--step-size 1e-320`` is refused here rather than run as 0."""
    if spec.get("type") == "int":
        return int_in(*spec.get("range", INT64_RANGE))

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {show_value(text)}") from None
        if problem := option_problem(spec, value):
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def sampler_settings(args: argparse.Namespace):  # -> SamplerSettings (imported lazily)
    """--sampler and its flags; a flag the chosen sampler does not read is refused."""
    from gankit.sampling.settings import SamplerSettings

    facts = samplers()[args.sampler].facts
    allowed = facts.get("flags", {})
    given = {name: getattr(args, name) for name in _sampler_options()
             if getattr(args, name) is not None}
    for name in given.keys() - set(allowed):
        raise GankitError(f"{_flag(name)} does not apply to --sampler {args.sampler} (its "
                          f"flags: {', '.join(map(_flag, allowed)) or 'none'})")
    if getattr(args, "trace", None) is not None and not facts.get("chains"):
        raise GankitError(f"--trace plots MCMC chains, and --sampler {args.sampler} runs none")
    return SamplerSettings(args.sampler, **given)
