"""image-folder streamed from disk (gankit.data.streaming) and the folder / zip archives it reads
(gankit.data.archives): the same images as in memory, a seeded order, bit-exact resume
mid-epoch, labels from dataset.json, one shard a process, bad input as one line, no decoded set
held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import all_tensors, assert_identical, one_error_line, tiny_dict
from gankit.configuration.resolve import build_config
from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS
from gankit.data.images import ImageDataset
from gankit.data.streaming import StreamingImages, epoch_order, should_stream
from gankit.errors import ConfigError, GankitError

N, SIZE = 10, 16
WORKER = Path(__file__).parent / "workers" / "stream_shard.py"


def write_images(folder: Path, n: int = N, size: tuple[int, int] = (SIZE, SIZE), seed: int = 0
                 ) -> list[str]:
    """``n`` noise PNGs in two subfolders; their names relative to ``folder``, sorted."""
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        name = f"part{i % 2}/img{i:03d}.png"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
        names.append(name)
    return sorted(names)


def write_zip(path: Path, folder: Path, labels: dict[str, int] | None = None) -> Path:
    """The folder's images in a zip as StyleGAN2-ADA's dataset_tool writes it."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.rglob("*.png")):
            archive.write(file, file.relative_to(folder).as_posix())
        if labels is not None:
            archive.writestr("dataset.json", json.dumps({"labels": sorted(labels.items())}))
    return path


def load(path: Path, **keys) -> ImageDataset | StreamingImages:
    return DATASETS["image-folder"](DataConfig(name="image-folder", path=str(path), **keys))


@pytest.fixture
def folder(tmp_path) -> Path:
    write_images(tmp_path / "faces")
    return tmp_path / "faces"


@pytest.mark.parametrize("archive", ["folder", "zip"])
def test_streamed_images_are_the_in_memory_ones(folder, tmp_path, archive):
    path = folder if archive == "folder" else write_zip(tmp_path / "faces.zip", folder)
    memory, streamed = load(path, stream="never"), load(path, stream="always", workers=1)
    assert isinstance(memory, ImageDataset) and isinstance(streamed, StreamingImages)
    assert streamed.shape == memory.shape == (3, SIZE, SIZE) and len(streamed) == N
    index = torch.tensor([7, 0, 3, 3, 9])
    images, _ = streamed.read(index)
    assert torch.equal(images, memory.images[index])
    generator = torch.Generator().manual_seed(5)
    drawn = streamed.sample(6, generator)["x"]  # one draw, as ImageDataset draws
    expected = memory.sample(6, torch.Generator().manual_seed(5))["x"]
    assert torch.equal(drawn, expected)
    real, labels = streamed.reference(4, torch.Generator().manual_seed(1))
    assert torch.equal(real, memory.reference(4, torch.Generator().manual_seed(1))[0])
    assert labels is None and streamed.spec == memory.spec


def test_the_order_is_a_seeded_permutation_each_epoch_cut_into_global_batches(folder):
    source = load(folder, stream="always", workers=0)
    flat = {i: source.read(torch.tensor([i]))[0][0] for i in range(N)}

    def indices(seed: int, batches: int) -> list[int]:
        stream = source.stream(4, seed)
        out = []
        for _ in range(batches):
            for image in stream.next_batch()["x"]:
                out += [i for i, x in flat.items()
                        if torch.equal(torch.from_numpy(np.asarray(x)).float() / 127.5 - 1,
                                       image)]
        return out

    order = indices(3, 5)  # 20 images: two whole epochs, the batch at 8..11 spans both
    expected = [*epoch_order(N, 3, 0).tolist(), *epoch_order(N, 3, 1).tolist()]
    assert order == expected
    assert sorted(order[:N]) == sorted(order[N:]) == list(range(N))  # each image once an epoch
    assert order[:N] != order[N:]  # epochs differ
    assert indices(3, 5) == order and indices(4, 5) != order


def test_position_round_trips_mid_epoch(folder):
    source = load(folder, stream="always", workers=0)
    straight = source.stream(4, 0)
    batches = [straight.next_batch()["x"] for _ in range(5)]
    first = source.stream(4, 0)
    for _ in range(3):
        first.next_batch()
    assert first.state() == {"epoch": 1, "offset": 2, "images": N}
    resumed = source.stream(4, 0)
    resumed.seek(first.state())
    for expected in batches[3:]:
        assert torch.equal(resumed.next_batch()["x"], expected)


STREAMED = {"name": "image-folder", "image_size": SIZE, "batch_size": 4, "stream": "always",
            "workers": 1}
DCGAN = {"name": "dcgan", "latent_dim": 4, "g_hidden": 4, "d_hidden": 4}


