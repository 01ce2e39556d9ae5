"""Run under torchrun by tests/test_distributed.py: train a tiny run, save this rank's weights
and the logged losses to OUT/rank-R.safetensors and OUT/rank-R.json."""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

import gankit
from gankit.training import distributed

torch.set_num_threads(1)
out, config, steps = Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
run = gankit.build(config, progress=False, snapshots=False)
history = run.fit(steps)
rank = run.trainer.rank
state = {k: v.contiguous() for k, v in run.recipe.nets.state_dict().items()}
save_file(state, str(out / f"rank-{rank}.safetensors"))
(out / f"rank-{rank}.json").write_text(json.dumps({"world_size": run.trainer.world_size,
                                                   "history": history}))
distributed.shutdown()
