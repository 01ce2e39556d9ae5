"""The ``gankit`` command, ``python -m gankit`` (and ``torchrun --nproc_per_node=N -m gankit``).

The signal handlers go in before the CLI's own imports, so that even a Ctrl-C during start-up
ends in one line and status 128 + signal (:mod:`gankit.training.interrupts`).
"""

import sys

from gankit.training import interrupts


def run() -> int:
    interrupts.install()
    try:
        from gankit.commandline.cli import main

        # main() installs the handlers afresh before its own try: a signal re-delivered after
        # the imports (interrupts._handle) can land there, outside main's catch
        status = main()
    except interrupts.Interrupted as stop:
        print(f"gankit: {stop}", file=sys.stderr)
        return 128 + stop.signum
    interrupts.ignore_while_exiting()  # the status is decided; shutting down takes a moment
    return status


if __name__ == "__main__":
    sys.exit(run())
