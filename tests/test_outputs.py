"""Every file gankit writes goes through one writer (``gankit.storage.files``): devices and
pipes written in place, regular files replaced whole, nothing else renamed over; and every
output path a command takes is checked before its work, in one line naming the path given,
with one overwrite policy (issue 27).

No test here writes to or renames anything under /dev: a FIFO made in tmp_path stands for a
device, and a character device is only ever met through a patched ``os.stat``."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import gankit.api
from conftest import one_error_line, tiny_dict
from gankit.commandline.cli import main
from gankit.commandline.parser import build_parser
from gankit.errors import GankitError
from gankit.storage import files
from gankit.storage.files import OVERWRITE_HELP, check_output, replace_atomically


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished 3-step toy run (2-D points)."""
    root = tmp_path_factory.mktemp("outputs")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(train={"steps": 3})))
    assert main(["train", str(config), "--out", str(root / "run"), "--no-progress"]) == 0
    return root / "run"




class FifoReader:
    """A FIFO in ``folder`` and a thread that reads everything written into it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "pipe"
        os.mkfifo(self.path)
        self.data = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as pipe:
            self.data = pipe.read()

    def received(self) -> bytes:
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "nothing was written into the FIFO"
        return self.data


# --- the writer -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["state_dict", "torchscript", "onnx"])
def test_export_into_a_pipe_writes_it_in_place_and_leaves_the_pipe(trained, tmp_path, capsys,
                                                                   fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxscript")
    fifo = FifoReader(tmp_path)
    assert main(["export", str(trained), "--format", fmt, "--out", str(fifo.path)]) == 0
    data = fifo.received()
    assert stat.S_ISFIFO(os.stat(fifo.path).st_mode)  # not replaced by a regular file
    assert len(data) > 1000
    if fmt == "state_dict":
        from safetensors.torch import load

        assert "out.weight" in load(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temporary left


def test_samples_into_a_pipe_are_received(trained, tmp_path):
    fifo = FifoReader(tmp_path)
    assert main(["sample", str(trained), "--n", "7", "--out", str(fifo.path)]) == 0
    import io

    assert np.load(io.BytesIO(fifo.received())).shape == (7, 2)


def test_a_character_device_is_written_in_place(monkeypatch, tmp_path):
    device = tmp_path / "device"
    real_stat = os.stat

    def as_a_device(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if Path(path) == device:
            return os.stat_result((stat.S_IFCHR | 0o666, *tuple(result)[1:]))
        return result

    device.write_bytes(b"")
    monkeypatch.setattr(files.os, "stat", as_a_device)
    assert files.written_in_place(device)
    assert check_output(device, "file") == device  # no --overwrite needed
    with pytest.raises(GankitError, match="is a device or pipe; give a directory name"):
        check_output(device, "folder")


def test_a_stream_redirected_to_a_file_is_written_in_place(tmp_path):
    """``gankit sample ... --out /dev/stdout > x.npy``: the file the shell opened is written,
    not replaced behind the shell's back (a link to /proc/self/fd/N stands for /dev/stdout)."""
    target = tmp_path / "x.npy"
    with open(target, "wb") as stream:
        link = tmp_path / "stdout"
        link.symlink_to(f"/proc/self/fd/{stream.fileno()}")
        assert files.written_in_place(link) and not files.written_in_place(target)
        assert check_output(link, "file") == link  # no --overwrite for a stream
        with replace_atomically(link) as path:
            path.write_bytes(b"written")
        assert target.read_bytes() == b"written" and os.fstat(stream.fileno()).st_size == 7


