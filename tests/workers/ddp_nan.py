"""Run under torchrun by tests/test_distributed.py: rank 1 alone gets a NaN loss at step 3;
every process must stop with NonFiniteLossError (none may wait forever in an all-reduce)."""

import json
import sys
from pathlib import Path

import torch

import gankit
from gankit.errors import NonFiniteLossError
from gankit.training import distributed

torch.set_num_threads(1)
out, config = Path(sys.argv[1]), json.loads(sys.argv[2])
run = gankit.build(config, progress=False, snapshots=False)
rank, run_phase = run.trainer.rank, run.recipe.run_phase


def poisoned(phase, ctx):
    output = run_phase(phase, ctx)
    if rank == 1 and run.trainer.step >= 2:
        output.terms["d_loss" if phase.name == "d" else "g_loss"] *= float("nan")
    return output


run.recipe.run_phase = poisoned
try:
    run.fit(10)
except NonFiniteLossError as err:
    (out / f"rank-{rank}.txt").write_text(str(err))
distributed.shutdown()
