"""The shipped digit classifiers: accuracy on the held-out split, checksums, the Classifier
protocol, input checks, and deterministic training."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.data.images import ImageDataset, to_unit_range
from gankit.errors import CheckpointError, GankitError
from gankit.metrics import digit_classifier as dc
from gankit.metrics.extractors import Classifier

SIZES = {"mnist5k": 28, "digits8": 8}


@pytest.fixture(scope="module")
def split() -> dict[str, ImageDataset]:
    return {name: dc.load_split(name) for name in SIZES}


@pytest.fixture(scope="module")
def shipped() -> dict[str, dc.DigitClassifier]:
    return {name: dc.load_digit_classifier(name) for name in SIZES}


@pytest.mark.parametrize("name", SIZES)
def test_shipped_classifier_is_accurate_on_held_out_digits(name, split, shipped):
    data, classifier = split[name], shipped[name]
    predicted = classifier.predict(to_unit_range(data.held_out))
    accuracy = (predicted == data.held_out_labels).double().mean().item()
    assert accuracy >= 0.97
    # The file's provenance matches what it does here (one digit of slack for a different CPU).
    assert accuracy == pytest.approx(classifier.info["held_out_accuracy"],
                                     abs=1.5 / len(data.held_out))
    assert classifier.info["dataset"] == name


@pytest.mark.parametrize("name", SIZES)
def test_shipped_files_are_small_and_pinned(name):
    path = dc.WEIGHTS / f"{name}-classifier.safetensors"
    assert path.stat().st_size < 1 << 20
    assert dc.file_sha256(path) == dc.SHA256[name]


def _flipped_copy(tmp_path: Path, name: str = "digits8") -> Path:
    copy = tmp_path / "flipped.safetensors"
    shutil.copy(dc.WEIGHTS / f"{name}-classifier.safetensors", copy)
    raw = bytearray(copy.read_bytes())
    raw[-1] ^= 0x01  # the last weight's lowest mantissa bits: still a loadable file
    copy.write_bytes(bytes(raw))
    return copy


def test_checksum_mismatch_names_file_and_both_checksums(tmp_path):
    copy = _flipped_copy(tmp_path)
    actual = dc.file_sha256(copy)
    with pytest.raises(CheckpointError) as err:
        dc.load_classifier_file(copy, dc.SHA256["digits8"])
    message = str(err.value)
    assert str(copy) in message and actual in message and dc.SHA256["digits8"] in message
    assert "\n" not in message
    # Skipping the check is possible, but only by asking for it.
    assert dc.load_classifier_file(copy, None).name == "digits-digits8"


def test_checksum_is_checked_before_the_file_is_read(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="expected 0{64}"):
        dc.load_classifier_file(junk, "0" * 64)
    with pytest.raises(CheckpointError, match="not a gankit digit classifier"):
        dc.load_classifier_file(junk, None)


def test_shipped_file_with_wrong_pin_is_refused(monkeypatch):
    monkeypatch.setitem(dc.SHA256, "digits8", "f" * 64)
    with pytest.raises(CheckpointError, match="digits8-classifier.safetensors.*expected f{64}"):
        dc.load_digit_classifier("digits8")


def test_unknown_data_set_lists_the_known_ones(tmp_path):
    with pytest.raises(GankitError, match="shipped: digits8, mnist5k"):
        dc.load_digit_classifier("cifar10")
    with pytest.raises(GankitError, match="known: digits8, mnist5k"):
        dc.train_classifier("cifar10")
    with pytest.raises(CheckpointError, match="not found"):
        dc.load_classifier_file(tmp_path / "missing.safetensors", None)


@pytest.mark.parametrize("name", SIZES)
def test_outputs_follow_the_classifier_protocol(name, split, shipped):
    classifier = shipped[name]
    images = to_unit_range(split[name].held_out[:50])  # [50, 1, S, S]
    assert isinstance(classifier, Classifier)
    assert classifier.name == f"digits-{name}" and classifier.n_classes == 10
    features = classifier.features(images)
    assert features.shape == (50, 128) and features.dtype == torch.float32
    assert (features >= 0).all()  # post-ReLU penultimate layer
    probs = classifier.probabilities(images)
    assert probs.shape == (50, 10)
    torch.testing.assert_close(probs.sum(1), torch.ones(50))
    labels = classifier.predict(images)
    assert labels.dtype == torch.int64 and torch.equal(labels, probs.argmax(1))


@pytest.mark.parametrize("name", SIZES)
def test_outputs_do_not_depend_on_the_batch_size(name, split):
    classifier = dc.load_digit_classifier(name)
    images = to_unit_range(split[name].held_out[:300])
    classifier.batch_size = 500
    labels, features = classifier.predict(images), classifier.features(images)
    classifier.batch_size = 7
    assert torch.equal(classifier.predict(images), labels)
    torch.testing.assert_close(classifier.features(images), features, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", SIZES)
def test_channels_last_outputs_match_the_plain_forward_pass(name, split, shipped):
    """The classifier runs its net in channels_last for speed: the same function up to the
    convolutions' summation order."""
    classifier = shipped[name]
    images = to_unit_range(split[name].held_out[:200])
    features, probs = classifier.outputs(images)
    with torch.device("meta"):  # no initialisation, no draw from the global RNG
        plain = dc.DigitNet(classifier.net.config)
    weights = {k: v.contiguous() for k, v in classifier.net.state_dict().items()}  # NCHW
    plain.load_state_dict(weights, assign=True)
    with torch.no_grad():
        h, logits = plain.eval()(images)
    torch.testing.assert_close(features, h, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(probs, logits.softmax(1), rtol=1e-5, atol=1e-6)
    assert torch.equal(probs.argmax(1), logits.argmax(1))


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (4, 3, 8, 8), (1, 8, 8), (4, 1, 8, 9)])
def test_wrong_image_shape_names_got_and_expected(shape, shipped):
    with pytest.raises(dc.ImageShapeError, match=r"\[N, 1, 8, 8\], got \[") as err:
        shipped["digits8"].features(torch.zeros(shape))
    assert str(list(shape)) in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, GankitError)


