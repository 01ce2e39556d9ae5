"""train.precision: auto follows the hardware (detection mocked both ways), an emulated bf16 that
was asked for is kept with one warning, and the choice is announced and recorded."""

import json
import warnings

import pytest
import torch

from gankit.training import hardware
from gankit.training.checkpoint import checkpoint_dir, load_checkpoint, save_checkpoint
from gankit.training.hardware import bf16_native, choose_precision


@pytest.fixture
def native(monkeypatch):
    """oneDNN reports bf16 and the probe finds it 1.4x faster (an AMX CPU)."""
    monkeypatch.setattr(hardware, "onednn_bf16_supported", lambda: True)
    monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: 1.4)


@pytest.fixture
def emulated(monkeypatch):
    """oneDNN reports no bf16; bf16 runs 20x slower than fp32 (an AVX2-only CPU)."""
    monkeypatch.setattr(hardware, "onednn_bf16_supported", lambda: False)
    monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: 0.05)


CPU = torch.device("cpu")


def test_auto_is_bf16_where_native(native):
    choice = choose_precision("auto", CPU)
    assert choice.precision == "bf16" and choice.autocast_dtype == torch.bfloat16
    assert not choice.emulated and "1.4x faster" in choice.reason


def test_auto_is_fp32_where_emulated(emulated):
    choice = choose_precision("auto", CPU)
    assert choice.precision == "fp32" and choice.autocast_dtype is None
    assert not choice.emulated and "no native bf16" in choice.reason


def test_a_cpu_that_reports_bf16_but_runs_it_slowly_gets_fp32(monkeypatch):
    monkeypatch.setattr(hardware, "onednn_bf16_supported", lambda: True)
    monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: 0.5)
    native, why = bf16_native(CPU)
    assert not native and "2.0x slower" in why
    assert choose_precision("auto", CPU).precision == "fp32"


def test_forced_bf16_on_emulating_hardware_is_kept_and_names_the_slowdown(emulated):
    choice = choose_precision("bf16", CPU)
    assert choice.precision == "bf16" and choice.emulated
    assert "20.0x slower" in choice.reason and "auto" in choice.reason
    assert "\n" not in choice.reason


def test_fp32_is_never_probed(monkeypatch):
    def fail() -> bool:
        raise AssertionError("probed")

    monkeypatch.setattr(hardware, "onednn_bf16_supported", fail)
    assert choose_precision("fp32", CPU).precision == "fp32"


def test_cuda_follows_torch_cuda_is_bf16_supported(monkeypatch):
    for supported in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda s=supported: s)
        choice = choose_precision("auto", torch.device("cuda"))
        assert choice.precision == ("bf16" if supported else "fp32")


def test_the_probe_measures_a_real_ratio():
    ratio = hardware.cpu_bf16_speedup.__wrapped__(size=64, repeats=2)
    assert ratio > 0 and ratio == ratio  # a positive, finite number on any CPU


def test_auto_is_the_default_and_every_shipped_config_uses_it():
    from gankit.configuration.compose import shipped_configs
    from gankit.configuration.resolve import load_config
    from gankit.configuration.schema import TrainConfig

    assert TrainConfig().precision == "auto"
    datasets, losses = shipped_configs()
    for name in datasets + [f"mnist5k-{loss}" for loss in losses]:
        assert load_config(name).train.precision == "auto", name


@pytest.mark.parametrize("hardware_kind", ["native", "emulated"])
def test_the_trainer_runs_announces_and_records_the_choice(make_run, tmp_path, capsys, request,
                                                          hardware_kind):
    request.getfixturevalue(hardware_kind)
    run = make_run(run_dir=tmp_path, train={"precision": "auto", "steps": 2})
    expected = "bf16" if hardware_kind == "native" else "fp32"
    assert run.trainer.autocast_dtype == (torch.bfloat16 if expected == "bf16" else None)
    run.fit()
    run.fit(3)  # a second fit of the same trainer says nothing more
    err = capsys.readouterr().err
    assert err.count("gankit: precision") == 1 and f"precision {expected}" in err
    recorded = json.loads((tmp_path / "hardware.json").read_text())
    assert recorded["precision"] == expected and recorded["precision_requested"] == "auto"
    assert {"cpu", "cpu_capability", "onednn_bf16", "threads", "torch"} <= recorded.keys()


