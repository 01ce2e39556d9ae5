"""Streaming image-folder from disk (gankit.data.streaming): how fast, and in how much memory.

1. Throughput at 64 px, batch 64: images/s that a stream delivers from a folder and from a zip
   archive of 64 px PNGs with 0, 1 and 2 DataLoader workers, against the in-memory source's
   batches and against what the trainer consumes (the shipped image-folder config's DCGAN-64,
   one step = one batch of 64 real images), all measured in this run on one torch thread.
2. Memory: a folder of about 4 GB of 512x512 noise BMPs (the fastest to write), generated
   here and deleted after (also on error), trains 50 steps of a tiny DCGAN at 64 px streamed
   with 2 workers in a child process; the peak resident memory of that process and its
   workers is read from /proc (VmHWM, each process's own peak, summed: an upper bound of the
   peak at any one moment, since forked workers share pages with their parent that each one's
   RSS counts again; and the largest sum of PSS polled every 0.1 s, which counts shared pages
   once). Target: < 1.5 GB.

Files just written sit in the page cache, so "from disk" is from the cache here: a cold disk is
slower, and more workers hide more of it.

    nice -n 5 .venv/bin/python benchmarks/streaming.py [--gb 4] [--out FILE]

Writes benchmarks/results/streaming.json with the hardware.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

import gankit
from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS
from gankit.training.hardware import describe
from gankit.training.runlog import write_json

RESULTS = Path(__file__).parent / "results" / "streaming.json"
BATCH, SIZE, THROUGHPUT_FILES, BATCHES = 64, 64, 1024, 16
BIG_SIDE, TRAIN_STEPS, LIMIT = 512, 50, 1.5e9
TINY_DCGAN = ["model.g_hidden=16", "model.d_hidden=16", "model.latent_dim=32"]


def write_noise_images(folder: Path, n: int, side: int, suffix: str = ".png", seed: int = 0
                       ) -> int:
    """``n`` noise images of side x side in subfolders of 1,000 (PNG uncompressed; BMP, which
    writes 10x faster, for the 4 GB folder); their bytes."""
    rng = np.random.default_rng(seed)
    total = 0
    for i in tqdm(range(n), desc=f"writing {suffix} files", unit="file", leave=False):
        path = folder / f"{i // 1000:05d}" / f"img{i:08d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, **({"compress_level": 0} if suffix == ".png" else {}))
        total += path.stat().st_size
    return total


def zip_folder(folder: Path, path: Path) -> Path:
    """The folder as StyleGAN2-ADA's dataset_tool stores it: uncompressed members."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.rglob("*.png")):
            archive.write(file, file.relative_to(folder).as_posix())
    return path


def images_per_s(next_batch, batches: int = BATCHES) -> float:
    """Images/s of ``next_batch()`` over ``batches`` batches after one of warm-up (which
    starts the workers)."""
    next_batch()
    start = time.perf_counter()
    for _ in range(batches):
        next_batch()
    return batches * BATCH / (time.perf_counter() - start)


def throughput(root: Path) -> dict[str, float]:
    folder = root / "small"
    write_noise_images(folder, THROUGHPUT_FILES, SIZE)
    archive = zip_folder(folder, root / "small.zip")
    figures = {}
    memory = DATASETS["image-folder"](DataConfig(name="image-folder", path=str(folder),
                                                 stream="never"))
    generator = torch.Generator().manual_seed(0)
    figures["in_memory"] = images_per_s(lambda: memory.sample(BATCH, generator))
    for name, path in (("folder", folder), ("zip", archive)):
        for workers in (0, 1, 2):
            source = DATASETS["image-folder"](DataConfig(
                name="image-folder", path=str(path), stream="always", workers=workers))
            stream = source.stream(BATCH, 0)
            figures[f"{name}_workers{workers}"] = images_per_s(stream.next_batch)
            stream.close()
    run = gankit.build("image-folder", overrides=[f"data.path={folder}", "data.stream=never",
                                                  "train.threads=1"],
                       snapshots=False, progress=False)
    run.fit(2)  # warm-up
    start = time.perf_counter()
    run.fit(2 + 6)
    figures["trainer_dcgan64"] = 6 * BATCH / (time.perf_counter() - start)
    return figures


