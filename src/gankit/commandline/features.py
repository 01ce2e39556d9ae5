"""``gankit features fit DATA --out FILE``: fit a feature space to a data set's real images
(:mod:`gankit.metrics.learned`), for ``--features FILE`` and ``data.features``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gankit.commandline.output import print_result


def fitting_overrides(data: str, image_size: int | None, channels: int | None
                      ) -> tuple[str, list[str]]:
    """The config and ``--set`` overrides whose data the features are fitted on: a folder is
    ``image-folder`` with ``data.path`` set (so its images are read at the size and channels
    a run on it trains at), anything else a shipped config name or YAML file."""
    overrides = [f"data.image_size={image_size}"] if image_size else []
    if Path(data).expanduser().is_dir():
        return "image-folder", [f"data.path={data}", *overrides,
                                *([f"data.channels={channels}"] if channels else [])]
    if channels:
        overrides.append(f"data.channels={channels}")
    return data, overrides


def cmd_features(args: argparse.Namespace) -> None:
    from gankit.configuration.resolve import load_config
    from gankit.data.sources import build_data
    from gankit.errors import GankitError
    from gankit.metrics.learned import fit, save
    from gankit.storage.files import check_output

    out = check_output(args.out, "file", args.overwrite)
    name, overrides = fitting_overrides(args.data, args.image_size, args.channels)
    config = load_config(name, overrides)
    data = build_data(config.data)
    if getattr(data, "kind", None) != "images":
        raise GankitError(f"features are fitted on image data; {args.data} is "
                          f"{getattr(data, 'kind', type(data).__name__)} data")
    source = args.data if name == args.data else str(Path(args.data).expanduser().resolve())
    fitted = fit(data, args.steps, args.seed, args.batch_size, source, not args.no_progress)
    print(f"wrote {save(fitted, out)}", file=sys.stderr)
    print_result({"features": fitted.name, "file": str(out), **fitted.fitted})
