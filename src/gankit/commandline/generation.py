"""The commands that write what a trained run makes: ``gankit sample`` (samples from noise),
``gankit translate`` (an image-to-image run's outputs) and ``gankit export`` (the generator
alone)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from gankit.commandline.flags import device_override, sampler_settings, say_checkpoint
from gankit.configuration.messages import show_value
from gankit.errors import GankitError


def cmd_sample(args: argparse.Namespace) -> None:
    from gankit.api import load
    from gankit.storage.files import check_output, written_in_place
    from gankit.storage.sample_files import check_metadata, write_metadata, write_samples

    settings = sampler_settings(args)
    out = check_output(args.out, "folder" if args.format == "png-dir" else "file", args.overwrite)
    check_metadata(out, args.overwrite)
    if args.trace is not None:  # before the chains, not after them
        args.trace = check_output(args.trace, "file", args.overwrite, "--trace")
        if not written_in_place(out) and args.trace.resolve() == out.resolve():
            raise GankitError(f"--trace {args.trace} is --out too; give the plot its own file")
    codes = _codes(args.code)
    run = load(args.run_dir, device_override(args), progress=False, checkpoint=args.checkpoint)
    run.fixed_codes(args.label, codes)  # a wrong --class or --code: one line before any work
    source = run.sampler(settings)
    samples = run.sample(args.n, args.seed, source, labels=args.label, codes=codes)
    _report_chains(args, source)
    path = write_samples(samples, out, args.format, args.overwrite, decides=True)
    write_metadata(path, {**run.checkpoint.record(), "n": args.n, "seed": args.seed,
                          "format": args.format, "sampler": settings.describe() or "prior",
                          "class": args.label, "codes": codes})
    say_checkpoint(run)
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


def cmd_translate(args: argparse.Namespace) -> None:
    from gankit.api import load
    from gankit.data.image_files import read_input_images
    from gankit.storage.files import check_output
    from gankit.storage.sample_files import check_metadata, write_metadata, write_png_dir

    out = check_output(args.out, "folder", args.overwrite)
    check_metadata(out, args.overwrite)
    run = load(args.run_dir, device_override(args), progress=False, checkpoint=args.checkpoint)
    if not run.recipe.translates:  # before reading any image
        raise GankitError(f"gankit translate needs an image-to-image run (recipe pix2pix or "
                          f"cyclegan); {args.run_dir} is a run of recipe {run.config.recipe}, "
                          f"which generates from noise: use gankit sample")
    run.recipe.translator(args.direction)  # a direction the recipe lacks: one line
    spec = run.data.spec
    channels, size = (spec.shape if args.direction == "AtoB" else spec.shape_b)[:2]
    images, files = read_input_images(args.input, size, channels)
    _say_conversions(Path(args.input), files, channels, size)
    names = [f"{Path(file).with_suffix('').as_posix()}.png" for file in files]
    if clashes := [f for f, name in zip(files, names, strict=True) if names.count(name) > 1]:
        raise GankitError(f"--input files {', '.join(clashes[:5])} would all be written as one "
                          f"PNG (one name, several suffixes); rename them")
    outputs = run.translate(images, args.direction)
    path = write_png_dir(outputs, out, names, args.overwrite, decides=True)
    write_metadata(path, {**run.checkpoint.record(), "direction": args.direction,
                          "input": str(args.input)})
    say_checkpoint(run)
    print(f"translated {len(outputs)} images {args.direction} into {path}", file=sys.stderr)
    print(path)


def _say_conversions(given: Path, files: list[str], channels: int, size: int) -> None:
    """Warn in one line each when input files were changed to fit the run: colour files made
    grey for a 1-channel run (ITU-R 601-2 luma, so hue is lost) or grey files colour for a
    3-channel run (the grey value in R, G and B), and files of another size resized and
    cropped to the run's square."""
    from gankit.data.image_files import stored_form

    paths = [given] if given.is_file() else [given / name for name in files]
    forms = [stored_form(path) for path in paths]
    if converted := sum(colour == (channels == 1) for colour, _ in forms):
        if channels == 1:
            what, how = "colour", "grey images (1 channel): converted by ITU-R 601-2 luma"
        else:
            what, how = "grey", "colour images (3 channels): each grey value repeated in R, G, B"
        warnings.warn(f"{converted} of {len(paths)} --input files are {what}; this run takes "
                      f"{how}", stacklevel=2)
    if resized := sum(shape != (size, size) for _, shape in forms):
        warnings.warn(f"{resized} of {len(paths)} --input files are not {size}x{size} px, the "
                      f"run's size: resized (shorter side to {size}) and center-cropped",
                      stacklevel=2)


def cmd_export(args: argparse.Namespace) -> None:
    from gankit.api import load
    from gankit.storage.export import export_generator
    from gankit.storage.files import check_output

    out = check_output(args.out, "file", args.overwrite)  # before loading the run
    run = load(args.run_dir, ["train.device=cpu"], progress=False, checkpoint=args.checkpoint)
    chosen = run.checkpoint
    path = export_generator(run.recipe, args.format, out, args.ema, args.overwrite,
                            {k: str(v) for k, v in chosen.record().items()})  # as sample's
    say_checkpoint(run)
    which = "G_ema" if args.ema else "G"
    print(f"wrote the generator {which} ({args.format}) to {path}", file=sys.stderr)
    if not args.ema and "G_ema" in run.recipe.nets:
        print("gankit: note: this run keeps the weight average G_ema, which 'gankit sample' "
              "uses; --ema exports that one", file=sys.stderr)
    print(path)
