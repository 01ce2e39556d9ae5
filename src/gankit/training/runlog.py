"""Where a run's numbers go: ``metrics.jsonl`` (one JSON object a line), TensorBoard, and
strict-JSON figure files (eval.json, experiment results)."""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any

from gankit.storage.files import replace_atomically

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorBoard's optional TF import is noisy

# a PNG's colour type -> the channels it decodes to (grey, RGB, palette as RGB, grey + alpha,
# RGBA), TensorBoard's Summary.Image.colorspace
PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}


class RunLogger:
    """Appends scalar records to ``metrics.jsonl`` and TensorBoard under ``run_dir/tensorboard``.

    A record is ``{"step": int, name: float, ...}``; names with a ``/`` group in TensorBoard
    (``eval/modes``, ``lr/d``), and ``tags`` maps the others to their TensorBoard tag
    (``d_loss`` -> ``loss/d_loss``) while metrics.jsonl keeps the short names.
    """

    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._jsonl = open(self.run_dir / "metrics.jsonl", "a")
        self._tb = SummaryWriter(str(self.run_dir / "tensorboard"))

    def log(self, step: int, scalars: dict[str, float],
            tags: dict[str, str] | None = None) -> None:
        self._jsonl.write(json.dumps({"step": step, **scalars}) + "\n")
        self._jsonl.flush()
        for name, value in scalars.items():
            self._tb.add_scalar((tags or {}).get(name, name), value, step)

    def text(self, tag: str, text: str) -> None:
        """Text in TensorBoard's Text tab, shown verbatim (indented: a Markdown code block)."""
        self._tb.add_text(tag, "\n".join("    " + line for line in text.splitlines()))

    def hparams(self, config: dict[str, Any], metrics: dict[str, Any]) -> None:
        """The run's hyper-parameters (``train.lr_d``, ...) next to its final metrics in
        TensorBoard's HParams tab; the metrics are the ``eval/`` scalars already logged."""
        from torch.utils.tensorboard.summary import hparams

        flat = {f"{section}.{key}": value for section, values in config.items()
                if isinstance(values, dict) for key, value in values.items()
                if isinstance(value, (bool, int, float, str))}
        flat |= {key: value for key, value in config.items() if isinstance(value, str)}
        finals = {f"eval/{k}": float(v) for k, v in metrics.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "step"
                  and k not in flat and math.isfinite(v)}
        experiment, start, end = hparams(flat, finals)
        for summary in (experiment, start, end):
            self._tb.file_writer.add_summary(summary)

    def write_json(self, name: str, record: dict[str, Any]) -> None:
        write_json(self.run_dir / name, record)

    def image(self, tag: str, png: bytes, step: int) -> None:
        """Show a PNG (the bytes of a picture the snapshot wrote) in TensorBoard's Images tab
        too, as it is: TensorBoard stores an image encoded, and decoding the PNG to have
        ``add_image`` encode it again was a sixth of a snapshot's time."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        width, height = struct.unpack(">II", png[16:24])  # IHDR, the first chunk of any PNG
        channels = PNG_CHANNELS[png[25]]  # by the PNG's colour type
        image = Summary.Image(height=height, width=width, colorspace=channels,
                              encoded_image_string=png)
        self._tb.file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]),
                                         step)

    def close(self) -> None:
        self._jsonl.close()
        self._tb.close()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """All records of ``metrics.jsonl``; after a resume, later records of a step replace earlier.
    A line that is not a record with a step (cut short when a run was killed) is skipped."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    by_step: dict[int, dict[str, Any]] = {}
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a line cut short by a kill or a full disk, or an empty one
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            by_step.setdefault(record["step"], {}).update(record)
    return [by_step[s] for s in sorted(by_step)]


def to_json(record: dict[str, Any] | list[Any]) -> str:
    """Strict JSON: a non-finite figure (reverse KL with no high-quality sample) becomes null."""

    def finite(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return json.dumps(finite(record), indent=2, allow_nan=False)


def read_json_or_none(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when the file is missing or is not one."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Strict JSON to ``path``, whole or not at all (a full disk leaves the old file)."""
    text = to_json(record) + "\n"
    with replace_atomically(Path(path)) as tmp:
        tmp.write_text(text)
