"""Image losses: each against a hand computation and an invariance; the fixed feature network
against a manual pass through the shipped classifier's layers, its gradients and its state."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.losses.image import (
    FixedFeatures,
    identity_preserving_loss,
    l1_reconstruction,
    perceptual_loss,
    pixel_loss,
    symmetry_loss,
    total_variation,
)
from gankit.metrics.digit_classifier import ImageShapeError, load_digit_classifier


def image(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)[None, None]  # [1, 1, H, W]


def random_images(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# --- total variation, symmetry, pixel loss ---

def test_total_variation_by_hand_and_of_a_constant_image():
    x = image([[0, 1, 3],
               [2, 2, 0]])
    # rows: |2-0|, |2-1|, |0-3| -> mean 2; columns: 1, 2, 0, 2 -> mean 1.25
    assert total_variation(x).item() == pytest.approx(3.25, rel=1e-6)
    assert total_variation(torch.full((2, 3, 5, 4), -0.3)).item() == 0.0


def test_symmetry_loss_by_hand_equals_the_papers_half_image_sum():
    x = image([[1, 2],
               [0, 4]])
    half_sum = (abs(1 - 2) + abs(0 - 4)) / (1 * 2)  # TP-GAN eq. 4: W/2 x H terms
    assert symmetry_loss(x).item() == pytest.approx(half_sum, rel=1e-6)
    # odd width: [0, 1, 3] minus its mirror [3, 1, 0] -> 3, 0, 3
    assert symmetry_loss(image([[0, 1, 3]])).item() == pytest.approx(2.0, rel=1e-6)


def test_symmetry_loss_is_zero_for_a_mirror_symmetric_image_and_mirror_invariant():
    x = random_images(3, 2, 6, 7)
    assert symmetry_loss(x + x.flip(-1)).item() == 0.0
    assert symmetry_loss(x).item() > 0
    assert symmetry_loss(x.flip(-1)).item() == pytest.approx(symmetry_loss(x).item(), rel=1e-6)


def test_pixel_loss_multi_scale_by_hand():
    output = image([[4, 0, 0, 0],
                    [0, 0, 0, 0],
                    [0, 0, -2, 2],
                    [0, 0, 2, 2]])
    target = torch.zeros_like(output)
    # full: 12 / 16; 2x2 means: [[1, 0], [0, 1]] -> 0.5; 4x4 mean: 8 / 16 -> 0.5
    assert pixel_loss(output, target, scales=2).item() == pytest.approx((0.75 + 0.5) / 2,
                                                                        rel=1e-6)
    assert pixel_loss(output, target, scales=3).item() == pytest.approx((0.75 + 0.5 + 0.5) / 3,
                                                                        rel=1e-6)
    assert pixel_loss(target, output, scales=3).item() == pixel_loss(output, target, 3).item()


def test_pixel_loss_of_identical_images_is_zero_and_one_scale_is_l1():
    x, y = random_images(4, 3, 16, 12, seed=1), random_images(4, 3, 16, 12, seed=2)
    assert pixel_loss(x, x.clone(), scales=4).item() == 0.0
    assert pixel_loss(x, y).item() == pytest.approx(l1_reconstruction(x, y).item(), rel=1e-6)


@pytest.mark.parametrize("scales", [0, -1, 4, 2.0, True])
def test_pixel_loss_refuses_scales_that_do_not_fit(scales):
    x = torch.zeros(1, 1, 4, 6)  # side 4: 2^(scales-1) <= 4 allows 1..3
    with pytest.raises(ConfigError, match=rf"scales must be an integer in \[1, 3\].*got "
                                          rf"{scales!r}$"):
        pixel_loss(x, x, scales=scales)


def test_pixel_loss_refuses_images_of_different_shapes():
    with pytest.raises(ImageShapeError, match=r"\[1, 1, 4, 4\] and \[1, 1, 4, 5\]"):
        pixel_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))


# --- fixed features and the feature losses ---

@pytest.fixture(scope="module")
def net():
    return load_digit_classifier("mnist5k").net


@pytest.fixture(scope="module")
def features():
    return FixedFeatures.digits("mnist5k")


def manual_activations(net, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The layers by hand, through the classifier's own (trainable) modules."""
    with torch.no_grad():
        block1 = net.conv[2](net.conv[1](net.conv[0](x)))
        block2 = net.conv[5](net.conv[4](net.conv[3](block1)))
        block3 = net.conv[8](net.conv[7](net.conv[6](block2)))
        feature = torch.relu(net.feature(block3.flatten(1)))
    return {"block1": block1, "block2": block2, "block3": block3, "feature": feature}


def test_activations_match_a_manual_pass_and_the_fid_features(net, features):
    x = random_images(5, 1, 28, 28, seed=3)
    every = ("block1", "block2", "block3", "feature")
    got, expected = features(x, every), manual_activations(net, x)
    assert tuple(got) == every
    for name in every:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)
    classifier = load_digit_classifier("mnist5k")
    torch.testing.assert_close(got["feature"], classifier.features(x), rtol=1e-5, atol=1e-5)


