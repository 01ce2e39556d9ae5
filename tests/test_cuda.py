"""CUDA paths, run by benchmarks/gpu_check.sh on a machine with a GPU (skipped elsewhere):
auto precision there, a bit-exact resume on the device, CPU sampling of a CUDA run, and a
training step that synchronizes with the host at most once."""

import pytest
import torch

from conftest import all_tensors, assert_identical, tiny_dict

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def cuda_run(make_run_on, **train):
    return make_run_on(train={"device": "cuda", **train})


@pytest.fixture
def make_run_on():
    from gankit.api import Run
    from gankit.configuration.resolve import build_config

    def make(run_dir=None, **sections):
        run = Run(build_config(tiny_dict(**sections)), run_dir, progress=False)
        run.trainer.hooks = []
        return run

    return make


def test_auto_precision_follows_the_gpu(make_run_on):
    run = make_run_on(train={"device": "cuda", "precision": "auto"})
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    assert run.trainer.autocast_dtype == expected


def test_resume_on_cuda_is_bit_identical(make_run_on, tmp_path):
    train = {"device": "cuda", "steps": 8, "precision": "auto"}
    straight = make_run_on(train=train)
    straight.fit()
    first = make_run_on(run_dir=tmp_path, train=train)
    first.fit(4)
    resumed = make_run_on(run_dir=tmp_path, train=train).restore()
    resumed.fit()
    assert_identical(all_tensors(straight), all_tensors(resumed))


def test_a_cuda_run_samples_the_same_on_the_cpu(make_run_on, tmp_path):
    import gankit

    run = make_run_on(run_dir=tmp_path, train={"device": "cuda", "steps": 3})
    run.fit()
    on_cpu = gankit.load(tmp_path, ["train.device=cpu"], progress=False)
    z = run.recipe.latent(16, torch.Generator("cuda").manual_seed(0))
    with torch.no_grad():
        run.recipe.eval(), on_cpu.recipe.eval()
        torch.testing.assert_close(run.recipe.decode(z).cpu(), on_cpu.recipe.decode(z.cpu()),
                                   atol=1e-5, rtol=1e-4)


def test_a_training_step_syncs_with_the_host_at_most_once(make_run_on):
    """The non-finite check is the step's only sync (losses are averaged on the device and read
    once per log_every)."""
    run = make_run_on(train={"device": "cuda", "steps": 3, "n_critic": 3,
                             "log_every": 1000})
    run.fit(1)  # warm-up: kernel selection, the fused optimizer's first step
    syncs = []
    torch.cuda.set_sync_debug_mode("warn")
    try:
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run.fit(3)
        syncs = [w for w in caught if "synchroniz" in str(w.message)]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    # 2 steps, one check each; the last step also logs (one copy of all figures)
    assert len(syncs) <= 2 + 1, [str(w.message) for w in syncs]
