"""StyleGAN2 networks (Karras, Laine, Aittala, Hellsten, Lehtinen & Aila, "Analyzing and Improving
the Image Quality of StyleGAN", CVPR 2020), sized to train on a CPU.

Generator = mapping network z → w (normalised z, an MLP of ``mapping_layers`` layers at 1/100 the
learning rate; it tracks the mean w that truncation pulls towards) + synthesis network: a learned
4×4 constant, then per resolution two *modulated/demodulated* 3×3 convolutions (the style w scales
the input channels, the weights are renormalised per sample so features keep unit variance —
StyleGAN2 §2.2, replacing AdaIN and its droplet artefacts), per-pixel noise with a learned
strength, and a "skip" output: every resolution adds its own toRGB to the upsampled picture so far
(§4.1).  Every layer takes its own w (``num_ws`` of them), which is what style mixing swaps.

Discriminator = "residual" (§4.1): fromRGB at full size, then per resolution two 3×3 convolutions
with a 1×1 skip, summed and divided by √2; at 4×4 the minibatch standard deviation (Karras et al.
2018, §3) as an extra channel, a 3×3 convolution and two dense layers to one logit.

All weights use the equalised learning rate (Karras et al. 2018, §4.1): stored as N(0, 1) and
scaled by He's constant at run time, so Adam's step is the same for every layer.

Simplifications, said plainly: resampling is bilinear upsampling and 2×2 average pooling (the
paper low-pass filters with [1, 3, 3, 1] in transposed and strided convolutions); the
modulation is applied to activations rather than fused into grouped-convolution weights (the
same arithmetic, and the faster path on a CPU — the paper's own code does this in training).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from artforge.models.layers import SQRT2, DiscriminatorEpilogue, EqualConv2d, EqualLinear, lrelu
from artforge.models.registry import register_model

DEFAULT_WIDTH = 32  # channels at full resolution, doubling towards 4×4 (the paper: 32768 / resolution)
DEFAULT_MAX_WIDTH = 256  # the paper caps at 512; 256 keeps a 64-px model trainable on 2 cores


def _check_size(image_size: int) -> int:
    levels = int(math.log2(image_size)) if image_size > 0 else 0
    if 2**levels != image_size or not 32 <= image_size <= 1024:
        raise ValueError(f"stylegan needs a power-of-two image size from 32 to 1024 (got {image_size})")
    return levels


def _channels(resolution: int, image_size: int, width: int, max_width: int) -> int:
    return min(max_width, width * image_size // resolution)


class MappingNetwork(nn.Module):
    """z → w, and the running mean of w (for truncation) as a buffer that exports carry."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float = 0.01, w_avg_beta: float = 0.995):
        super().__init__()
        dims = [z_dim] + [w_dim] * layers
        self.net = nn.Sequential(
            *[EqualLinear(a, b, lr_mul=lr_mul, activate=True) for a, b in zip(dims[:-1], dims[1:])]
        )
        self.w_avg_beta = w_avg_beta
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, update_w_avg: bool = False) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)  # normalise the 2nd moment
        w = self.net(z)
        if update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        return w


