"""``gankit train``: a new run from a config, or ``--resume`` of a run directory."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gankit.commandline.output import print_result
from gankit.errors import GankitError


def cmd_train(args: argparse.Namespace) -> None:
    from gankit.api import build, check_new_run_dir, load, resumes_in_place
    from gankit.configuration.resolve import load_config
    from gankit.storage.files import check_output
    from gankit.training.checkpoint import clean_checkpoints
    from gankit.training.choice import check_continuation, choose, run_of

    progress = not args.no_progress
    if args.continue_at_final_lr:  # a key like any other: recorded in config.yaml
        args.overrides = [*args.overrides, "train.on_extend=final_lr"]
    if args.out is not None:  # a run directory is written into: one that exists is fine
        args.out = check_output(args.out, "directory")
    if args.resume is not None:
        if args.config is not None:
            raise GankitError("give either CONFIG or --resume RUN_DIR, not both")
        in_place = resumes_in_place(run_of(args.resume), args.out)
        if in_place:  # before choosing the checkpoint; a run continued elsewhere is only read
            clean_checkpoints(run_of(args.resume))
            # an older checkpoint continued in place: refused before anything is loaded
            check_continuation(choose(args.resume, args.checkpoint), run_of(args.resume))
        run = load(args.resume, args.overrides, progress, out=args.out,
                   checkpoint=args.checkpoint)
        where = "" if in_place else f" in {run.run_dir}"
        chosen = run.checkpoint
        note = f", {chosen.note}" if chosen.note else ""
        print(f"resuming {args.resume} at step {run.step}{where} ({chosen.relative()}{note})",
              file=sys.stderr)
    else:
        if args.config is None:
            raise GankitError("train needs CONFIG (a YAML file or a shipped name) "
                              "or --resume RUN_DIR")
        if args.checkpoint is not None:
            raise GankitError("--checkpoint chooses where --resume RUN_DIR continues from; "
                              "a new run starts from none")
        load_config(args.config, args.overrides)  # a bad config: its line before the directory's
        stem = Path(args.config).stem
        out = args.out or Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        check_new_run_dir(out)
        # built from the name, not the config just read: the run records the name it came from
        run = build(args.config, args.overrides, run_dir=out, progress=progress)
    run.fit()
    if run.trainer.is_main:  # under torchrun the other processes are done
        print(f"run directory: {run.run_dir}", file=sys.stderr)
        record = run.result  # the final snapshot's metrics, already in eval.json
        if record is None:
            record = _final_record(run)
        print_result(record)


def _final_record(run) -> dict:  # run: gankit.Run
    """The record of a run whose last fit measured nothing (a finished run resumed), written
    to eval.json; images without a feature space are a warning here, not an error: the
    training itself went well."""
    import warnings

    from gankit.evaluation.plan import NoFeatureSpace

    try:
        record = run.eval_record()
    except NoFeatureSpace as err:
        warnings.warn(str(err), stacklevel=2)
        return {"step": run.step}
    run.save_evaluation(record)
    return record