def test_a_resume_mid_epoch_trains_bit_exactly_as_a_straight_run(make_run, folder, tmp_path):
    """6 steps of 4 images over 10: the resume at step 3 falls mid-epoch, in a batch that
    spans two epochs."""
    sections = dict(data={**STREAMED, "path": str(folder)}, model=DCGAN, train={"steps": 6})
    straight = make_run(**sections)
    straight.fit()
    first = make_run(run_dir=tmp_path / "run", **sections)
    first.fit(3)
    assert first.trainer.state()[1]["data_stream"] == {"epoch": 1, "offset": 2, "images": N}
    resumed = make_run(run_dir=tmp_path / "run", **sections).restore()
    resumed.fit()
    assert_identical(all_tensors(straight), all_tensors(resumed))


@pytest.mark.parametrize("labelled", [True, False])
def test_a_zip_with_and_without_dataset_json_labels(folder, tmp_path, labelled):
    names = write_images(folder)
    labels = {name: i % 3 for i, name in enumerate(names)} if labelled else None
    path = write_zip(tmp_path / "set.zip", folder, labels)
    for stream in ("always", "never"):
        data = load(path, stream=stream, workers=0)
        assert data.n_classes == (3 if labelled else 0)
        assert (data.spec.n_classes, "label" in data.spec.fields) == (data.n_classes, labelled)
        if labelled:
            assert data.labels.tolist() == [labels[name] for name in names]
            batch = data.sample(5, torch.Generator().manual_seed(0))
            assert batch["label"].tolist() == [labels[names[i]] for i in
                                               torch.randint(N, (5,), generator=torch.Generator()
                                                             .manual_seed(0)).tolist()]
    if labelled:
        stream = load(path, stream="always", workers=0).stream(4, 0)
        order = epoch_order(N, 0, 0)[:4].tolist()
        assert stream.next_batch()["label"].tolist() == [labels[names[i]] for i in order]


def test_each_process_reads_only_its_rows_of_the_global_batch(folder):
    """In one process: rank r's rows are distributed.shard's rows of the one-process batch."""
    source = load(folder, stream="always", workers=0)
    whole = source.stream(4, 0)
    ranks = [source.stream(4, 0, rank, 2) for rank in (0, 1)]
    for _ in range(4):
        batch = whole.next_batch()["x"]
        assert torch.equal(torch.cat([r.next_batch()["x"] for r in ranks]), batch)
    assert ranks[0].state() == ranks[1].state() == whole.state()


