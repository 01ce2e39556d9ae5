"""FID InceptionV3: pytorch-fid's key names and shapes, loading and refusing weight files, the
TF pooling quirks and the bilinear resize against hand computations. Random weights only: the
real TF-2015 weights (~95 MB) are not downloaded in tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from gankit.errors import GankitError
from gankit.metrics.extractors import FeatureExtractor
from gankit.metrics.inception import (
    WEIGHTS_URL,
    FIDInceptionA,
    FIDInceptionC,
    FIDInceptionE,
    FIDInceptionV3,
    InceptionFeatures,
    load_inception,
    preprocess,
    tf_avg_pool,
)

# Module and branch names of torchvision's Inception3 (aux_logits=False), which pytorch-fid's
# fid_inception_v3() patches without renaming anything.
_STEM = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"]
_BRANCHES = {
    "A": ["branch1x1", "branch5x5_1", "branch5x5_2", "branch3x3dbl_1", "branch3x3dbl_2",
          "branch3x3dbl_3", "branch_pool"],
    "B": ["branch3x3", "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"],
    "C": ["branch1x1", "branch7x7_1", "branch7x7_2", "branch7x7_3", "branch7x7dbl_1",
          "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5", "branch_pool"],
    "D": ["branch3x3_1", "branch3x3_2", "branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3",
          "branch7x7x3_4"],
    "E": ["branch1x1", "branch3x3_1", "branch3x3_2a", "branch3x3_2b", "branch3x3dbl_1",
          "branch3x3dbl_2", "branch3x3dbl_3a", "branch3x3dbl_3b", "branch_pool"],
}
_MIXED = {"Mixed_5b": "A", "Mixed_5c": "A", "Mixed_5d": "A", "Mixed_6a": "B", "Mixed_6b": "C",
          "Mixed_6c": "C", "Mixed_6d": "C", "Mixed_6e": "C", "Mixed_7a": "D", "Mixed_7b": "E",
          "Mixed_7c": "E"}
_SHAPES = {
    "Conv2d_1a_3x3.conv.weight": [32, 3, 3, 3],
    "Conv2d_4a_3x3.bn.running_var": [192],
    "Mixed_5b.branch5x5_2.conv.weight": [64, 48, 5, 5],
    "Mixed_5d.branch_pool.conv.weight": [64, 288, 1, 1],
    "Mixed_6a.branch3x3.conv.weight": [384, 288, 3, 3],
    "Mixed_6b.branch7x7_2.conv.weight": [128, 128, 1, 7],
    "Mixed_6e.branch7x7dbl_4.conv.weight": [192, 192, 7, 1],
    "Mixed_7a.branch3x3_2.conv.weight": [320, 192, 3, 3],
    "Mixed_7b.branch3x3dbl_1.conv.weight": [448, 1280, 1, 1],
    "Mixed_7c.branch3x3_2b.conv.weight": [384, 384, 3, 1],
    "Mixed_7c.branch_pool.conv.weight": [192, 2048, 1, 1],
    "fc.weight": [1008, 2048],
    "fc.bias": [1008],
}


def _meta_net() -> FIDInceptionV3:
    with torch.device("meta"):
        return FIDInceptionV3()


@pytest.fixture(scope="module")
def net() -> FIDInceptionV3:
    """Random weights that keep activations O(1) (He init) and random BatchNorm statistics, so
    that a loader forgetting the running buffers changes the features."""
    gen = torch.Generator().manual_seed(0)
    net = FIDInceptionV3()
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            fan_in = m.weight[0].numel()
            m.weight.data = torch.randn(m.weight.shape, generator=gen) * (2 / fan_in) ** 0.5
        elif isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 0.5 + torch.rand(c, generator=gen)
            m.bias.data = 0.1 * torch.randn(c, generator=gen)
            m.running_mean = 0.1 * torch.randn(c, generator=gen)
            m.running_var = 0.5 + 1.5 * torch.rand(c, generator=gen)
    return net.eval()


@pytest.fixture(scope="module")
def weights(net: FIDInceptionV3, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inception") / "pt_inception.pth"
    torch.save(net.state_dict(), path)
    return path


def _images(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_loaded_weights_give_the_same_features(net: FIDInceptionV3, weights: Path):
    loaded = load_inception(weights).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())
    x = _images(2, 3, 40, 40)
    expected = InceptionFeatures(net).features(x)
    extractor = InceptionFeatures.from_file(weights, batch_size=1)  # 2 batches of 1
    got = extractor.features(x)
    assert isinstance(extractor, FeatureExtractor) and extractor.name == "inception"
    assert got.shape == (2, 2048) and got.dtype == torch.float32 and got.device.type == "cpu"
    torch.testing.assert_close(got, expected)
    assert (got >= 0).all() and (got > 0).float().mean() > 0.5  # a mean of ReLU outputs
    assert not torch.allclose(got[0], got[1])


def test_torch_fidelity_layout_without_batchnorm_counters_loads_from_safetensors(
        net: FIDInceptionV3, tmp_path: Path):
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert len(state) == 472  # 94 convs + 94 batchnorms (4 tensors each) + fc, as torch-fidelity
    save_file(state, tmp_path / "inception.safetensors")
    loaded = load_inception(tmp_path / "inception.safetensors").state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    assert int(loaded["Mixed_7c.branch_pool.bn.num_batches_tracked"]) == 0


def test_state_dict_keys_and_shapes_are_pytorch_fids():
    convs = _STEM + [f"{m}.{b}" for m, kind in _MIXED.items() for b in _BRANCHES[kind]]
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    expected = {f"{c}.conv.weight" for c in convs} | {f"{c}.bn.{t}" for c in convs for t in bn}
    state = _meta_net().state_dict()
    assert len(convs) == 94
    assert set(state) == expected | {"fc.weight", "fc.bias"}
    assert len(state) == 94 * 6 + 2
    for key, shape in _SHAPES.items():
        assert list(state[key].shape) == shape, key
    # torchvision documents 27,161,264 parameters for inception_v3 with AuxLogits (3,326,696)
    # and a 1000-way fc (2,049,000); the FID patches change pooling only, no parameters.
    trunk = sum(p.numel() for n, p in _meta_net().named_parameters() if not n.startswith("fc."))
    assert trunk == 27_161_264 - 3_326_696 - 2_049_000


def _zeros_like_net() -> dict[str, torch.Tensor]:
    """The right keys and shapes as broadcast views of one zero: files of a few kilobytes."""
    return {k: torch.zeros(()).expand(v.shape) for k, v in _meta_net().state_dict().items()}


def test_missing_file_names_the_path_and_where_to_get_it(tmp_path: Path):
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    with pytest.raises(GankitError) as err:
        InceptionFeatures.from_file(path)
    message = str(err.value)
    assert str(path) in message and WEIGHTS_URL in message and "\n" not in message


def test_renamed_key_and_wrong_shape_are_named(tmp_path: Path):
    state = _zeros_like_net()
    state["Mixed_5b.branch1x1.conv.weights"] = state.pop("Mixed_5b.branch1x1.conv.weight")
    state["fc.weight"] = torch.zeros(1000, 2048)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(GankitError) as err:
        load_inception(tmp_path / "bad.pth")
    message = str(err.value)
    assert str(tmp_path / "bad.pth") in message and "\n" not in message
    assert "1 missing keys (first: Mixed_5b.branch1x1.conv.weight)" in message
    assert "1 unexpected keys (first: Mixed_5b.branch1x1.conv.weights)" in message
    assert "fc.weight is [1000, 2048], expected [1008, 2048]" in message


@pytest.mark.parametrize(("content", "says"), [
    ([torch.zeros(3)], "not a state dict"),
    ({"a": 1}, "not a state dict"),
    (b"not a pickle", "cannot read"),
    (b"", "cannot read"),
])
def test_files_that_are_not_state_dicts_are_refused(tmp_path: Path, content: object, says: str):
    path = tmp_path / "weights.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(GankitError, match=says) as err:
        load_inception(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def _touch(path: str) -> None:
    Path(path).touch()


class _Trap:
    """Unpickling this would create a file: proof that code in the weight file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return _touch, (str(self.marker),)


