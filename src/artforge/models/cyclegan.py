"""CycleGAN networks (Zhu, Park, Isola & Efros 2017, appendix 7.2).

Generator: the residual network of Johnson, Alahi & Fei-Fei (2016) as CycleGAN
uses it — ``c7s1-64, d128, d256, R256 × n, u128, u64, c7s1-3`` then tanh, with
instance norm (Ulyanov et al. 2016) and reflection padding "to reduce artifacts".
n = 9 residual blocks for 256 px and larger, 6 for 128 px and smaller.  It is
fully convolutional: trained at one size it translates any size that is a
multiple of 4.

Discriminator: the 70×70 PatchGAN (Isola et al. 2017) — ``C64-C128-C256-C512``,
4×4 convolutions, instance norm on all but the first, LeakyReLU 0.2, then a
convolution to one channel.  It scores overlapping 70×70 patches, not the whole
image.  As in the authors' released code, the first three layers have stride 2
and C512 and the output layer stride 1: that is what makes the receptive field
70×70 (the appendix's "stride 2" for every Ck would give 94×94).  ``depth`` (the
number of stride-2 layers, 3 for 70×70) shrinks automatically for images too
small to leave at least a 2×2 grid of patches.

Weights are initialised from N(0, 0.02) (appendix 7.1); the instance-norm scales
from N(1, 0.02).  The objective lives in ``artforge.methods.cyclegan``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from artforge.models.layers import raw_weight
from artforge.models.registry import register_model

MIN_SIZE = 16  # two stride-2 steps must leave room for the residual blocks' reflection padding


def _norm(channels: int) -> nn.InstanceNorm2d:
    # Affine instance norm: the learned scale/shift of Ulyanov et al.  No running statistics,
    # so a picture is normalised by its own statistics in training and translation alike.
    return nn.InstanceNorm2d(channels, affine=True)


def _gaussian_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(raw_weight(m), 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.InstanceNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def default_res_blocks(image_size: int) -> int:
    """The paper's choice: 9 residual blocks at 256 px and above, 6 below."""
    return 9 if image_size >= 256 else 6


class ResidualBlock(nn.Module):
    """R_k: two 3×3 conv-IN layers (ReLU between) added to the input (He et al. 2016)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            _norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _conv_in_relu(c_in: int, c_out: int, kind: str) -> list[nn.Module]:
    """c7s1-k, dk (stride 2) or uk (stride 1/2) with instance norm and ReLU.  Conv biases are left
    out: the instance norm right after subtracts the per-channel mean and would cancel them."""
    if kind == "c7":
        conv: nn.Module = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c_in, c_out, 7, bias=False))
    elif kind == "d":
        conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False)
    else:  # fractionally strided: exactly doubles the size
        conv = nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=False)
    return [conv, _norm(c_out), nn.ReLU(True)]


class ResnetGenerator(nn.Module):
    """Image -> image of the same size, in [-1, 1].

    Example::

        g = ResnetGenerator(width=64, res_blocks=9)       # the paper's 256 px generator
        y = g(torch.rand(1, 3, 256, 256) * 2 - 1)           # 1×3×256×256
    """

    def __init__(self, channels: int = 3, width: int = 64, res_blocks: int | None = None, image_size: int = 256, **_):
        super().__init__()
        n_blocks = default_res_blocks(image_size) if res_blocks is None else int(res_blocks)
        if n_blocks < 0 or width < 1:
            raise ValueError(f"need width >= 1 and res_blocks >= 0, got width={width}, res_blocks={res_blocks}")
        layers = _conv_in_relu(channels, width, "c7")
        layers += _conv_in_relu(width, 2 * width, "d") + _conv_in_relu(2 * width, 4 * width, "d")
        layers += [ResidualBlock(4 * width) for _ in range(n_blocks)]
        layers += _conv_in_relu(4 * width, 2 * width, "u") + _conv_in_relu(2 * width, width, "u")
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.res_blocks = n_blocks
        _gaussian_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % 4 or w % 4 or min(h, w) < 8:
            raise ValueError(f"the CycleGAN generator needs sides that are multiples of 4 and >= 8, got {h}×{w}")
        return self.net(x)


def patch_depth(image_size: int, max_depth: int = 3) -> int:
    """Stride-2 layers that still leave at least a 2×2 grid of patch scores (3 = 70×70 patches)."""
    depth = max_depth
    while depth > 1 and image_size // 2**depth - 2 < 2:
        depth -= 1
    return depth


def receptive_field(depth: int) -> int:
    """Side of the input patch one output score sees: 70 for depth 3 (34 for 2, 16 for 1)."""
    field = 4 + 3  # the two stride-1 4×4 layers at the end
    for _ in range(depth):
        field = 2 * field + 2  # a 4×4, stride-2 layer below
    return field


class PatchDiscriminator(nn.Module):
    """Image -> N×1×h×w grid of real/fake scores, one per overlapping patch."""

    def __init__(
        self,
        channels: int = 3,
        width: int = 64,
        depth: int | None = None,
        image_size: int = 256,
        spectral_norm: bool = False,
        **_,
    ):
        super().__init__()
        depth = patch_depth(image_size) if depth is None else int(depth)
        if depth < 1:
            raise ValueError(f"PatchGAN depth must be at least 1, got {depth}")
        wrap = _sn if spectral_norm else (lambda m: m)
        widths = [width * min(2**i, 8) for i in range(depth + 1)]  # 64, 128, 256, 512 (doubling, capped at 8×)
        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, widths[0], 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        for i in range(1, depth + 1):
            stride = 2 if i < depth else 1  # C512 keeps the resolution (see the module docstring)
            layers += [
                wrap(nn.Conv2d(widths[i - 1], widths[i], 4, stride, 1, bias=False)),
                _norm(widths[i]),
                nn.LeakyReLU(0.2, True),
            ]
        layers += [wrap(nn.Conv2d(widths[-1], 1, 4, 1, 1))]
        self.net = nn.Sequential(*layers)
        self.depth = depth
        _gaussian_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


register_model(
    "cyclegan",
    method="cyclegan",
    parts={"g_ab": ResnetGenerator, "g_ba": ResnetGenerator, "d_a": PatchDiscriminator, "d_b": PatchDiscriminator},
    description="CycleGAN (Zhu et al. 2017): two ResNet generators, two 70×70 PatchGANs; unpaired A <-> B",
)