def test_a_socket_is_refused_never_renamed_over(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short name: socket paths are limited to 108 bytes
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("s.sock")
        assert not files.written_in_place(Path("s.sock"))
        with pytest.raises(OSError, match="socket") as raised, \
                replace_atomically(Path("s.sock")) as tmp:
            tmp.write_text("never")
        assert raised.value.filename == "s.sock"
        assert stat.S_ISSOCK(os.stat("s.sock").st_mode)
    assert sorted(os.listdir()) == ["s.sock"]


def test_a_folder_where_a_file_goes_is_refused_and_kept(tmp_path):
    folder = tmp_path / "x.npy"
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(IsADirectoryError) as raised, replace_atomically(folder) as tmp:
        tmp.write_text("never")
    assert raised.value.filename == str(folder)
    assert (folder / "inside").is_dir() and sorted(tmp_path.iterdir()) == [folder]


def test_a_folder_is_replaced_whole_by_a_swap(tmp_path):
    folder = tmp_path / "pngs"
    folder.mkdir()
    (folder / "old.png").write_bytes(b"old")
    with replace_atomically(folder, folder=True) as tmp:
        (tmp / "new.png").write_bytes(b"new")
    assert [p.name for p in folder.iterdir()] == ["new.png"]
    assert sorted(tmp_path.iterdir()) == [folder]


# --- the command line: the cases ------------------------------------------------------


def test_export_to_an_empty_name_is_one_line(trained, capsys):
    line = one_error_line(capsys, ["export", str(trained), "--format", "state_dict",
                                   "--out", ""])
    assert "--out '' is empty" in line


def test_export_under_a_file_and_to_a_folder_names_the_path_given(trained, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("mine")
    line = one_error_line(capsys, ["export", str(trained), "--format", "state_dict",
                                   "--out", f"{blocker}/g.safetensors"])
    assert f"--out {blocker}/g.safetensors: {blocker} is a file" in line
    line = one_error_line(capsys, ["export", str(trained), "--format", "state_dict",
                                   "--out", str(tmp_path)])
    assert f"--out {tmp_path} is a directory" in line and ".tmp" not in line
    assert blocker.read_text() == "mine"


def test_npy_samples_replace_a_file_only_with_overwrite(trained, tmp_path, capsys):
    out = tmp_path / "x.npy"
    out.write_bytes(b"mine")
    line = one_error_line(capsys, ["sample", str(trained), "--n", "5", "--out", str(out)])
    assert line == f"gankit: error: --out {out} exists; --overwrite replaces it"
    assert out.read_bytes() == b"mine"
    assert main(["sample", str(trained), "--n", "5", "--out", str(out), "--overwrite"]) == 0
    assert np.load(out).shape == (5, 2)


def test_a_trace_on_the_samples_file_is_refused_before_the_chains(tmp_path, capsys):
    out = tmp_path / "x.npy"
    line = one_error_line(capsys, ["sample", str(tmp_path / "run"), "--sampler", "mala",
                                   "--out", str(out), "--trace", str(out)])
    assert f"--trace {out} is --out too" in line


def test_png_dir_replaces_a_folder_of_pngs_only_with_overwrite(tmp_path):
    import torch

    from gankit.storage.sample_files import write_png_dir

    images = torch.zeros(2, 1, 4, 4)
    folder = write_png_dir(images, tmp_path / "pngs")
    with pytest.raises(GankitError, match="folder of PNGs already; --overwrite replaces it"):
        write_png_dir(images, folder)
    write_png_dir(images[:1], folder, overwrite=True)
    assert [p.name for p in folder.iterdir()] == ["000000.png"]
    (folder / "notes.txt").write_text("mine")  # not something gankit writes: never replaced
    with pytest.raises(GankitError, match="holds files other than PNGs"):
        write_png_dir(images, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"
    with Image.open(folder / "000000.png") as png:
        assert png.size == (4, 4)


# --- every output flag, before any work -------------------------------------------------------


def _bad_paths(root: Path) -> dict[str, str]:
    """Each kind of output path that no write can use, by name -> the path given."""
    (root / "a-file").write_text("mine")
    (root / "a-dir").mkdir()
    return {"empty": "", "under a file": str(root / "a-file" / "x"),
            "a file for a folder": str(root / "a-file"), "a folder": str(root / "a-dir"),
            "a socket": "s.sock", "existing": str(root / "a-file")}


# (command line with OUT where the path goes, the kinds of path it refuses)
FILE_REFUSALS = ("empty", "under a file", "a folder", "a socket", "existing")
FOLDER_REFUSALS = ("empty", "under a file", "a file for a folder", "a socket")
OUTPUT_FLAGS = {
    "sample --out": (["sample", "RUN", "--out", "OUT"], FILE_REFUSALS),
    "sample png-dir --out": (["sample", "RUN", "--format", "png-dir", "--out", "OUT"],
                             FOLDER_REFUSALS),
    "sample --trace": (["sample", "RUN", "--sampler", "mala", "--out", "NEW", "--trace", "OUT"],
                       FILE_REFUSALS),
    "translate --out": (["translate", "RUN", "--input", "RUN", "--out", "OUT"],
                        FOLDER_REFUSALS),
    "eval --out": (["eval", "RUN", "--out", "OUT"], FILE_REFUSALS),
    "export --out": (["export", "RUN", "--format", "onnx", "--out", "OUT"], FILE_REFUSALS),
    "experiment --out": (["experiment", "js-saturation", "--out", "OUT"], FOLDER_REFUSALS),
    "train --out": (["train", "ring8", "--out", "OUT"], FOLDER_REFUSALS),
    "view --runs": (["view", "ring8", "--runs", "OUT"], FOLDER_REFUSALS),
}


@pytest.mark.parametrize("flag", OUTPUT_FLAGS)
def test_every_output_flag_refuses_each_bad_path_before_any_work(flag, tmp_path, monkeypatch,
                                                                   capsys):
    from gankit.experiments import EXPERIMENTS

    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the output path was checked")

    from gankit.view import server as view_server

    EXPERIMENTS.names()  # imported first: they keep the real build, and the entry is there
    monkeypatch.setattr(view_server, "serve", no_work)
    monkeypatch.setattr(gankit.api, "load", no_work)
    monkeypatch.setattr(gankit.api, "build", no_work)
    monkeypatch.setitem(EXPERIMENTS._entries, "js-saturation", no_work)
    monkeypatch.chdir(tmp_path)
    argv, refused = OUTPUT_FLAGS[flag]
    paths = _bad_paths(tmp_path)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("s.sock")
        for kind in refused:
            given = paths[kind]
            line = one_error_line(capsys, [
                {"OUT": given, "RUN": str(tmp_path / "run"), "NEW": "new.npy"}.get(arg, arg)
                for arg in argv])
            assert (f"{argv[argv.index('OUT') - 1]} {given or repr('')}" in line), (kind, line)
    assert (tmp_path / "a-file").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-dir", "a-file", "s.sock"]


def test_an_experiments_earlier_files_are_replaced_only_with_overwrite(tmp_path, capsys):
    (tmp_path / "js-saturation").mkdir()
    (tmp_path / "js-saturation" / "js-saturation.json").write_text("{}")
    line = one_error_line(capsys, ["experiment", "js-saturation", "--quick",
                                   "--out", str(tmp_path)])
    assert "js-saturation.json exists; --overwrite replaces it" in line


@pytest.mark.parametrize("command", ["sample", "translate", "eval", "export", "experiment"])
def test_each_commands_help_says_the_overwrite_policy(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert OVERWRITE_HELP in text and "--overwrite" in text


def test_the_digit_classifiers_weights_file_is_checked_before_training(tmp_path, monkeypatch,
                                                                     capsys):
    from gankit.metrics.digit_classifier import __main__ as classifier_cli

    def no_training(*args, **kwargs):
        raise AssertionError("the classifier was trained before its --out was checked")

    monkeypatch.setattr(classifier_cli, "train_classifier", no_training)
    out = tmp_path / "c.safetensors"
    out.write_bytes(b"mine")
    with pytest.raises(SystemExit) as exited:
        classifier_cli.main(["--data", "digits8", "--out", str(out)])
    assert exited.value.code == 2
    assert f"--out {out} exists; --overwrite replaces it" in capsys.readouterr().err
    assert out.read_bytes() == b"mine"
