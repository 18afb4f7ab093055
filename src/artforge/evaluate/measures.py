"""Interpretable picture measures, computed without learning.

Each is a number a person can reason about, reported per picture by ``artforge critic
score`` and usable as extra inputs to the critic's head:

* ``colorfulness`` — Hasler & Süsstrunk (2003): σ_rgyb + 0.3·μ_rgyb on the opponent axes
  rg = R − G, yb = (R + G)/2 − B (0–255 scale; ~0 grey, ~110 very colourful).
* ``contrast`` — RMS contrast: standard deviation of luminance in [0, 1].
* ``sharpness`` — variance of the Laplacian of luminance (0–255 scale), the usual
  focus measure (Pech-Pacheco et al. 2000); computed at one working size so pictures compare.
* ``noise`` — standard deviation of the picture's noise (0–255 scale), Immerkær's (1996) fast
  estimate: the response to a mask that cancels smooth image structure, averaged.
* ``entropy`` — Shannon entropy of the 256-bin luminance histogram, in bits (0–8).
* ``saturation`` — mean HSV saturation in [0, 1].
* ``symmetry`` — left/right mirror similarity of luminance: 1 − mean |L − flip(L)| / E|L_i − L_j|
  (the mean difference of two random pixels, Gini's mean difference), clipped to [0, 1]:
  1 for a mirror-symmetric picture, ~0 for one whose halves are no more alike than chance.
* ``thirds`` — rule-of-thirds saliency: share of the frequency-tuned saliency (Achanta et al.
  2009) that falls near the four thirds intersections (Gaussian windows, σ = 1/12 of the side),
  divided by the share a uniform saliency map would give (1 = no preference, > 1 = on the thirds).

Not a critic input (``CARD_MEASURES`` only: what a critic card reports its score against):

* ``warmth`` — how warm the colours are: mean over pixels of HSV saturation × cos(hue − 30°),
  pixels of chroma below 0.02 counting 0: > 0 oranges and reds, < 0 blues and cyans, 0 grey.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from artforge.pictures import to_unit

MEASURES = ("colorfulness", "contrast", "sharpness", "noise", "entropy", "saturation", "symmetry", "thirds")
WORK_SIZE = 256  # pictures are resized to this short side so sharpness & co. compare across sizes


def _to_unit01(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or float [-1, 1] N×3×H×W -> float [0, 1]."""
    return ((to_unit(images) + 1) / 2).clamp(0, 1)


def _working_size(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    scale = WORK_SIZE / min(h, w)
    if abs(scale - 1) < 1e-6:
        return x
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    return F.interpolate(x, size=size, mode="bilinear", antialias=scale < 1, align_corners=False).clamp(0, 1)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """Rec. 601 luma of [0, 1] RGB, N×H×W."""
    return 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]


def colorfulness(x: torch.Tensor) -> torch.Tensor:
    r, g, b = (x * 255).unbind(1)
    rg, yb = r - g, (r + g) / 2 - b
    std = (rg.flatten(1).var(1, unbiased=False) + yb.flatten(1).var(1, unbiased=False)).sqrt()
    mean = (rg.flatten(1).mean(1) ** 2 + yb.flatten(1).mean(1) ** 2).sqrt()
    return std + 0.3 * mean


def contrast(x: torch.Tensor) -> torch.Tensor:
    return luminance(x).flatten(1).std(1, unbiased=False)