def test_forcing_bf16_where_emulated_warns_once(emulated, make_run, tmp_path):
    run = make_run(run_dir=tmp_path, train={"precision": "bf16", "steps": 2})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.fit()
    messages = [str(w.message) for w in caught if "emulates" in str(w.message)]
    assert len(messages) == 1 and "slower than fp32" in messages[0]
    assert run.trainer.autocast_dtype == torch.bfloat16  # asked for, so kept


def test_under_torchrun_auto_takes_bf16_only_if_every_process_has_it(monkeypatch):
    from gankit.training import distributed
    from gankit.training.hardware import PrecisionChoice, agreed_precision

    cpu = torch.device("cpu")
    bf16 = PrecisionChoice("bf16", "auto", "auto: native here")
    for mean, expected in ((1.0, "bf16"), (0.5, "fp32")):
        monkeypatch.setattr(distributed, "average",
                            lambda values, size, m=mean: {"bf16": torch.tensor(m)})
        assert agreed_precision(bf16, 2, cpu).precision == expected
    forced = PrecisionChoice("bf16", "bf16", "as configured")
    assert agreed_precision(forced, 2, cpu) is forced  # an explicit choice is the config's


# ------------------------------------------------------------------- resume under auto

N = 3  # steps per half of a resumed run


def test_auto_resume_keeps_the_checkpoints_precision_and_is_bit_exact(make_run, tmp_path,
                                                                     monkeypatch):
    """The probe that chose bf16 at the start finds it slower at the resume (a busy machine):
    the resumed run keeps bf16 from the checkpoint and ends where the straight run does."""
    from conftest import all_tensors, assert_identical

    speedup = {"now": 1.4}
    monkeypatch.setattr(hardware, "onednn_bf16_supported", lambda: True)
    monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: speedup["now"])
    train = {"precision": "auto", "steps": 2 * N}
    straight = make_run(train=train)
    straight.fit()
    make_run(run_dir=tmp_path, train=train).fit(N)
    assert load_checkpoint(checkpoint_dir(tmp_path, N))[1]["precision"] == "bf16"
    speedup["now"] = 0.5
    assert make_run(train=train).trainer.precision.precision == "fp32"  # a fresh start: fp32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # kept as recorded: nothing to say
        resumed = make_run(run_dir=tmp_path, train=train).restore()
    assert resumed.trainer.precision.precision == "bf16"
    assert resumed.trainer.autocast_dtype == torch.bfloat16
    resumed.fit()
    assert_identical(all_tensors(straight), all_tensors(resumed))


def test_a_checkpoints_bf16_where_the_hardware_has_none_is_fp32_said_once(
        make_run, tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "onednn_bf16_supported", lambda: True)
    monkeypatch.setattr(hardware, "cpu_bf16_speedup", lambda: 1.4)
    make_run(run_dir=tmp_path, train={"precision": "auto", "steps": 2}).fit()
    monkeypatch.setattr(hardware, "onednn_bf16_supported", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = make_run(run_dir=tmp_path, train={"precision": "auto", "steps": 3}).restore()
        assert not caught  # loaded to sample or evaluate: no precision to speak of
        resumed.fit()
        resumed.fit(4)
    lines = [str(w.message) for w in caught]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "trained in bf16" in lines[0] and "continuing in fp32" in lines[0]
    assert resumed.trainer.autocast_dtype is None and resumed.step == 4
    assert load_checkpoint(checkpoint_dir(tmp_path, 3))[1]["precision"] == "fp32"


def test_an_explicit_precision_wins_over_the_checkpoints(make_run, tmp_path, native):
    make_run(run_dir=tmp_path, train={"precision": "auto", "steps": 2}).fit()
    resumed = make_run(run_dir=tmp_path, train={"precision": "fp32", "steps": 3}).restore()
    assert resumed.trainer.precision.precision == "fp32"


def test_a_checkpoint_without_a_precision_follows_the_probe(make_run, tmp_path, monkeypatch,
                                                            native):
    """Checkpoints written before the precision was recorded resume as they did."""
    make_run(run_dir=tmp_path, train={"precision": "fp32", "steps": 2}).fit()
    path = checkpoint_dir(tmp_path, 2)
    tensors, state = load_checkpoint(path)
    del state["precision"]
    save_checkpoint(path, tensors, state)
    resumed = make_run(run_dir=tmp_path, train={"precision": "auto", "steps": 3}).restore()
    assert resumed.trainer.precision.precision == "bf16"
