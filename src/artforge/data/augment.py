"""DiffAugment: differentiable augmentation for data-efficient GANs.

Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for Data-Efficient GAN
Training", NeurIPS 2020.  The *same kind* of random transform is applied to
real and generated images, in both the discriminator and the generator step, so
the discriminator cannot memorise a small training set and the generator still
receives gradients through the transform.  Images are in [-1, 1], NCHW.
The random parameters come from a :class:`artforge.randomness.SampleNoise`, so
data-parallel training augments each picture exactly as one process would.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from artforge.randomness import SampleNoise

POLICIES = ("color", "translation", "cutout")


def parse_policy(text: str | None) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> tuple; empty/None/"none" -> ()."""
    if not text or text == "none":
        return ()
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown}; choose from {', '.join(POLICIES)}")
    return parts


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], noise: SampleNoise | None = None) -> torch.Tensor:
    """``x`` through every transform of ``policy``, each with fresh per-picture parameters from ``noise``."""
    noise = noise or SampleNoise()
    for name in policy:
        x = _OPS[name](x, noise)
    return x


def _rand(x: torch.Tensor, noise: SampleNoise) -> torch.Tensor:
    return noise.rand(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype)


def _color(x: torch.Tensor, noise: SampleNoise) -> torch.Tensor:
    x = x + (_rand(x, noise) - 0.5)  # brightness ±0.5
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, noise) * 2) + mean  # saturation ×[0, 2]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, noise) + 0.5) + mean  # contrast ×[0.5, 1.5]


def _translation(x: torch.Tensor, noise: SampleNoise, ratio: float = 0.125) -> torch.Tensor:
    # Shift by up to 1/8 of the size, filling with zeros (grey in [-1, 1]).
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = noise.randint(-sh, sh + 1, n, 1, 1, device=x.device)
    dx = noise.randint(-sw, sw + 1, n, 1, 1, device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    ys = (gy.unsqueeze(0) + dy + 1).clamp(0, h + 1)
    xs = (gx.unsqueeze(0) + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, ys, xs].permute(0, 3, 1, 2).contiguous(memory_format=_fmt(x))


def _cutout(x: torch.Tensor, noise: SampleNoise, ratio: float = 0.5) -> torch.Tensor:
    # Zero a random square of half the image size (its centre may lie anywhere).
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = noise.randint(0, h + (1 - ch % 2), n, 1, 1, device=x.device)
    cx = noise.randint(0, w + (1 - cw % 2), n, 1, 1, device=x.device)
    gy, gx = torch.meshgrid(torch.arange(ch, device=x.device), torch.arange(cw, device=x.device), indexing="ij")
    ys = (gy.unsqueeze(0) + cy - ch // 2).clamp(0, h - 1)
    xs = (gx.unsqueeze(0) + cx - cw // 2).clamp(0, w - 1)
    mask = torch.ones(n, h, w, device=x.device, dtype=x.dtype)
    mask[torch.arange(n, device=x.device)[:, None, None], ys, xs] = 0
    return x * mask.unsqueeze(1)


def _fmt(x: torch.Tensor) -> torch.memory_format:
    return (
        torch.channels_last
        if x.is_contiguous(memory_format=torch.channels_last) and x.dim() == 4
        else torch.contiguous_format
    )


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}