def test_pickled_code_is_refused_not_executed(tmp_path: Path):
    marker = tmp_path / "executed"
    state: dict[str, object] = dict(_zeros_like_net())
    state["fc.bias"] = _Trap(marker)
    torch.save(state, tmp_path / "trap.pth")
    with pytest.raises(GankitError, match="weights_only") as err:
        load_inception(tmp_path / "trap.pth")
    assert "_touch" in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists()


def test_gray_images_are_repeated_and_any_size_is_resized(net: FIDInceptionV3):
    gray = _images(1, 1, 28, 28)
    assert preprocess(gray).shape == (1, 3, 299, 299)
    extractor = InceptionFeatures(net)
    torch.testing.assert_close(extractor.features(gray),
                               extractor.features(gray.repeat(1, 3, 1, 1)), rtol=0, atol=0)
    with pytest.raises(ValueError, match="1 or 3"):
        extractor.features(torch.zeros(2, 2, 8, 8))


def _bilinear_matrix(n_in: int, n_out: int = 299) -> np.ndarray:
    """Half-pixel-centre bilinear weights (align_corners=False), no antialiasing: output i samples
    input coordinate (i + 0.5) * n_in / n_out - 0.5, clamped to the border."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        s = min(max((i + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1)
        i0 = int(s)
        i1, w = min(i0 + 1, n_in - 1), s - i0
        m[i, i0] += 1 - w
        m[i, i1] += w
    return m


def test_resize_is_pytorch_fids_bilinear_without_renormalization():
    x = _images(2, 3, 6, 411).double()  # upsampled in height, downsampled in width
    expected = _bilinear_matrix(6) @ x.numpy() @ _bilinear_matrix(411).T
    np.testing.assert_allclose(preprocess(x).numpy(), expected, rtol=1e-12, atol=1e-12)
    for value in (-1.0, 1.0):  # no [0, 1] -> [-1, 1] map, which would send -1 to -3
        x = torch.full((1, 3, 5, 5), value)
        torch.testing.assert_close(preprocess(x), torch.full((1, 3, 299, 299), value))


def _pool_by_hand(x: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """3x3 stride-1 pool of x [C, H, W] over the in-image pixels of each window only."""
    out = np.empty_like(x)
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            window = x[:, max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
            out[:, i, j] = reduce.reduce(window.reshape(len(x), -1), axis=1)
    return out


def test_tf_avg_pool_averages_in_bounds_pixels_only():
    x = _images(1, 1, 4, 5)[0, 0]
    pooled = tf_avg_pool(x[None, None])[0, 0]
    assert pooled[0, 0] == pytest.approx(x[:2, :2].mean().item(), rel=1e-6)  # corner: 4 pixels
    assert pooled[0, 2] == pytest.approx(x[:2, 1:4].mean().item(), rel=1e-6)  # edge: 6 pixels
    assert pooled[1, 1] == pytest.approx(x[:3, :3].mean().item(), rel=1e-6)  # inside: 9 pixels


@pytest.mark.parametrize(("block", "reduce"), [
    (lambda: FIDInceptionA(4, pool_features=4), np.add),  # pytorch-fid's FIDInceptionA
    (lambda: FIDInceptionC(4, channels_7x7=8), np.add),  # FIDInceptionC
    (lambda: FIDInceptionE(4), np.add),  # FIDInceptionE_1
    (lambda: FIDInceptionE(4, max_pool=True), np.maximum),  # FIDInceptionE_2
])
def test_pool_branch_of_each_fid_block(block, reduce: np.ufunc):
    """With the branch's 1x1 conv copying channel j % 4 and BatchNorm the identity, the block's
    last channels are the pooled input: mean or max over the in-image 3x3 neighbours."""
    module = block().eval()
    conv, bn = module.branch_pool.conv, module.branch_pool.bn
    n_pool = conv.out_channels
    conv.weight.data = torch.zeros(n_pool, 4, 1, 1)
    conv.weight.data[torch.arange(n_pool), torch.arange(n_pool) % 4] = 1.0
    bn.weight.data.fill_(1.0)
    bn.bias.data.zero_()
    bn.running_var.fill_(1 - bn.eps)
    x = torch.rand(1, 4, 5, 6, generator=torch.Generator().manual_seed(1))  # > 0: ReLU is a no-op
    with torch.no_grad():
        got = module(x)[0, -n_pool:].numpy()
    expected = _pool_by_hand(x[0].numpy().astype(np.float64), reduce)
    if reduce is np.add:
        counts = _pool_by_hand(np.ones((1, 5, 6)), np.add)
        expected = expected / counts
    np.testing.assert_allclose(got, expected[np.arange(n_pool) % 4], rtol=1e-5, atol=1e-6)