def test_default_layers_are_the_last_block_and_the_feature_layer(features):
    assert features.layers == ("block3", "feature")
    assert FixedFeatures.digits("digits8").layers == ("block2", "feature")


@pytest.mark.parametrize("loss, distance", [
    (identity_preserving_loss, lambda a, b: (a - b).abs().mean()),
    (perceptual_loss, lambda a, b: ((a - b) ** 2).sum() / a.numel()),  # ||.||^2 / (N C H W)
])
def test_feature_losses_match_a_manual_computation(net, features, loss, distance):
    output, reference = random_images(4, 1, 28, 28, seed=4), random_images(4, 1, 28, 28, seed=5)
    phi_o, phi_r = manual_activations(net, output), manual_activations(net, reference)
    for layers in (None, ("block1",), ("block2", "block3", "feature")):
        names = layers or ("block3", "feature")
        expected = sum(distance(phi_o[name], phi_r[name]).item() for name in names)
        got = loss(features, output, reference, layers).item()
        assert got == pytest.approx(expected, rel=1e-5)
        assert got > 0
    assert loss(features, output, output.clone()).item() == 0.0


@pytest.mark.parametrize("loss", [identity_preserving_loss, perceptual_loss])
def test_gradient_reaches_the_output_only(features, loss):
    output = random_images(3, 1, 28, 28, seed=6).requires_grad_(True)
    reference = random_images(3, 1, 28, 28, seed=7).requires_grad_(True)
    holder = nn.ModuleDict({"features": features})
    holder.requires_grad_(True)  # what the trainer does to every network in recipe.nets
    loss(features, output, reference).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0
    assert reference.grad is None
    assert list(features.parameters()) == []
    assert all(not b.requires_grad and b.grad is None for b in features.buffers())


def test_the_callers_network_is_left_trainable(net):
    FixedFeatures(net)
    assert all(p.requires_grad for p in net.parameters())
    assert len(list(net.parameters())) == 10


def test_stays_in_eval_mode_when_its_owner_trains(features):
    owner = nn.ModuleDict({"g": nn.Linear(2, 2), "features": features})
    owner.train()
    features.train(True)
    assert owner["g"].training
    assert not any(module.training for module in features.modules())


def test_layer_names_are_checked(net, features):
    known = "known layers: block1, block2, block3, feature"
    with pytest.raises(ConfigError, match=rf"unknown layer 'block4'; {known}$"):
        FixedFeatures(net, ("block3", "block4"))
    with pytest.raises(ConfigError, match=rf"no layers given; {known}$"):
        FixedFeatures(net, ())
    with pytest.raises(ConfigError, match="unknown layer 'logits'"):
        perceptual_loss(features, torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 28, 28),
                        ("logits",))
    assert FixedFeatures(net, "feature").layers == ("feature",)


def test_colour_and_other_sizes_become_grey_at_the_nets_side(features):
    colour = random_images(2, 3, 32, 32, seed=8)
    grey = F.interpolate(colour.mean(1, keepdim=True), size=(28, 28), mode="bilinear",
                         antialias=True)
    for name, value in features(colour).items():
        torch.testing.assert_close(value, features(grey)[name])
    output = colour.clone().requires_grad_(True)
    reference = random_images(2, 3, 32, 32, seed=9)
    loss = identity_preserving_loss(features, output, reference)
    loss.backward()
    assert loss.item() > 0 and output.grad.abs().sum() > 0
    small = FixedFeatures.digits("digits8")
    assert small(colour)["block2"].shape == (2, 64, 2, 2)


def test_not_in_the_owners_state_dict_yet_moved_with_it(features):
    owner = nn.ModuleDict({"g": nn.Linear(2, 2), "features": FixedFeatures.digits("mnist5k")})
    state = owner.state_dict()
    assert set(state) == {"g.weight", "g.bias"}
    fresh = nn.ModuleDict({"g": nn.Linear(2, 2), "features": FixedFeatures.digits("mnist5k")})
    fresh.load_state_dict(state)  # strict
    torch.testing.assert_close(fresh["g"].weight, owner["g"].weight)
    owner.to(torch.float64)  # as .to(device) moves the buffers, a cast converts them
    assert all(b.dtype == torch.float64 for b in owner["features"].buffers())
    x = random_images(2, 1, 28, 28, seed=10)
    torch.testing.assert_close(owner["features"](x.double())["feature"], features(x)["feature"])


def test_refuses_images_it_cannot_read(features):
    with pytest.raises(ImageShapeError, match=r"got torch.float32 \[28, 28\]"):
        features(torch.zeros(28, 28))
    with pytest.raises(ImageShapeError, match="one shape"):
        perceptual_loss(features, torch.zeros(1, 1, 28, 28), torch.zeros(2, 1, 28, 28))
