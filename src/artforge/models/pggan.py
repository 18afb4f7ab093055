"""Progressive GAN networks (Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation", ICLR 2018).

Both networks hold every resolution from 4×4 to ``image_size`` from the start, but use them one
at a time: training begins at 4×4 and doubles the resolution in phases.  A new resolution fades
in (§2): while ``alpha`` goes from 0 to 1, G's output is ``(1 − α)·upsample(toRGB_low) +
α·toRGB_high`` and D's input path is ``(1 − α)·fromRGB_low(downsample(x)) + α·block(fromRGB_high(x))``.
The current stage ``(level, alpha)`` is a buffer of each network, so EMA copies and exports carry
it and a mid-training export samples at the resolution it had reached.

Pictures always enter and leave at ``image_size``: G upsamples its current output by nearest
neighbour (each low-resolution pixel a block, as the paper shows its early results), and D
average-pools its input down to the current resolution, so the trainer, sampling and evaluation
never see a size change.

G: pixel-normalised z, a dense layer to 4×4 and a 3×3 conv; per level nearest ×2 and two 3×3 convs;
pixel norm (§4.2) after every conv; LeakyReLU 0.2.  D: per level two 3×3 convs and 2×2 average
pooling; at 4×4 the minibatch standard deviation (§3), a 3×3 conv, a 4×4 conv and a dense layer.
Equalised learning rate throughout (§4.1).  Channels: ``width`` at full resolution, doubling
towards 4×4, capped at ``max_width`` (the paper: 512 everywhere up to 64 px).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from artforge.models.layers import DiscriminatorEpilogue, EqualConv2d, EqualLinear, lrelu
from artforge.models.registry import register_model

DEFAULT_WIDTH = 32
DEFAULT_MAX_WIDTH = 256


def _levels(image_size: int) -> int:
    levels = int(math.log2(image_size)) - 1 if image_size > 0 else 0  # 4 px is level 1
    if 2 ** (levels + 1) != image_size or not 16 <= image_size <= 1024:
        raise ValueError(f"pggan needs a power-of-two image size from 16 to 1024 (got {image_size})")
    return levels


def level_channels(image_size: int, width: int | None, max_width: int) -> list[int]:
    """Channels per level, 4×4 first: ``width`` at full size, doubling towards 4×4, capped at ``max_width``."""
    levels = _levels(image_size)
    return [min(max_width, (width or DEFAULT_WIDTH) * 2 ** (levels - level)) for level in range(1, levels + 1)]


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit mean square (§4.2)."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class _Staged(nn.Module):
    """A network that runs at a stage (level, alpha) kept in a buffer."""

    def __init__(self, levels: int):
        super().__init__()
        self.levels = levels
        self.register_buffer("stage", torch.tensor([float(levels), 1.0]))  # a fresh net runs at full size

    def set_stage(self, level: int, alpha: float) -> None:
        self.stage.copy_(torch.tensor([float(level), float(alpha)]))

    def current(self) -> tuple[int, float]:
        level, alpha = self.stage.tolist()
        return int(level), float(alpha)


class PGGANGenerator(_Staged):
    def __init__(
        self,
        latent_dim: int = 256,
        channels: int = 3,
        image_size: int = 64,
        width: int | None = None,
        max_width: int = DEFAULT_MAX_WIDTH,
        **_,
    ):
        ch = level_channels(image_size, width, max_width)
        super().__init__(levels := len(ch))
        self.latent_dim, self.image_size = latent_dim, image_size
        self.dense = EqualLinear(latent_dim, ch[0] * 16, activate=False)
        self.first_conv = EqualConv2d(ch[0], ch[0], 3)
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqualConv2d(ch[i - 1], ch[i], 3), EqualConv2d(ch[i], ch[i], 3)]) for i in range(1, levels)
        )
        self.to_rgb = nn.ModuleList(EqualConv2d(c, channels, 1, activate=False) for c in ch)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        level, alpha = self.current()
        x = pixel_norm(lrelu(self.dense(pixel_norm(z)).view(z.size(0), -1, 4, 4)))
        x = pixel_norm(self.first_conv(x))
        previous = x
        for i in range(1, level):
            previous = x
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            for conv in self.blocks[i - 1]:
                x = pixel_norm(conv(x))
        img = self.to_rgb[level - 1](x)
        if alpha < 1 and level > 1:  # fading in: blend with the previous resolution's picture
            low = F.interpolate(self.to_rgb[level - 2](previous), scale_factor=2, mode="nearest")
            img = torch.lerp(low, img, alpha)
        scale = self.image_size // img.size(-1)
        return F.interpolate(img, scale_factor=scale, mode="nearest") if scale > 1 else img


class PGGANDiscriminator(_Staged):
    def __init__(
        self,
        channels: int = 3,
        image_size: int = 64,
        width: int | None = None,
        max_width: int = DEFAULT_MAX_WIDTH,
        **_,
    ):
        ch = level_channels(image_size, width, max_width)
        super().__init__(levels := len(ch))
        self.image_size = image_size
        self.from_rgb = nn.ModuleList(EqualConv2d(channels, c, 1) for c in ch)
        # blocks[i - 1] takes level i + 1 (ch[i]) down to level i (ch[i - 1])
        self.blocks = nn.ModuleList(
            nn.Sequential(EqualConv2d(ch[i], ch[i], 3), EqualConv2d(ch[i], ch[i - 1], 3), nn.AvgPool2d(2))
            for i in range(1, levels)
        )
        self.epilogue = DiscriminatorEpilogue(ch[0])  # its dense layer is the paper's unpadded 4×4 conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level, alpha = self.current()
        side = 2 ** (level + 1)
        if x.size(-1) != side:
            x = F.avg_pool2d(x, x.size(-1) // side)
        h = self.from_rgb[level - 1](x)
        if level > 1:
            h = self.blocks[level - 2](h)
            if alpha < 1:  # fading in: blend with the previous resolution's input path
                h = torch.lerp(self.from_rgb[level - 2](F.avg_pool2d(x, 2)), h, alpha)
        for i in range(level - 2, 0, -1):
            h = self.blocks[i - 1](h)
        return self.epilogue(h)


register_model(
    "pggan",
    method="pggan",
    parts={"generator": PGGANGenerator, "discriminator": PGGANDiscriminator},
    description="Progressive GAN (Karras et al. 2018): growing from 4×4 with fade-in, pixel norm; 16–1024 px",
)
