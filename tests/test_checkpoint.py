"""Checkpoints: exact round trips, damage detection, no unpickling, atomic saves, pruning."""

import json
import pickle
import signal
from pathlib import Path

import pytest
import torch

from gankit.errors import CheckpointError
from gankit.training import checkpoint as ckpt
from gankit.training.checkpoint import (
    STATE,
    TENSORS,
    checkpoint_dir,
    join_tensors,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
    split_tensors,
)
from gankit.training.interrupts import Interrupted


def optimizer_like_state():
    """The shape of an Adam ``state_dict()``: int-keyed per-parameter state, tuples, tensors."""
    g = torch.Generator().manual_seed(0)
    return {
        "state": {
            0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(4, 2, generator=g),
                "exp_avg_sq": torch.rand(4, 2, generator=g)},
            1: {"step": torch.tensor(3.0), "exp_avg": torch.randn(4, generator=g),
                "exp_avg_sq": torch.rand(4, generator=g)},
        },
        "param_groups": [{"params": [0, 1], "lr": 2e-4, "betas": (0.5, 0.999), "eps": 1e-8,
                          "foreach": None, "amsgrad": False}],
    }


def sample_checkpoint():
    tensors = {"nets.G.weight": torch.randn(3, 2), "nets.G.bias": torch.zeros(3),
               "rng.generator": torch.Generator().manual_seed(1).get_state(),
               "ints": torch.arange(5), "half": torch.randn(2, 2).half()}
    state = {"step": 10, "elapsed": 1.25, "config": {"train": {"lr_d": 1e-4}}}
    return tensors, state


def expected_after_json(obj):
    """What a round trip through JSON should give: tuples become lists, nothing else changes."""
    if isinstance(obj, dict):
        return {k: expected_after_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [expected_after_json(v) for v in obj]
    return obj


def assert_same_structure(actual, expected):
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, torch.Tensor) and actual.dtype == expected.dtype
        assert torch.equal(actual, expected)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)  # same keys, same types (ints stay ints), same order
        for key in expected:
            assert_same_structure(actual[key], expected[key])
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same_structure(a, e)
    else:
        assert type(actual) is type(expected) and actual == expected


# --- split/join and save/load round trips ------------------------------------------------------


def test_split_join_restores_nested_optimizer_state_exactly():
    original = optimizer_like_state()
    tensors = {}
    plain = split_tensors(original, "optim.d", tensors)
    json.dumps(plain)  # what remains is plain JSON
    assert len(tensors) == 6 and all(k.startswith("optim.d.state.") for k in tensors)
    restored = join_tensors(json.loads(json.dumps(plain)), tensors)
    assert_same_structure(restored, expected_after_json(original))


def test_save_load_round_trip(tmp_path):
    tensors, state = sample_checkpoint()
    optim_tensors = {}
    state["optimizers"] = {"d": split_tensors(optimizer_like_state(), "optim.d", optim_tensors)}
    path = save_checkpoint(tmp_path / "run" / "checkpoints" / "step-0000010",
                           {**tensors, **optim_tensors}, state)
    loaded, loaded_state = load_checkpoint(path)
    assert loaded.keys() == {**tensors, **optim_tensors}.keys()
    for key, value in {**tensors, **optim_tensors}.items():
        assert loaded[key].dtype == value.dtype and torch.equal(loaded[key], value), key
    assert loaded_state["step"] == 10 and loaded_state["elapsed"] == 1.25
    assert loaded_state["config"] == state["config"]
    restored = join_tensors(loaded_state["optimizers"]["d"], loaded)
    assert_same_structure(restored, expected_after_json(optimizer_like_state()))


def test_saving_again_replaces_the_checkpoint(tmp_path):
    path = tmp_path / "step-0000001"
    save_checkpoint(path, {"x": torch.zeros(2)}, {"step": 1})
    save_checkpoint(path, {"x": torch.ones(2)}, {"step": 2})
    tensors, state = load_checkpoint(path)
    assert torch.equal(tensors["x"], torch.ones(2)) and state["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0000001"]


def test_non_contiguous_and_grad_tensors_are_saved(tmp_path):
    weight = torch.randn(3, 4, requires_grad=True)
    save_checkpoint(tmp_path / "c", {"t": weight.t(), "w": weight}, {})
    tensors, _ = load_checkpoint(tmp_path / "c")
    assert torch.equal(tensors["t"], weight.detach().t()) and torch.equal(tensors["w"], weight)