def peak_memory(pid: int, poll: float = 0.1) -> tuple[int, int, list[int]]:
    """Poll ``pid`` and its children until it exits: (the sum of each process's own peak RSS,
    VmHWM; the largest sum of PSS seen; the pids seen)."""
    hwm: dict[int, int] = {}
    pss_peak = 0
    while True:
        pids = [pid, *children(pid)]
        pss = 0
        for each in pids:
            status = read_proc(each, "status")
            if status is None:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    hwm[each] = max(hwm.get(each, 0), int(line.split()[1]) * 1024)
            rollup = read_proc(each, "smaps_rollup") or ""
            pss += sum(int(line.split()[1]) * 1024 for line in rollup.splitlines()
                       if line.startswith("Pss:"))
        pss_peak = max(pss_peak, pss)
        if read_proc(pid, "status") is None or _exited(pid):
            return sum(hwm.values()), pss_peak, sorted(hwm)
        time.sleep(poll)


def _exited(pid: int) -> bool:
    state = read_proc(pid, "stat")
    return state is None or state.split(")")[-1].split()[0] == "Z"


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (DataLoader workers are the trainer's children)."""
    found, todo = [], [pid]
    while todo:
        text = ""
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            text += read_proc_path(task / "children") or ""
        kids = [int(k) for k in text.split()]
        found += kids
        todo += kids
    return found


def read_proc(pid: int, name: str) -> str | None:
    return read_proc_path(Path(f"/proc/{pid}/{name}"))


def read_proc_path(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def train_big(folder: Path, run_dir: Path) -> None:
    """The child: 50 streamed steps of a tiny DCGAN-64 on ``folder`` (no snapshots)."""
    torch.set_num_threads(1)
    run = gankit.build("image-folder", run_dir=run_dir, snapshots=False, progress=False,
                       overrides=[f"data.path={folder}", "data.image_size=64",
                                  "data.stream=always", "data.workers=2", "train.threads=1",
                                  f"train.steps={TRAIN_STEPS}", *TINY_DCGAN])
    run.fit()


def memory_bound(root: Path, gigabytes: float) -> dict[str, object]:
    folder = root / "big"
    per_file = BIG_SIDE * BIG_SIDE * 3 + 54  # a BMP's header
    n = int(gigabytes * 1e9 / per_file)
    start = time.perf_counter()
    on_disk = write_noise_images(folder, n, BIG_SIDE, ".bmp", seed=1)
    written = time.perf_counter() - start
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--train-child", str(folder),
                              str(root / "run")], stderr=subprocess.PIPE, text=True)
    hwm_sum, pss_peak, pids = peak_memory(child.pid)
    _, err = child.communicate()
    if child.returncode:
        raise RuntimeError(f"the training child failed: {err[-2000:]}")
    return {"files": n, "side_px": BIG_SIDE, "bytes_on_disk": on_disk,
            "decoded_at_64px_bytes": n * 3 * 64 * 64, "seconds_to_write": round(written, 1),
            "train_steps": TRAIN_STEPS, "train_seconds": round(time.perf_counter() - start, 1),
            "processes": len(pids), "peak_rss_sum_bytes": hwm_sum, "peak_pss_sum_bytes": pss_peak,
            "under_1_5_gb": hwm_sum < LIMIT,
            "child_said": [line for line in err.splitlines() if line.startswith("gankit:")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=4.0, help="size of the generated folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--train-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_child:
        return train_big(*args.train_child)
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="gankit-streaming-"))
    free = shutil.disk_usage(root).free
    if free < 2.5 * args.gb * 1e9:
        raise SystemExit(f"{root} has {free / 1e9:.1f} GB free, the benchmark needs "
                         f"{2.5 * args.gb:.0f} GB")
    try:
        speeds = throughput(root)
        print(json.dumps(speeds, indent=1), flush=True)
        memory = memory_bound(root, args.gb)
        print(json.dumps(memory, indent=1), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    trainer = speeds["trainer_dcgan64"]
    record = {"hardware": describe("cpu"), "note": "torch on 1 thread; files in the page cache",
              "images_per_s": {k: round(v, 1) for k, v in speeds.items()},
              "ratio_to_trainer": {k: round(v / trainer, 2) for k, v in speeds.items()},
              "ratio_to_in_memory": {k: round(v / speeds["in_memory"], 3)
                                     for k, v in speeds.items()},
              "memory_4gb_folder": memory}
    write_json(args.out, record)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
