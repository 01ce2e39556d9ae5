r"""InceptionV3 "pool3" features for FID, as pytorch-fid computes them, without torchvision.

FID (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", eq. 6) compares Gaussians fitted to the 2048-d outputs of the last average pool
("pool3") of InceptionV3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for
Computer Vision"). Published FIDs come from one particular network, the TensorFlow graph
``inception-2015-12-05`` that the original TTUR code loads. torchvision's ``inception_v3`` is a
different network: other weights (1000 classes, not 1008) and other pooling in the mixed
blocks. pytorch-fid (M. Seitzer) ported the 2015 weights and patched torchvision's blocks where
the 2015 graph differs; this module rebuilds that patched network:

- the pool branch of every mixed block except the last averages like TF's 'SAME' pool, over the
  in-bounds pixels only (``count_include_pad=False``): :class:`FIDInceptionA`,
  :class:`FIDInceptionC`, and :class:`FIDInceptionE` as Mixed_7b (pytorch-fid's
  ``FIDInceptionE_1``);
- the last block, Mixed_7c (pytorch-fid's ``FIDInceptionE_2``), max-pools its pool branch;
- the classifier has 1008 outputs (``fc``); pool3 features never use it.

FIDs from torchvision's network are therefore not comparable with published ones.

Input as in pytorch-fid: bilinear resize to 299x299 (``align_corners=False``, no antialiasing)
of images in [-1, 1]. pytorch-fid maps [0, 1] to [-1, 1] after resizing; gankit images already
are in [-1, 1], and the resize commutes with that affine map. 1-channel images are repeated to 3
channels. TTUR and torch-fidelity resize with TF1's bilinear kernel instead, so these features
match pytorch-fid's, not theirs, bit for bit.

Weights: nothing is downloaded. Pass the path of pytorch-fid's release file (:data:`WEIGHTS_URL`)
or of torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``: both hold the TF-2015
tensors under the same names (``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.running_mean``,
..., ``fc.weight`` [1008, 2048]). torch-fidelity's conversion writes no BatchNorm
``num_batches_tracked`` counters, which inference never reads, so they are optional. A
``.safetensors`` file with the same keys works too. ``.pth`` files are read with
``torch.load(weights_only=True)``: a file holding anything but tensors is refused, not executed.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.metrics.extractors import FEATURE_EXTRACTORS

WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
               "pt_inception-2015-12-05-6726825d.pth")
SIZE = 299  # input side of InceptionV3 (Szegedy et al. 2016, Table 1)
DIM = 2048  # pool3 features
N_CLASSES = 1008  # outputs of the 2015 graph's softmax layer
_COUNTER = ".num_batches_tracked"


class BasicConv2d(nn.Module):
    """Conv without bias -> BatchNorm (eps 0.001, TF's value) -> ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int | tuple[int, int],
                 stride: int = 1, padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def tf_avg_pool(x: Tensor) -> Tensor:
    """3x3 stride-1 'SAME' average pool as TF computes it: padded zeros are not counted."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """35x35 block (Szegedy et al. 2016, Fig. 5): 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | TF avg pool-1x1.

    [N, c_in, H, W] -> [N, 224 + pool_features, H, W].
    """

    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, 1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        b5x5 = self.branch5x5_2(self.branch5x5_1(x))
        b3x3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5x5, b3x3, self.branch_pool(tf_avg_pool(x))], 1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17 (Szegedy et al. 2016, Fig. 10): [N, c_in, 35, 35] ->
    [N, 480 + c_in, 17, 17]."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3x3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3x3, F.max_pool2d(x, 3, stride=2)], 1)


class FIDInceptionC(nn.Module):
    """17x17 block with 7x7 convolutions factorized into 1x7 and 7x1 (Szegedy et al. 2016,
    Fig. 6), TF avg pool in the pool branch: [N, c_in, H, W] -> [N, 768, H, W]."""

    def __init__(self, c_in: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b7x7dbl = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                     self.branch7x7dbl_5):
            b7x7dbl = conv(b7x7dbl)
        return torch.cat([self.branch1x1(x), b7x7, b7x7dbl, self.branch_pool(tf_avg_pool(x))], 1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8 (Szegedy et al. 2016, Fig. 10): [N, c_in, 17, 17] ->
    [N, 512 + c_in, 8, 8]."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3x3 = self.branch3x3_2(self.branch3x3_1(x))
        b7x7x3 = self.branch7x7x3_1(x)
        for conv in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7x7x3 = conv(b7x7x3)
        return torch.cat([b3x3, b7x7x3, F.max_pool2d(x, 3, stride=2)], 1)


class FIDInceptionE(nn.Module):
    """8x8 block with expanded filter bank (Szegedy et al. 2016, Fig. 7): [N, c_in, H, W] ->
    [N, 2048, H, W].

    ``max_pool=False`` is pytorch-fid's ``FIDInceptionE_1`` (Mixed_7b, TF avg pool), ``True`` its
    ``FIDInceptionE_2`` (Mixed_7c): the 2015 graph max-pools there, unlike the paper.
    """

    def __init__(self, c_in: int, max_pool: bool = False) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(c_in, 320, 1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b3x3 = self.branch3x3_1(x)
        b3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else tf_avg_pool(x)
        return torch.cat([self.branch1x1(x),
                          self.branch3x3_2a(b3x3), self.branch3x3_2b(b3x3),
                          self.branch3x3dbl_3a(b3x3dbl), self.branch3x3dbl_3b(b3x3dbl),
                          self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """The TF-2015 InceptionV3 up to pool3, parameter names as in pytorch-fid's state dict."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280)
        self.Mixed_7c = FIDInceptionE(2048, max_pool=True)
        # In the weight files; kept so that the state dict is exactly theirs.
        self.fc = nn.Linear(DIM, N_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        """[N, 3, 299, 299] in [-1, 1] -> pool3 features [N, 2048]."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # [N, 64, 147, 147]
        x = F.max_pool2d(x, 3, stride=2)  # [N, 64, 73, 73]
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # [N, 192, 71, 71]
        x = F.max_pool2d(x, 3, stride=2)  # [N, 192, 35, 35]
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))  # [N, 288, 35, 35]
        x = self.Mixed_6a(x)  # [N, 768, 17, 17]
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))  # [N, 768, 17, 17]
        x = self.Mixed_7a(x)  # [N, 1280, 8, 8]
        x = self.Mixed_7c(self.Mixed_7b(x))  # [N, 2048, 8, 8]
        return F.adaptive_avg_pool2d(x, 1).flatten(1)  # [N, 2048]


def preprocess(images: Tensor) -> Tensor:
    """[N, 1 or 3, H, W] in [-1, 1] -> [N, 3, 299, 299]: gray repeated, resized as pytorch-fid."""
    x = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
    return F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


def load_inception(path: str | Path, device: str | torch.device = "cpu") -> FIDInceptionV3:
    """:class:`FIDInceptionV3` with the weights in ``path``, in eval mode, no gradients."""
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"InceptionV3 weights not found at {path}; download {WEIGHTS_URL} "
                          "yourself (gankit downloads nothing) and pass its path")
    state = _read_state_dict(path)
    with torch.device("meta"):  # shapes only: no memory, no random init to overwrite
        net = FIDInceptionV3()
    expected = net.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(_COUNTER)]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing keys (first: {missing[0]})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected keys (first: {unexpected[0]})")
        if wrong:
            k = wrong[0]
            problems.append(f"{len(wrong)} keys with wrong shapes (first: {k} is "
                            f"{list(state[k].shape)}, expected {list(expected[k].shape)})")
        raise GankitError(f"{path} is not the FID InceptionV3 state dict of {len(expected)} "
                          f"tensors: {'; '.join(problems)}")
    for k in expected:
        state.setdefault(k, torch.tensor(0))  # BatchNorm's step counter, unused in eval
    net.load_state_dict(state, assign=True)
    return net.float().to(device).eval().requires_grad_(False)


def _read_state_dict(path: Path) -> dict[str, Tensor]:
    try:
        if path.suffix == ".safetensors":
            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's message is a paragraph that suggests allowlisting; only the object's name helps.
        found = re.search(r"Unsupported (?:global: GLOBAL|class) (\S+)", str(err))
        if found:
            raise GankitError(f"{path} holds Python objects besides tensors ({found.group(1)}); "
                              "refused to unpickle them (torch.load weights_only=True)") from err
        raise GankitError(f"cannot read {path} as a state dict: not a PyTorch file, "
                          "or damaged") from err
    except (SafetensorError, RuntimeError, EOFError, ValueError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GankitError(f"cannot read {path} as a state dict: {reason}") from err
    if not (isinstance(state, dict) and all(isinstance(k, str) and isinstance(v, Tensor)
                                            for k, v in state.items())):
        raise GankitError(f"{path} is not a state dict (a dict of named tensors), "
                          f"it holds a {type(state).__name__}")
    return dict(state)


class InceptionFeatures:
    """FID's :class:`~gankit.metrics.extractors.FeatureExtractor`: pool3 of the TF-2015
    InceptionV3, run in batches of ``batch_size`` on ``device``."""

    name: str = "inception"

    def __init__(self, net: FIDInceptionV3, device: str | torch.device = "cpu",
                 batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = torch.device(device)
        self.net = net.to(self.device).eval().requires_grad_(False)
        self.batch_size = batch_size

    @classmethod
    def from_file(cls, path: str | Path, device: str | torch.device = "cpu",
                  batch_size: int = 64) -> InceptionFeatures:
        """Load the weights in ``path`` (see :func:`load_inception`)."""
        return cls(load_inception(path, device), device, batch_size)

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        """Images [N, 1 or 3, H, W] in [-1, 1], any size and device -> [N, 2048] float32, CPU."""
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images must be [N, 1 or 3, H, W], got shape {list(images.shape)}")
        out = [self.net(preprocess(batch.to(self.device, torch.float32))).cpu()
               for batch in images.split(self.batch_size)]
        return torch.cat(out) if out else torch.zeros(0, DIM)


@FEATURE_EXTRACTORS.register("inception", weights=True)
def inception(data: object, weights: str | None, device: str | torch.device) -> InceptionFeatures:
    """InceptionV3, the space FID is defined in, from pytorch-fid's weights file
    (pt_inception-2015-12-05-6726825d.pth)."""
    if not weights:
        raise GankitError("features 'inception' need the weights file: --weights PATH "
                          "(pytorch-fid's pt_inception-2015-12-05-6726825d.pth)")
    return InceptionFeatures.from_file(weights, device)