def test_uint8_images_are_refused(shipped):
    with pytest.raises(dc.ImageShapeError, match="float images in \\[-1, 1\\], got torch.uint8"):
        shipped["digits8"].predict(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))


def test_random_shift_translates_each_image_within_bounds():
    images = torch.full((200, 1, 9, 9), -1.0)
    images[:, 0, 4, 4] = 1.0  # one bright pixel in the middle
    shifted = dc.random_shift(images, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape
    bright = (shifted == 1).nonzero()  # [200, 4]: (n, c, row, col)
    assert torch.equal(bright[:, 0], torch.arange(200))  # exactly one bright pixel each
    offsets = bright[:, 2:] - 4
    assert offsets.abs().max() == 2 and len(torch.unique(offsets, dim=0)) == 25
    assert set(shifted.unique().tolist()) == {-1.0, 1.0}


def test_training_is_deterministic_given_the_seed(tmp_path):
    rng_before = torch.random.get_rng_state()
    first, acc_first = dc.train_classifier("digits8", seed=3, epochs=1)
    second, acc_second = dc.train_classifier("digits8", seed=3, epochs=1)
    other, _ = dc.train_classifier("digits8", seed=4, epochs=1)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # global RNG untouched
    a, b, c = (m.net.state_dict() for m in (first, second, other))
    assert all(torch.equal(a[k], b[k]) for k in a) and acc_first == acc_second
    assert not all(torch.equal(a[k], c[k]) for k in a)
    # What is saved loads back into the same function.
    digest = dc.save_classifier(first, tmp_path / "c.safetensors", accuracy=acc_first, seed=3,
                                epochs=1)
    loaded = dc.load_classifier_file(tmp_path / "c.safetensors", digest)
    images = torch.rand(16, 1, 8, 8) * 2 - 1
    assert torch.equal(loaded.features(images), first.features(images))
    assert loaded.info["seed"] == 3 and loaded.info["architecture"]["image_size"] == 8


@pytest.mark.slow
@pytest.mark.parametrize("name", SIZES)
def test_retraining_reaches_97_percent_and_reproduces_itself(name):
    torch.set_num_threads(1)
    _, accuracy = dc.train_classifier(name, seed=0)
    _, again = dc.train_classifier(name, seed=0)
    assert accuracy >= 0.97 and again == accuracy


def test_the_retraining_command_answers_and_importing_it_runs_nothing():
    """``python -m gankit.metrics.digit_classifier`` is the package's ``__main__``; a registry
    that imports every module of gankit.metrics imports that one too, which must not train."""
    command = [sys.executable, "-m", "gankit.metrics.digit_classifier", "--help"]
    help_text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "--data {digits8,mnist5k}" in help_text
    imported = subprocess.run([sys.executable, "-c", "import gankit.metrics.digit_classifier."
                               "__main__ as m; print(m.main.__name__)"],
                              capture_output=True, text=True, check=True, timeout=60)
    assert imported.stdout.split() == ["main"] and imported.stderr == ""
