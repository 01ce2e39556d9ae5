"""``gankit runs`` and ``gankit compare``: a folder of runs as a table, and runs' curves side by
side. Both read JSON, YAML and metrics.jsonl only (:mod:`gankit.training.run_index`,
:mod:`gankit.training.run_comparison`): no torch, so they answer at once."""

from __future__ import annotations

import argparse
import sys


def cmd_runs(args: argparse.Namespace) -> None:
    from gankit.training.run_index import format_table, list_runs, table_rows
    from gankit.training.runlog import to_json

    runs = list_runs(args.directory, args.sort, args.reverse)
    if args.json:
        print(to_json([run.record() for run in runs]))
    elif not runs:
        print(f"no runs in {args.directory} (a run is a folder holding config.yaml)",
              file=sys.stderr)
    else:
        print(format_table(table_rows(runs)))


def cmd_compare(args: argparse.Namespace) -> None:
    from gankit.training.run_comparison import compare_runs, table_rows
    from gankit.training.run_index import format_table

    curves = compare_runs(args.runs, args.metric, args.out, args.overwrite)
    if args.metric is None:
        print(f"comparing {curves[0].metric} (--metric chooses another)", file=sys.stderr)
    print(format_table(table_rows(curves)))
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
