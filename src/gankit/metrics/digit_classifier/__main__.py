"""``python -m gankit.metrics.digit_classifier --data NAME --out FILE``: train one shipped
classifier and write its weights file."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import torch

from gankit.errors import GankitError
from gankit.metrics.digit_classifier.training import (
    TRAINING,
    train_classifier,
    training_settings,
)
from gankit.metrics.digit_classifier.weights_file import save_classifier
from gankit.storage.files import OVERWRITE_HELP, check_output


def main(argv: Sequence[str] | None = None) -> None:
    """Train one shipped classifier and write its weight file (one CPU thread: reproducible)."""
    parser = argparse.ArgumentParser(prog="python -m gankit.metrics.digit_classifier",
                                     description=main.__doc__)
    parser.add_argument("--data", required=True, choices=sorted(TRAINING))
    parser.add_argument("--out", required=True, help=f"the weights file ({OVERWRITE_HELP})")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: the data set's")
    args = parser.parse_args(argv)
    try:  # before the minutes of training
        out = check_output(args.out, "file", args.overwrite)
    except GankitError as err:
        parser.error(str(err))
    torch.set_num_threads(1)
    start = time.perf_counter()
    epochs = training_settings(args.data).epochs if args.epochs is None else args.epochs
    classifier, accuracy = train_classifier(args.data, args.seed, epochs, progress=True)
    digest = save_classifier(classifier, out, accuracy=accuracy, seed=args.seed,
                             epochs=epochs)
    print(f"held-out accuracy {accuracy:.4f} ({args.data}, seed {args.seed}, {epochs} epochs, "
          f"{time.perf_counter() - start:.0f} s)")
    print(f"wrote {out} ({out.stat().st_size} bytes) sha256 {digest}")


if __name__ == "__main__":
    main()
