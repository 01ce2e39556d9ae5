"""Training under torchrun with 2 CPU processes (gloo): identical replicas, and the same run as one
process with the same global batch.

Tolerance: each process averages its half-batch loss gradient and the two are averaged again,
which equals the full-batch mean gradient up to float32 rounding (~1e-7 relative per step);
after 20 Adam steps weights agree to 1e-5 and logged losses to 1e-4 relative.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import gankit
from gankit.errors import GankitError

WORKER = Path(__file__).parent / "workers" / "ddp_run.py"
STEPS = 20


def torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={nproc}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("sections", [
    {"loss": {"name": "non-saturating"}},
    {"loss": {"name": "wgan-gp"}},
    # BEGAN's k_t (a buffer, compared below) must follow the energies of the global batch
    {"recipe": "began", "began": {"lambda_k": 0.05}},
], ids=["non-saturating", "wgan-gp", "began"])
def test_two_processes_keep_identical_replicas_and_match_one_process(tiny, tmp_path, sections):
    config = tiny(**sections, train={"log_every": 5, "n_critic": 2})
    done = torchrun(str(WORKER), str(tmp_path), json.dumps(config), str(STEPS))
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [load_file(str(tmp_path / f"rank-{r}.safetensors")) for r in (0, 1)]
    logs = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [log["world_size"] for log in logs] == [2, 2]
    assert ranks[0].keys() == ranks[1].keys()
    for key in ranks[0]:  # bit-identical: same start, same averaged gradients
        assert torch.equal(ranks[0][key], ranks[1][key]), key

    single = gankit.build(config, progress=False, snapshots=False)
    history = single.fit(STEPS)
    for key, value in single.recipe.nets.state_dict().items():
        torch.testing.assert_close(ranks[0][key], value, rtol=1e-4, atol=1e-5)
    distributed_history = logs[0]["history"]
    assert len(distributed_history) == len(history) == STEPS // 5
    for ours, reference in zip(distributed_history, history, strict=True):
        for key in ("d_loss", "g_loss"):
            assert ours[key] == pytest.approx(reference[key], rel=1e-4, abs=1e-6)


def test_cyclegans_history_pool_is_one_pool_over_the_processes(tmp_path):
    """Each process gathers the global batch of translations into the same pool: the replicas'
    pools are identical and equal a single process's, so rank 0's checkpoint holds them all."""
    config = {"recipe": "cyclegan",
              "data": {"name": "thin2thick", "image_size": 12, "batch_size": 4, "n_eval": 16},
              # no norms: a bias before instance norm has no gradient but rounding noise,
              # which Adam scales up to a full step, so replicas of 2 and of 1 process would
              # differ by ~lr there while computing the same images
              "model": {"g_hidden": 4, "g_depth": 1, "d_hidden": 4, "d_depth": 1,
                        "g_norm": "none", "d_norm": "none"},
              "cyclegan": {"pool_size": 6},
              "train": {"steps": 8, "precision": "fp32", "log_every": 4, "seed": 0,
                        "plot_every": 1000, "checkpoint_every": 1000}}
    done = torchrun(str(WORKER), str(tmp_path), json.dumps(config), "8")
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [load_file(str(tmp_path / f"rank-{r}.safetensors")) for r in (0, 1)]
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), key
    single = gankit.build(config, progress=False, snapshots=False)
    single.fit(8)
    assert int(ranks[0]["pool_a.count"]) == 6  # full: the last steps drew from the history
    for key, value in single.recipe.nets.state_dict().items():  # pools included
        torch.testing.assert_close(ranks[0][key], value, rtol=1e-4, atol=1e-5)


def test_a_non_finite_loss_in_one_process_stops_every_process(tiny, tmp_path):
    done = torchrun(str(WORKER.with_name("ddp_nan.py")), str(tmp_path), json.dumps(tiny()))
    # What matters is that both processes raise rather than hang (torchrun's timeout would end
    # this run); gloo's teardown after the error occasionally aborts one process (exit -6),
    # so the exit code is not asserted, only each process's own report of the error.
    for rank in (0, 1):
        assert (tmp_path / f"rank-{rank}.txt").is_file(), done.stderr[-3000:]
        message = (tmp_path / f"rank-{rank}.txt").read_text()
        assert "non-finite loss in phase 'd' at step 3" in message


def test_cli_under_torchrun_then_resume_with_one_process(tiny, tmp_path):
    config_file = tmp_path / "tiny.yaml"
    config_file.write_text(json.dumps(tiny(train={"checkpoint_every": 5})))
    out = tmp_path / "run"
    done = torchrun("-m", "gankit", "train", str(config_file), "--out", str(out),
                    "--no-progress", "--set", "train.steps=10")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("run directory:") == 1  # only rank 0 reports
    assert json.loads(done.stdout)["step"] == 10  # and its stdout is the one result
    assert sorted(p.name for p in (out / "checkpoints").iterdir())[-1].endswith("10")
    resumed = gankit.load(out, ["train.steps=20"], progress=False)
    resumed.trainer.hooks = []
    resumed.fit()
    reference = gankit.build(tiny(), progress=False, snapshots=False)
    reference.fit(20)
    for a, b in zip(resumed.recipe.parameters(), reference.recipe.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_batch_must_split_evenly_over_processes(tiny, monkeypatch):
    from gankit.training import distributed

    monkeypatch.setattr(distributed, "world", lambda: (0, 3))
    with pytest.raises(GankitError, match=r"batch_size \(32\).*processes \(3\)"):
        gankit.build(tiny(), progress=False, snapshots=False)


def test_shard_takes_this_process_rows():
    from gankit.training.distributed import shard

    x = torch.arange(12).reshape(6, 2)
    assert torch.equal(torch.cat([shard(x, r, 3) for r in range(3)]), x)
    assert torch.equal(shard(x, 1, 2), x[3:])
