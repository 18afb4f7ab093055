"""The denoising UNet of a diffusion model (Ho et al. 2020, appendix B; Nichol & Dhariwal 2021, §3–4).

A UNet takes a noisy picture x_t and its noise level t and returns a picture-sized prediction (the
noise ε or the velocity v, see ``artforge.methods.diffusion``).  As in those papers:

* **residual blocks** (GroupNorm → SiLU → 3×3 conv, twice) at every level, ``blocks`` per level on the
  way down and one more on the way up, each joined to its mirror by a skip connection;
* a **time embedding** — sinusoidal features of t (as a transformer's positions) through a 2-layer MLP —
  that enters every residual block as a per-channel scale and shift of its second normalisation
  ("adaptive group norm", Nichol & Dhariwal's ``use_scale_shift_norm``);
* **self-attention** at the low resolutions (16×16 and below, and in the middle) where the picture's
  global layout is decided and the token count is small;
* the last convolution of every residual branch and of the output starts at zero, so the untrained
  network is the identity on its skips and predicts 0 (training starts stable).

Levels go from the picture's size down to 8×8 (``image_size`` a power of two, at least 16); channels
double per level from ``width`` up to ``max_width``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from artforge.models.layers import TEXT_BANK, level_widths, text_input
from artforge.models.registry import register_model

ATTENTION_MAX_RES = 16  # self-attention at resolutions up to this (DDPM: 16×16)
LOWEST_RES = 8  # the UNet's bottom level
HEAD_CHANNELS = 64  # channels per attention head


def _groups(channels: int) -> int:
    """GroupNorm groups: 32 where the channels allow at least 4 per group, fewer otherwise."""
    groups = 32
    while groups > 1 and (channels % groups or channels // groups < 4):
        groups //= 2
    return groups


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def timestep_features(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of (possibly fractional) timesteps ``t`` (N,) -> (N, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)  # scale and shift of norm2
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = _zero(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, as a residual branch."""

    def __init__(self, channels: int):
        super().__init__()
        self.heads = max(1, channels // HEAD_CHANNELS)
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = _zero(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.heads, c // self.heads, h * w).unbind(1)
        # (N, heads, tokens, channels per head) for scaled_dot_product_attention
        y = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.out(y.transpose(-1, -2).reshape(n, c, h, w))


class Level(nn.Module):
    """Residual blocks (with attention at low resolution) of one resolution, on one side of the UNet."""

    def __init__(self, c_ins: list[int], c_out: int, emb_dim: int, dropout: float, attention: bool):
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(c, c_out, emb_dim, dropout) for c in c_ins)
        self.attentions = nn.ModuleList(Attention(c_out) if attention else nn.Identity() for _ in c_ins)


class UNet(nn.Module):
    """``unet(x_t, t) -> prediction`` (same shape as ``x_t``); ``t`` holds one timestep per picture.

    Example::

        unet = UNet(image_size=32, width=32)
        out = unet(torch.randn(2, 3, 32, 32), torch.tensor([10, 900]))
    """

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        width: int = 32,  # the CPU preset; GPUs at 64 px and up do better with --width 64 or 128
        max_width: int = 256,
        blocks: int = 2,
        dropout: float = 0.1,
        text_dim: int = 0,
        **_,
    ):
        super().__init__()
        levels = int(math.log2(image_size)) - int(math.log2(LOWEST_RES)) + 1 if image_size >= 1 else 0
        if image_size < 16 or LOWEST_RES * 2 ** (levels - 1) != image_size:
            raise ValueError(f"ddpm needs a power-of-two image size of at least 16 (16, 32, 64, …), got {image_size}")
        if width < 8 or blocks < 1:
            raise ValueError(f"ddpm needs --width of at least 8 (got {width}) and at least one block per level")
        self.image_size, self.channels = image_size, channels
        self.noise_dim = channels * image_size * image_size  # the starting noise x_T, flattened
        # text-conditioned (--text-cond): the latent is [x_T | caption embedding], as for the dcgan
        self.text_dim, self.latent_dim = text_dim, self.noise_dim + text_dim
        widths = list(reversed(level_widths(levels, width, max_width)))  # finest first: e.g. 64, 128, 256
        resolutions = [image_size // 2**i for i in range(levels)]
        emb_dim = 4 * width
        self.time_dim = width
        self.time_mlp = nn.Sequential(nn.Linear(width, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        if text_dim:  # the caption joins the timestep embedding that every residual block receives
            self.text_mlp = nn.Sequential(nn.Linear(text_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
            self.register_buffer("captions", torch.zeros(TEXT_BANK, text_dim))
        self.conv_in = nn.Conv2d(channels, width, 3, padding=1)

        self.down, self.downsample, skips = nn.ModuleList(), nn.ModuleList(), [width]
        c = width
        for i, (w, res) in enumerate(zip(widths, resolutions)):
            ins = [c] + [w] * (blocks - 1)
            self.down.append(Level(ins, w, emb_dim, dropout, res <= ATTENTION_MAX_RES))
            skips += [w] * blocks
            c = w
            last = i == levels - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(w, w, 3, stride=2, padding=1))
            if not last:
                skips.append(w)

        self.mid1 = ResBlock(c, c, emb_dim, dropout)
        self.mid_attention = Attention(c)
        self.mid2 = ResBlock(c, c, emb_dim, dropout)

        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(levels)):
            w, res = widths[i], resolutions[i]
            ins = []
            for _ in range(blocks + 1):
                ins.append(c + skips.pop())
                c = w
            self.up.append(Level(ins, w, emb_dim, dropout, res <= ATTENTION_MAX_RES))
            self.upsample.append(nn.Conv2d(w, w, 3, padding=1) if i > 0 else nn.Identity())
        self.norm_out = nn.GroupNorm(_groups(c), c)
        self.conv_out = _zero(nn.Conv2d(c, channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time_mlp(timestep_features(t, self.time_dim).to(x.dtype))
        if self.text_dim and text is not None:
            given = (text.norm(dim=1, keepdim=True) > 1e-6).to(
                emb.dtype
            )  # all-zero: no caption (guidance's other half)
            emb = emb + self.text_mlp(text_input(text)).to(emb.dtype) * given
        h = self.conv_in(x)
        skips = [h]
        for level, down in zip(self.down, self.downsample):
            for block, attention in zip(level.blocks, level.attentions):
                h = attention(block(h, emb))
                skips.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                skips.append(h)
        h = self.mid2(self.mid_attention(self.mid1(h, emb)), emb)
        for level, up in zip(self.up, self.upsample):
            for block, attention in zip(level.blocks, level.attentions):
                h = attention(block(torch.cat([h, skips.pop()], dim=1), emb))
            if not isinstance(up, nn.Identity):
                h = up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


register_model(
    "ddpm",
    method="ddpm",
    parts={"unet": UNet},
    description="diffusion model (DDPM/DDIM): UNet with attention at 16 px and below, cosine schedule, 16–256 px",
)