# --- damage ----------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    tensors, state = sample_checkpoint()
    return save_checkpoint(tmp_path / "step-0000010", tensors, state)


def damage_message(path) -> str:
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("offset", [0, 7, 100, -1, -20])
def test_a_flipped_byte_in_the_tensor_file_is_detected(saved, offset):
    path = saved / TENSORS
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    assert TENSORS in damage_message(saved)


@pytest.mark.parametrize("keep", [0, 8, 100])
def test_a_truncated_tensor_file_is_detected(saved, keep):
    path = saved / TENSORS
    path.write_bytes(path.read_bytes()[:keep])
    assert "damaged" in damage_message(saved)


def test_json_state_byte_flips_are_all_detected(saved):
    """Every single-bit flip among a spread of positions, including ones that leave valid JSON
    (a digit of the step), must be caught: nothing damaged is trusted."""
    path = saved / STATE
    original = path.read_bytes()
    step_digit = original.index(b'"step": 10') + len(b'"step": ')
    positions = sorted({0, 1, step_digit, step_digit + 1, *range(5, len(original), 37)})
    for pos in positions:
        for bit in (0x01, 0x10):
            data = bytearray(original)
            data[pos] ^= bit
            path.write_bytes(bytes(data))
            damage_message(saved)
    path.write_bytes(original)
    assert load_checkpoint(saved)[1]["step"] == 10  # and the undamaged file still loads


@pytest.mark.parametrize("content", [b"", b"{", b"[1, 2]", b'{"format": "other"}', b"\xff\xfe"])
def test_a_bad_state_file_is_detected(saved, content):
    (saved / STATE).write_bytes(content)
    assert STATE in damage_message(saved)


def test_edited_state_is_detected(saved):
    path = saved / STATE
    state = json.loads(path.read_text())
    state["step"] = 11
    path.write_text(json.dumps(state))
    assert "checksum" in damage_message(saved)


@pytest.mark.parametrize("missing", [TENSORS, STATE])
def test_a_missing_file_is_detected(saved, missing):
    (saved / missing).unlink()
    assert f"not a complete gankit checkpoint: {saved} has no {missing}" in damage_message(saved)


def test_a_missing_directory_is_detected(tmp_path):
    assert "not a gankit checkpoint" in damage_message(tmp_path / "nowhere")


def test_loading_never_unpickles(saved, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a checkpoint load must not unpickle")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    tensors, state = load_checkpoint(saved)
    assert state["step"] == 10 and "nets.G.weight" in tensors


# --- atomicity -------------------------------------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.parametrize("target", ["save_file", "json_dump", "replace"])
def test_a_failed_save_leaves_the_earlier_checkpoint_intact_and_no_temp_dirs(
    tmp_path, monkeypatch, target
):
    path = tmp_path / "checkpoints" / "step-0000010"
    tensors, state = sample_checkpoint()
    save_checkpoint(path, tensors, state)
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def fail(*args, **kwargs):
        raise Boom

    if target == "save_file":
        monkeypatch.setattr(ckpt, "save_file", fail)
    elif target == "json_dump":
        monkeypatch.setattr(ckpt.json, "dump", fail)
    else:  # the second rename, after the old checkpoint was moved aside
        real_replace, calls = ckpt.os.replace, []

        def replace(src, dst):
            calls.append(src)
            if len(calls) == 2:
                raise Boom
            real_replace(src, dst)

        monkeypatch.setattr(ckpt.os, "replace", replace)
    with pytest.raises(Boom):
        save_checkpoint(path, {"x": torch.ones(3)}, {"step": 99})
    monkeypatch.undo()
    assert sorted(p.name for p in path.parent.iterdir()) == ["step-0000010"]
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert load_checkpoint(path)[1]["step"] == 10


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt, "save_file", lambda *a, **k: (_ for _ in ()).throw(Boom()))
    with pytest.raises(Boom):
        save_checkpoint(tmp_path / "step-0000001", {"x": torch.ones(1)}, {})
    assert list(tmp_path.iterdir()) == []