class ModulatedConv2d(nn.Module):
    """A convolution whose input channels are scaled by an affine map of w, then demodulated."""

    def __init__(self, c_in: int, c_out: int, kernel: int, w_dim: int, demodulate: bool = True, up: bool = False):
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)  # styles start at 1: an ordinary conv
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)
        self.demodulate, self.up = demodulate, up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # N × c_in
        weight = self.weight * self.scale
        x = x * styles.to(x.dtype)[:, :, None, None]
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.conv2d(x, weight.to(x.dtype), padding=weight.size(-1) // 2)
        if self.demodulate:
            # σ_j = sqrt(Σ_i,k (w_ijk s_i)²): the output's std for unit-variance inputs (StyleGAN2 eq. 3).
            sigma_sq = styles.square() @ weight.square().sum(dim=(2, 3)).t()  # N × c_out
            x = x * torch.rsqrt(sigma_sq + 1e-8).to(x.dtype)[:, :, None, None]
        return x


class StyleLayer(nn.Module):
    """Modulated conv + per-pixel noise (learned strength) + bias + activation."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.resolution = resolution
        # Fixed noise for sampling: the same seed gives the same picture, and exports carry it.
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_fn=None) -> torch.Tensor:
        x = self.conv(x, w)
        r = self.resolution
        noise = self.noise_const if noise_fn is None else noise_fn(x.size(0), r)
        x = x + (noise.to(x.device, x.dtype) * self.noise_strength.to(x.dtype))
        return lrelu(x + self.bias.to(x.dtype)[:, None, None])


class ToRGB(nn.Module):
    def __init__(self, c_in: int, w_dim: int, channels: int):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias.to(x.dtype)[:, None, None]


class SynthesisBlock(nn.Module):
    """One resolution: (upsampling) conv, conv, toRGB.  The 4×4 block starts from a learned constant."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, channels: int):
        super().__init__()
        self.first = resolution == 4
        if self.first:
            self.const = nn.Parameter(torch.randn(c_out, 4, 4))
            self.convs = nn.ModuleList([StyleLayer(c_out, c_out, w_dim, 4)])
        else:
            self.convs = nn.ModuleList(
                [StyleLayer(c_in, c_out, w_dim, resolution, up=True), StyleLayer(c_out, c_out, w_dim, resolution)]
            )
        self.to_rgb = ToRGB(c_out, w_dim, channels)

    def forward(self, x, img, ws: torch.Tensor, noise_fn=None):
        """``ws``: this block's len(convs) + 1 styles (the last for toRGB, shared with the next block's first)."""
        if self.first:
            x = self.const.to(ws.dtype).unsqueeze(0).expand(ws.size(0), -1, -1, -1)
        for i, layer in enumerate(self.convs):
            x = layer(x, ws[:, i], noise_fn)
        rgb = self.to_rgb(x, ws[:, len(self.convs)])
        if img is not None:
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
            rgb = rgb + img
        return x, rgb


class StyleGANGenerator(nn.Module):
    """z (latent_dim) → picture in [-1, 1].  ``num_ws`` per-layer styles, coarsest first."""

    def __init__(
        self,
        latent_dim: int = 256,
        channels: int = 3,
        image_size: int = 64,
        width: int | None = None,
        max_width: int = DEFAULT_MAX_WIDTH,
        mapping_layers: int = 2,
        w_dim: int | None = None,
        **_,
    ):
        super().__init__()
        levels = _check_size(image_size)
        if mapping_layers < 1:
            raise ValueError(f"the mapping network needs at least 1 layer (got {mapping_layers})")
        width = width or DEFAULT_WIDTH
        self.latent_dim, self.w_dim, self.image_size = latent_dim, w_dim or latent_dim, image_size
        self.mapping = MappingNetwork(latent_dim, self.w_dim, mapping_layers)
        self.blocks = nn.ModuleList()
        c_prev = 0
        for level in range(2, levels + 1):
            res = 2**level
            c = _channels(res, image_size, width, max_width)
            self.blocks.append(SynthesisBlock(c_prev, c, self.w_dim, res, channels))
            c_prev = c
        # Each block consumes its convs' styles; its toRGB uses the next one (the paper's indexing).
        self.num_ws = sum(len(b.convs) for b in self.blocks) + 1

    def layer_resolutions(self) -> list[int]:
        """The resolution each of the ``num_ws`` styles acts at (the last is the final toRGB)."""
        out = []
        for block in self.blocks:
            out += [layer.resolution for layer in block.convs]
        return out + [self.image_size]

    def synthesis(self, ws: torch.Tensor, noise_fn=None) -> torch.Tensor:
        """Pictures from per-layer styles ``ws`` (N × num_ws × w_dim)."""
        x = img = None
        i = 0
        for block in self.blocks:
            n = len(block.convs)
            x, img = block(x, img, ws[:, i : i + n + 1], noise_fn)
            i += n
        return img

    def truncate(self, w: torch.Tensor, psi: float | None) -> torch.Tensor:
        """The truncation trick in W: pull w towards the tracked mean (ψ = 1: unchanged, 0: the mean)."""
        if psi is None or psi == 1:
            return w
        return self.mapping.w_avg.to(w.dtype).lerp(w, psi)

    def forward(self, z: torch.Tensor, psi: float | None = None, noise_fn=None) -> torch.Tensor:
        w = self.truncate(self.mapping(z), psi)
        return self.synthesis(w.unsqueeze(1).expand(-1, self.num_ws, -1), noise_fn)


class DiscriminatorBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv0 = EqualConv2d(c_in, c_in, 3)
        self.conv1 = EqualConv2d(c_in, c_out, 3)
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))
        x = F.avg_pool2d(self.conv1(self.conv0(x)), 2)
        return (x + skip) / SQRT2


class StyleGANDiscriminator(nn.Module):
    def __init__(
        self,
        channels: int = 3,
        image_size: int = 64,
        width: int | None = None,
        max_width: int = DEFAULT_MAX_WIDTH,
        mbstd_group: int = 4,
        **_,
    ):
        super().__init__()
        levels = _check_size(image_size)
        width = width or DEFAULT_WIDTH
        self.from_rgb = EqualConv2d(channels, _channels(image_size, image_size, width, max_width), 1)
        blocks = []
        for level in range(levels, 2, -1):
            res = 2**level
            blocks.append(
                DiscriminatorBlock(
                    _channels(res, image_size, width, max_width), _channels(res // 2, image_size, width, max_width)
                )
            )
        self.blocks = nn.Sequential(*blocks)
        c4 = _channels(4, image_size, width, max_width)
        self.epilogue = DiscriminatorEpilogue(c4, mbstd_group)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.epilogue(self.blocks(self.from_rgb(x)))


register_model(
    "stylegan",
    method="stylegan",
    parts={"generator": StyleGANGenerator, "discriminator": StyleGANDiscriminator},
    description="StyleGAN2 (Karras et al. 2020): mapping net, modulated convs, style mixing, truncation; 32–1024 px",
)
