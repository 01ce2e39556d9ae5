"""The shipped generators' records (``src/gankit/pretrained/NAME.json``) as the docs show them:
``<!-- generated: pretrained NAME -->`` writes what NAME is, how it was trained, the command
that trains it again and the metrics of the weights that ship, with their settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parents[2] / "src" / "gankit" / "pretrained"
SETTINGS = ("step", "n", "n_real", "features", "seed")  # how the metrics were measured


def render(name: str) -> str:
    record = json.loads((FOLDER / f"{name}.json").read_text())
    metrics = record["metrics"]
    size = (FOLDER / f"{name}.safetensors").stat().st_size
    hardware = record["hardware"] or {}
    settings = ", ".join(f"{key} {metrics[key]}" for key in SETTINGS
                         if metrics.get(key) is not None)
    stored = record["storage"] + (f" (outputs within {record['storage_max_abs_diff']:.1e} of "
                                  f"float32's)" if record["storage"] != "float32" else "")
    lines = [
        f"{record['about'][:1].upper()}{record['about'][1:]}. "
        f"Config `{record['config_name']}` with "
        + ", ".join(f"`{pair}`" for pair in record["overrides"])
        + f"; {record['network']} of {record['parameters']:,} parameters, "
          f"{size / 2**20:.2f} MB as {stored}. Trained for "
          f"{record['train_seconds']:.0f} s on one thread of a shared {hardware.get('cpu', 'CPU')} "
          f"({hardware.get('cpu_capability', '')}, precision {hardware.get('precision', '?')}), "
          f"gankit {record['gankit_version']}, {record['date']}.",
        "",
        "<!-- no-test: trains for minutes -->",
        "```bash",
        record["command"],
        "```",
        "",
        f"Metrics of the shipped weights ({settings}):",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {key} | {_number(value)} |" for key, value in metrics.items()
          if key not in SETTINGS),
    ]
    return "\n".join(lines)


def _number(value: Any) -> str:
    """Four significant digits for a float; anything else as it is."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


RENDERERS = {"pretrained": render}
