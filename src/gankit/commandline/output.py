"""A command's result on stdout: one JSON object (``train``, ``eval``, ``experiment``), so that
``gankit train ring8 | jq .modes`` works; everything else goes to stderr."""

from __future__ import annotations


def print_result(record: dict) -> None:
    from gankit.training.runlog import to_json

    print(to_json(record), flush=True)