def test_under_torchrun_each_rank_reads_only_its_shard(folder, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(WORKER), str(folder), str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    read = [json.loads((tmp_path / f"read-{rank}.json").read_text()) for rank in (0, 1)]
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
    for step in range(3):  # rank r read rows 2r, 2r+1 of each global batch of 4, and no other
        order = [names[i] for i in
                 [*epoch_order(N, 0, 0).tolist(), *epoch_order(N, 0, 1).tolist()]]
        assert read[0][step] == order[4 * step:4 * step + 2]
        assert read[1][step] == order[4 * step + 2:4 * step + 4]


def test_a_streamed_source_holds_no_decoded_set(tmp_path):
    write_images(tmp_path / "many", n=60, size=(8, 8))
    source = load(tmp_path / "many", stream="always", image_size=8, workers=0)
    stream = source.stream(4, 0)
    stream.next_batch()
    decoded = len(source) * 3 * 8 * 8

    def largest(value: object, seen: set[int]) -> int:
        if id(value) in seen:
            return 0
        seen.add(id(value))
        if isinstance(value, torch.Tensor | np.ndarray):
            return value.nbytes if isinstance(value, np.ndarray) else value.numel()
        if isinstance(value, dict):
            return max((largest(v, seen) for v in value.values()), default=0)
        if isinstance(value, list | tuple):
            return max((largest(v, seen) for v in value), default=0)
        if hasattr(value, "__dict__"):
            return largest(vars(value), seen)
        return 0

    assert largest(stream, set()) < decoded / 4  # names and one epoch's order, no images


def test_auto_streams_above_the_budget_and_says_so(monkeypatch, folder, capsys):
    from gankit.data import streaming

    assert not should_stream(DataConfig(), 100_000, (3, 64, 64))  # 1.2 GB
    assert should_stream(DataConfig(), 200_000, (3, 256, 256))  # 39 GB: the folder
    assert should_stream(DataConfig(stream="always"), 1, (1, 4, 4))
    assert not should_stream(DataConfig(stream="never"), 10**9, (3, 256, 256))
    assert isinstance(load(folder, workers=0), ImageDataset) and capsys.readouterr().err == ""
    monkeypatch.setattr(streaming, "STREAM_BUDGET", N * 3 * SIZE * SIZE - 1)
    assert isinstance(load(folder, workers=0, cache="c.safetensors"), StreamingImages)
    line = capsys.readouterr().err
    assert line.startswith(f"gankit: streaming {N} images of {folder} at {SIZE} px with 0 "
                           f"worker(s) (decoded they would take 0.0 GiB, over data.stream "
                           f"auto's ")
    assert line.endswith("data.cache, for sets held in memory, is not written\n")
    assert line.count("\n") == 1


# --- sizes: kept, or the change said -----------------------------------------------------------

def test_a_folder_keeps_its_images_own_size_without_image_size(tmp_path, recwarn):
    write_images(tmp_path / "small", size=(32, 32))
    assert load(tmp_path / "small").shape == (3, 32, 32)
    assert not [w for w in recwarn if "fitting" in str(w.message)]
    assert load(tmp_path / "small", image_size=16).shape == (3, 16, 16)


@pytest.mark.parametrize(("sizes", "fitted"), [([(40, 30)], 16), ([(32, 32), (64, 64)], 32)])
def test_mixed_or_non_square_images_are_fitted_and_it_says_so(tmp_path, sizes, fitted):
    for k, size in enumerate(sizes):
        write_images(tmp_path / "mixed" / str(k), n=3, size=size, seed=k)
    with pytest.warns(UserWarning, match=rf"fitting them to {fitted}x{fitted} px .* set "
                                         r"data\.image_size to choose another"):
        data = load(tmp_path / "mixed")
    assert data.shape == (3, fitted, fitted)


def test_the_shipped_image_folder_config_sets_no_size():
    from gankit.configuration.resolve import load_config

    assert load_config("image-folder").data.image_size == 0


# --- bad input: one line, before any work ------------------------------------------------------

def test_bad_folders_and_archives_are_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"not an image")
    with zipfile.ZipFile(tmp_path / "texts.zip", "w") as archive:
        archive.writestr("readme.txt", "no images here")
    (tmp_path / "corrupt.zip").write_bytes(b"PK\x03\x04 cut short")
    cases = {"empty": r"^no image files \(.*\) in .*empty$",
             "broken": r"^none of the 1 image files in .*broken could be read",
             "texts.zip": r"^no image files \(.*\) in the zip archive .*texts\.zip$",
             "corrupt.zip": r"^data\.path .*corrupt\.zip is not a readable zip archive",
             "missing": r"^data\.path .*missing is not a folder or a zip archive$"}
    for name, message in cases.items():
        for stream in ("always", "never"):
            with pytest.raises(GankitError, match=message) as caught:
                load(tmp_path / name, stream=stream)
            assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="needs data.path, a folder of images or a zip"):
        DATASETS["image-folder"](DataConfig(name="image-folder"))


@pytest.mark.parametrize(("content", "message"), [
    ("[1, 2]", "is not a JSON object"),
    ('{"labels": [["part0/img000.png", -1]]}', r"class numbers \(int >= 0\), got -1"),
    ('{"labels": [["part0/img000.png", 0]]}', "gives no label for 9 of the 10 images"),
    ('{"labels": 5}', "must be a list of"),
])
def test_a_bad_dataset_json_is_one_line(folder, content, message):
    (folder / "dataset.json").write_text(content)
    with pytest.raises(GankitError, match=message):
        load(folder)


def test_the_cli_says_a_zip_without_images_in_one_line(tmp_path, capsys):
    with zipfile.ZipFile(tmp_path / "texts.zip", "w") as archive:
        archive.writestr("readme.txt", "no images")
    line = one_error_line(capsys, ["train", "image-folder", "--set",
                                   f"data.path={tmp_path / 'texts.zip'}",
                                   "--out", str(tmp_path / "run")])
    assert "no image files" in line and not (tmp_path / "run").exists()


@pytest.mark.parametrize(("pair", "message"), [
    ("data.stream=sometimes", "data.stream must be one of auto, always, never"),
    ("data.workers=65", "data.workers"),
    ("data.workers=-1", "data.workers"),
])
def test_stream_keys_are_checked(pair, message):
    with pytest.raises(ConfigError, match=message):
        build_config(tiny_dict(data={"name": "image-folder", "path": "x"}), [pair])
    with pytest.raises(ConfigError, match="data set ring8 does not use data.stream"):
        build_config(tiny_dict(), ["data.stream=always"])


def test_cache_and_always_streaming_exclude_each_other():
    with pytest.raises(ConfigError, match="data.cache .* data.stream: always"):
        build_config(tiny_dict(data={"name": "image-folder", "path": "x"}),
                     ["data.stream=always", "data.cache=c.safetensors"])


class PixelFeatures:
    """A feature space for the test: the first 16 pixel values."""

    name = "pixels"

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)[:, :16].float().cpu()


