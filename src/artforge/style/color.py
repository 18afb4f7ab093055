"""Colour control for style transfer (Gatys, Ecker, Bethge, Hertzmann & Shechtman 2017,
"Controlling perceptual factors in neural style transfer", section 5).

Two ways to keep a photo's colours while taking a painting's brushwork:

- :func:`keep_luminance` — luminance-only transfer: the stylised picture's luminance with the
  content picture's chroma (YIQ), as jcjohnson/neural-style's ``-original_colors 1`` does;
- :func:`match_color` — colour histogram matching: an affine map that gives one picture the
  mean and covariance of another's RGB colours (used on the *style* image before transfer,
  or on any output afterwards).

Both take and return [-1, 1] tensors N×3×H×W (artforge's image convention).

Example::

    >>> out = keep_luminance(stylized, content)        # doctest: +SKIP
    >>> style_like_photo = match_color(style, content) # doctest: +SKIP
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# NTSC YIQ (FCC 1953): Y is luma, I and Q the two chroma axes.
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.59590059, -0.27455667, -0.32134392], [0.21153661, -0.52273617, 0.31119955]]
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] RGB -> YIQ of the [0, 1] colours (Y in [0, 1], I and Q about ±0.6)."""
    rgb = (images.float() + 1) / 2
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YIQ.to(rgb.device), rgb)


def yiq_to_rgb(yiq: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_yiq`, back to [-1, 1] RGB (not clamped)."""
    rgb = torch.einsum("ij,njhw->nihw", _YIQ_TO_RGB.to(yiq.device), yiq)
    return rgb * 2 - 1


def keep_luminance(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylised picture's luminance with the content picture's colours (chroma).

    ``stylized`` and ``content`` are [-1, 1] N×3×H×W (``content`` may have N=1 and any size: it is
    resized to ``stylized``).  Returns [-1, 1], clamped.  Brush strokes, texture and shading come
    from ``stylized``; hue and saturation from ``content`` (Gatys et al. 2017, §5.2).

    >>> keep_luminance(torch.zeros(1, 3, 8, 8), torch.rand(1, 3, 16, 16) * 2 - 1).shape
    torch.Size([1, 3, 8, 8])
    """
    content = _resized(content, stylized.shape[-2:]).expand(stylized.shape[0], -1, -1, -1)
    y = rgb_to_yiq(stylized)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    return yiq_to_rgb(torch.cat([y, iq], 1)).clamp(-1, 1).to(stylized.dtype)


def match_color(image: torch.Tensor, reference: torch.Tensor, mode: str = "pca", eps: float = 1e-5) -> torch.Tensor:
    """Recolour ``image`` so its RGB mean and covariance equal ``reference``'s (Gatys et al. 2017, §5.1).

    x' = A (x - μ_image) + μ_reference, with A = Σ_ref^½ Σ_image^-½ (``mode="pca"``, symmetric
    square roots via eigendecomposition: the "image analogies" variant, fewest hue shifts) or
    A = L_ref L_image^-1 (``mode="cholesky"``).  Both are [-1, 1] N×3×H×W; ``reference`` may have
    N=1 and any size.  Returns [-1, 1], clamped.  Typical use: ``match_color(style, content)``
    before style transfer, so the painting's brushwork arrives in the photo's colours.

    >>> match_color(torch.rand(1, 3, 8, 8) * 2 - 1, torch.zeros(1, 3, 4, 4)).abs().max() < 1e-2
    tensor(True)
    """
    if mode not in ("pca", "cholesky"):
        raise ValueError(f"match_color mode must be 'pca' or 'cholesky', got {mode!r}")
    ref = reference.expand(image.shape[0], -1, -1, -1) if reference.shape[0] == 1 else reference
    out = []
    for x, r in zip(image.float(), ref.float()):
        mu_x, cov_x = _colour_stats(x, eps)
        mu_r, cov_r = _colour_stats(r, eps)
        if mode == "pca":
            a = _sqrtm(cov_r) @ torch.linalg.inv(_sqrtm(cov_x))
        else:
            a = torch.linalg.cholesky(cov_r) @ torch.linalg.inv(torch.linalg.cholesky(cov_x))
        flat = x.reshape(3, -1)
        out.append((a @ (flat - mu_x) + mu_r).reshape(x.shape))
    return torch.stack(out).clamp(-1, 1).to(image.dtype)


def _colour_stats(image: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (3×1) and covariance (3×3, regularised so flat pictures stay invertible) of 3×H×W."""
    flat = image.reshape(3, -1).double()
    mu = flat.mean(1, keepdim=True)
    centred = flat - mu
    cov = centred @ centred.T / max(flat.shape[1] - 1, 1) + eps * torch.eye(3, dtype=flat.dtype, device=flat.device)
    return mu.float(), cov.float()


def _sqrtm(cov: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive-definite matrix."""
    vals, vecs = torch.linalg.eigh(cov.double())
    return (vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T).float()  # eigh: on the input's device


def _resized(images: torch.Tensor, size) -> torch.Tensor:
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images.float(), size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
