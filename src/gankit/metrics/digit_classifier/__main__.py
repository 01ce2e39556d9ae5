"""``python -m gankit.metrics.digit_classifier --data NAME --out FILE``: train one shipped
classifier and write its weights file."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from gankit.metrics.digit_classifier.training import (
    TRAINING,
    train_classifier,
    training_settings,
)
from gankit.metrics.digit_classifier.weights_file import save_classifier


def main(argv: Sequence[str] | None = None) -> None:
    """Train one shipped classifier and write its weight file (one CPU thread: reproducible)."""
    parser = argparse.ArgumentParser(prog="python -m gankit.metrics.digit_classifier",
                                     description=main.__doc__)
    parser.add_argument("--data", required=True, choices=sorted(TRAINING))
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: the data set's")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    epochs = training_settings(args.data).epochs if args.epochs is None else args.epochs
    classifier, accuracy = train_classifier(args.data, args.seed, epochs, progress=True)
    digest = save_classifier(classifier, args.out, accuracy=accuracy, seed=args.seed,
                             epochs=epochs)
    print(f"held-out accuracy {accuracy:.4f} ({args.data}, seed {args.seed}, {epochs} epochs, "
          f"{time.perf_counter() - start:.0f} s)")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) sha256 {digest}")


if __name__ == "__main__":
    main()