def test_evaluation_measures_a_streamed_set_as_the_same_set_in_memory(make_run, folder):
    from gankit.evaluation.images import image_metrics

    sections = dict(data={**STREAMED, "path": str(folder)}, model=DCGAN)
    streamed = make_run(**sections)
    memory = load(folder, image_size=SIZE, stream="never")
    assert isinstance(streamed.data, StreamingImages)
    figures = [image_metrics(streamed.recipe, streamed.plan.latents, data, N, "cpu",
                             PixelFeatures()) for data in (streamed.data, memory)]
    assert {"fid", "kid", "precision", "coverage"} <= figures[0].keys()
    assert figures[0] == figures[1]


@pytest.mark.parametrize("position", [{"epoch": -1, "offset": 0, "images": N},
                                      {"epoch": 0, "offset": 2}, [1, 2]])
def test_a_checkpoint_with_a_damaged_stream_position_is_refused_before_anything_changes(
        make_run, folder, position):
    from gankit.errors import DamagedCheckpoint
    from gankit.training.run_state import validate

    trainer = make_run(data={**STREAMED, "path": str(folder)}, model=DCGAN).trainer
    tensors, plain = trainer.state()
    with pytest.raises(DamagedCheckpoint, match="data_stream must hold the epoch, offset and"):
        validate(Path("ckpt"), tensors, {**plain, "data_stream": position}, trainer.device,
                 trainer.rng, trainer.optimizers)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_file_damaged_past_its_header_is_stood_in_for_with_one_warning(folder, workers):
    damaged = folder / "part0" / "img000.png"
    intact = damaged.read_bytes()
    damaged.write_bytes(intact[:200])  # the header reads, the pixels do not
    try:
        source = load(folder, stream="always", workers=workers)
        stream = source.stream(N, 0)  # one batch holds every image
        with pytest.warns(UserWarning, match=r"^1 image\(s\) could not be read while "
                                             r"streaming and were replaced .*part0/img000.png"):
            batch = stream.next_batch()
        again = source.stream(N, 0)  # the stand-in depends on the files alone: a resume
        with pytest.warns(UserWarning):  # reads the same batch
            assert torch.equal(again.next_batch()["x"], batch["x"])
        assert len(batch["x"]) == N and torch.isfinite(batch["x"]).all()
    finally:
        damaged.write_bytes(intact)


def test_a_batch_with_no_readable_file_stops_the_stream_with_one_line(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, (2, SIZE, SIZE, 3), dtype=np.uint8)
    for i, image in enumerate(noise):  # noise: files long enough to cut past their header
        Image.fromarray(image).save(folder / f"{i}.png")
    source = load(folder, stream="always", workers=0)
    for path in folder.iterdir():
        path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(GankitError, match=r"^none of a batch's 2 image\(s\) could be read"
                                          ) as caught:
        source.stream(2, 0).next_batch()
    assert "\n" not in str(caught.value)


def test_two_processes_streaming_train_as_one_process(folder, tmp_path):
    """tests/workers/ddp_run.py under torchrun on the streamed folder: each process reads its
    rows, the gradients are averaged, and the weights match one process's (float rounding)."""
    import gankit

    config = tiny_dict(data={**STREAMED, "path": str(folder)}, model=DCGAN)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(WORKER.parent / "ddp_run.py"),
                           str(tmp_path), json.dumps(config), "5"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [load_file(str(tmp_path / f"rank-{rank}.safetensors")) for rank in (0, 1)]
    single = gankit.build(config, progress=False, snapshots=False)
    single.fit(5)
    for key, value in single.recipe.nets.state_dict().items():
        assert torch.equal(ranks[0][key], ranks[1][key]), key
        torch.testing.assert_close(ranks[0][key], value, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("stream", ["never", "always"])
def test_a_zip_member_that_fails_its_crc_is_skipped_with_one_warning(folder, tmp_path, stream):
    path = write_zip(tmp_path / "faces.zip", folder)
    with zipfile.ZipFile(path) as archive:
        first = archive.infolist()[0]
    raw = bytearray(path.read_bytes())
    start = first.header_offset + 30 + len(first.filename.encode()) + len(first.extra)
    raw[start + first.file_size - 1] ^= 0xFF  # the member's last stored byte: its CRC fails
    path.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match=rf"^skipped 1 unreadable image file\(s\) .*"
                                         rf"{first.filename} \(OSError\)"):
        source = load(path, stream=stream, workers=0)
    assert len(source) == N - 1


def test_stream_workers_leave_ctrl_c_to_the_training_process(folder):
    """Workers inherit the trainer's signal handlers over fork; they ignore SIGINT and die
    quietly on SIGTERM, so an interrupt is the training process's one line, not a worker's
    traceback."""
    import signal

    from gankit.data.streaming import _leave_signals_to_the_trainer

    loader = load(folder, stream="always", workers=1).stream(4, 0)._loader()
    assert loader.worker_init_fn is _leave_signals_to_the_trainer
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        _leave_signals_to_the_trainer(0)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])
