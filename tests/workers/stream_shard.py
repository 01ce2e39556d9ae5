"""Run under torchrun by tests/test_streaming.py: stream FOLDER in global batches of 4 for
3 steps and write the names this rank read, a list per step, to OUT/read-RANK.json."""

import json
import sys
from pathlib import Path

import torch.distributed as dist

from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS
from gankit.data.archives import ImageArchive

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
dist.init_process_group("gloo")
rank, size = dist.get_rank(), dist.get_world_size()
read: list[str] = []
original = ImageArchive.read


def recording(self: ImageArchive, name: str, *args: int):  # every file this process decodes
    read.append(name)
    return original(self, name, *args)


ImageArchive.read = recording
source = DATASETS["image-folder"](DataConfig(name="image-folder", path=str(folder),
                                             stream="always", workers=0))
stream = source.stream(4, 0, rank, size)
steps = []
for _ in range(3):
    before = len(read)
    stream.next_batch()
    steps.append(read[before:])
(out / f"read-{rank}.json").write_text(json.dumps(steps))
dist.destroy_process_group()