def test_temporary_and_foreign_directories_are_not_checkpoints(tmp_path):
    root = tmp_path / "checkpoints"
    save_checkpoint(checkpoint_dir(tmp_path, 5), {"x": torch.ones(1)}, {"step": 5})
    (root / ".step-0000009.abc123").mkdir()  # a save killed midway
    (root / "step-0000007").mkdir()  # no state.json: unfinished
    (root / "step-notes").mkdir()
    (root / "step-notes" / STATE).write_text("{}")
    assert list_checkpoints(tmp_path) == [checkpoint_dir(tmp_path, 5)]


# --- listing and pruning ----------------------------------------------------------------------


def make_run(tmp_path, steps):
    for step in steps:
        save_checkpoint(checkpoint_dir(tmp_path, step), {"x": torch.tensor([step])}, {"step": step})


def test_checkpoint_names_sort_by_step(tmp_path):
    assert checkpoint_dir(tmp_path, 500).name == "step-0000500"
    make_run(tmp_path, [30, 5, 12_000_000, 9_999_999, 200])
    steps = [load_checkpoint(p)[1]["step"] for p in list_checkpoints(tmp_path)]
    assert steps == [5, 30, 200, 9_999_999, 12_000_000]
    assert latest_checkpoint(tmp_path) == checkpoint_dir(tmp_path, 12_000_000)


def test_latest_of_an_empty_run_is_none(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    assert list_checkpoints(tmp_path / "missing") == []


@pytest.mark.parametrize(("keep", "left"), [(1, [40]), (2, [30, 40]), (3, [20, 30, 40]),
                                            (10, [10, 20, 30, 40]), (0, [])])
def test_prune_keeps_the_newest_k(tmp_path, keep, left):
    make_run(tmp_path, [30, 10, 40, 20])
    prune_checkpoints(tmp_path, keep)
    assert [load_checkpoint(p)[1]["step"] for p in list_checkpoints(tmp_path)] == left
    assert len(list((tmp_path / "checkpoints").iterdir())) == len(left)


def test_prune_of_a_run_without_checkpoints(tmp_path):
    prune_checkpoints(tmp_path, 3)
    assert list(tmp_path.iterdir()) == []


def test_a_loaded_checkpoint_can_be_saved_again(saved, tmp_path):
    """load -> edit -> save: the old checksums inside the loaded state must not be written back."""
    tensors, state = load_checkpoint(saved)
    tensors["nets.G.bias"] = torch.full_like(tensors["nets.G.bias"], 2.0)
    state["step"] = 11
    save_checkpoint(saved, tensors, state)
    again, again_state = load_checkpoint(saved)
    assert torch.equal(again["nets.G.bias"], torch.full((3,), 2.0)) and again_state["step"] == 11
    raw = json.loads((saved / STATE).read_text())  # a state read straight from the file
    save_checkpoint(tmp_path / "copy", again, raw)
    assert load_checkpoint(tmp_path / "copy")[1]["step"] == 11


def test_an_interruption_just_after_the_temporary_folder_is_made_leaves_nothing(
        tmp_path, monkeypatch):
    """A signal can land between mkdir and the next line; the folder was named before."""
    made = Path.mkdir

    def mkdir_then_interrupted(self, *args, **kwargs):
        made(self, *args, **kwargs)
        if self.name.startswith(".step-"):
            raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(Path, "mkdir", mkdir_then_interrupted)
    root = tmp_path / "checkpoints"
    with pytest.raises(Interrupted):
        save_checkpoint(root / "step-0000001", {"x": torch.zeros(2)}, {"step": 1})
    assert not list(root.glob(".*")) and not (root / "step-0000001").exists()


def test_an_interruption_while_a_resave_deletes_the_old_copy_keeps_the_new_one(
        tmp_path, monkeypatch):
    path = tmp_path / "checkpoints" / "step-0000001"
    save_checkpoint(path, {"x": torch.zeros(2)}, {"step": 1})
    old, calls, real_remove = path.with_name(f".{path.name}.old"), [], ckpt.remove

    def remove(target):  # the second removal of the old copy is cut short, after the renames
        calls.append(target)
        if target == old and calls.count(old) == 2:
            raise Interrupted(signal.SIGTERM)
        real_remove(target)

    monkeypatch.setattr(ckpt, "remove", remove)
    with pytest.raises(Interrupted):
        save_checkpoint(path, {"x": torch.ones(2)}, {"step": 2})
    assert not list(path.parent.glob(".*"))
    assert load_checkpoint(path)[1]["step"] == 2
