"""``main()``, the ``gankit`` command's entry point (also ``python -m gankit.commandline.cli``):
parse, run the subcommand's handler, and turn every outcome into one line on stderr and an exit
status (the conventions are in :mod:`gankit.commandline`): 0 done, 2 a user's mistake or out of
memory, 128 + the signal number for SIGINT or SIGTERM, 0 quietly for a closed pipe.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings

from gankit.commandline.comparison import cmd_metrics
from gankit.commandline.features import cmd_features
from gankit.commandline.generation import cmd_export, cmd_sample, cmd_translate
from gankit.commandline.inspection import (
    cmd_completion,
    cmd_config,
    cmd_configs,
    cmd_eval,
    cmd_experiment,
    cmd_view,
)
from gankit.commandline.parser import build_parser
from gankit.commandline.runs import cmd_compare, cmd_runs
from gankit.commandline.training import cmd_train
from gankit.errors import GankitError
from gankit.training import interrupts

COMMANDS = {"train": cmd_train, "sample": cmd_sample, "translate": cmd_translate,
            "eval": cmd_eval, "metrics": cmd_metrics, "export": cmd_export,
            "features": cmd_features,
            "experiment": cmd_experiment, "configs": cmd_configs, "config": cmd_config,
            "completion": cmd_completion, "view": cmd_view,
            "runs": cmd_runs, "compare": cmd_compare}


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(f"gankit: warning: {message}\n")  # one write: no signal between the two


def main(argv: list[str] | None = None) -> int:
    previous_handlers = interrupts.install()  # first: a signal during start-up is one line too
    notes = _InfoLines()  # gankit's info lines (logging), said as one line each
    logger = logging.getLogger("gankit")
    logger.addHandler(notes)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        return _run(argv)
    finally:
        logger.removeHandler(notes)
        logger.setLevel(level)
        interrupts.restore(previous_handlers)


class _InfoLines(logging.Handler):
    """Library notes (``logging.getLogger("gankit...").info``) as ``gankit: NOTE`` on stderr;
    API callers see them only if they configure logging."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"gankit: {record.getMessage()}\n")


def _run(argv: list[str] | None) -> int:
    previous_showwarning = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        try:
            args = build_parser().parse_args(argv)
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