def sharpness(x: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    lap = F.conv2d(luminance(x).unsqueeze(1) * 255, kernel)
    return lap.flatten(1).var(1, unbiased=False)


def noise(x: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([[1.0, -2, 1], [-2, 4, -2], [1, -2, 1]]).view(1, 1, 3, 3)
    response = F.conv2d(luminance(x).unsqueeze(1) * 255, kernel).abs().flatten(1).mean(1)
    return (torch.pi / 2) ** 0.5 * response / 6


def entropy(x: torch.Tensor) -> torch.Tensor:
    levels = (luminance(x) * 255).round().long().clamp(0, 255).flatten(1)
    counts = torch.zeros(levels.size(0), 256).scatter_add_(1, levels, torch.ones_like(levels, dtype=torch.float))
    p = counts / counts.sum(1, keepdim=True)
    return -(p * p.clamp_min(1e-12).log2()).sum(1)


def saturation(x: torch.Tensor) -> torch.Tensor:
    top, bottom = x.amax(1), x.amin(1)
    return torch.where(top > 0, (top - bottom) / top.clamp_min(1e-6), torch.zeros_like(top)).flatten(1).mean(1)


def symmetry(x: torch.Tensor) -> torch.Tensor:
    lum = luminance(x)
    mirror_diff = (lum - lum.flip(-1)).abs().flatten(1).mean(1)
    return (1 - mirror_diff / gini_mean_difference(lum.flatten(1)).clamp_min(1e-6)).clamp(0, 1)


def gini_mean_difference(values: torch.Tensor) -> torch.Tensor:
    """E|X − Y| over pairs of entries of each row, exactly, from the sorted values: (2/n²)·Σ (2i − n − 1)·x₍ᵢ₎."""
    n = values.size(1)
    weights = 2 * torch.arange(1, n + 1, dtype=values.dtype) - n - 1
    return 2 * (values.sort(1).values * weights).sum(1) / n**2


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (N×3×H×W) -> CIE L*a*b* (D65)."""
    linear = torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    m = torch.tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = torch.einsum("ij,njhw->nihw", m, linear) / torch.tensor([0.9505, 1.0, 1.089]).view(1, 3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def saliency(x: torch.Tensor, size: int = 64) -> torch.Tensor:
    """Frequency-tuned saliency (Achanta et al. 2009): Lab distance of each slightly blurred pixel
    from the picture's mean colour, N×size×size."""
    lab = rgb_to_lab(F.interpolate(x, size=(size, size), mode="area"))
    kernel = _gaussian_kernel(size / 64).expand(3, 1, -1, -1)
    pad = kernel.size(-1) // 2
    blurred = F.conv2d(F.pad(lab, (pad,) * 4, mode="reflect"), kernel, groups=3)
    return (blurred - lab.mean((2, 3), keepdim=True)).norm(dim=1)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, int(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, 2 * radius + 1, 2 * radius + 1)


def thirds(x: torch.Tensor, size: int = 64) -> torch.Tensor:
    sal = saliency(x, size)
    t = (torch.arange(size, dtype=torch.float) + 0.5) / size
    window = torch.zeros(size, size)
    for cy in (1 / 3, 2 / 3):
        for cx in (1 / 3, 2 / 3):
            window = window + torch.exp(-((t[:, None] - cy) ** 2 + (t[None, :] - cx) ** 2) / (2 * (1 / 12) ** 2))
    share = (sal * window).flatten(1).sum(1) / sal.flatten(1).sum(1).clamp_min(1e-12)
    return share / window.mean()


def warmth(x: torch.Tensor) -> torch.Tensor:
    top, bottom = x.amax(1), x.amin(1)
    chroma = top - bottom
    sat = chroma / top.clamp_min(1e-6)
    r, g, b = x.unbind(1)
    c = chroma.clamp_min(1e-6)
    sextant = torch.where(top == r, ((g - b) / c) % 6, torch.where(top == g, (b - r) / c + 2, (r - g) / c + 4))
    angle = sextant / 6 * 2 * torch.pi - torch.pi / 6  # hue − 30°
    return (sat * torch.cos(angle) * (chroma > 0.02)).flatten(1).mean(1)


CARD_MEASURES = ("colorfulness", "contrast", "sharpness", "symmetry", "warmth", "saturation", "entropy", "noise")

_FUNCTIONS = {
    "warmth": warmth,
    "colorfulness": colorfulness,
    "contrast": contrast,
    "sharpness": sharpness,
    "noise": noise,
    "entropy": entropy,
    "saturation": saturation,
    "symmetry": symmetry,
    "thirds": thirds,
}


def compute_measures(images: torch.Tensor, batch_size: int = 32, names=MEASURES) -> dict[str, torch.Tensor]:
    """The measures ``names`` (default: every critic input) for N pictures (uint8 or [-1, 1], any size):
    name -> float tensor of N values."""
    out: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    for chunk in images.split(batch_size):
        x = _working_size(_to_unit01(chunk))
        for name in names:
            out[name].append(_FUNCTIONS[name](x))
    return {name: torch.cat(parts) for name, parts in out.items()}
