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
    out = [
        apply_moments(x[None], colour_moments(x, eps=eps), colour_moments(r, eps=eps), mode)[0]
        for x, r in zip(image.float(), ref.float())
    ]
    return torch.stack(out).clamp(-1, 1).to(image.dtype)


Moments = tuple[torch.Tensor, torch.Tensor]  # RGB mean (3×1) and covariance (3×3)


def colour_moments(image: torch.Tensor, weight: torch.Tensor | None = None, eps: float = 1e-5) -> Moments:
    """Mean (3×1) and covariance (3×3, regularised so flat pictures stay invertible) of a 3×H×W picture's
    colours, or of a region of it (``weight``: H×W soft weights)."""
    flat = image.reshape(3, -1).double()
    if weight is None:
        w = torch.full((flat.shape[1],), 1.0 / flat.shape[1], dtype=flat.dtype, device=flat.device)
    else:
        w = weight.reshape(-1).double()
        w = w / w.sum().clamp_min(1e-12)
    mu = flat @ w[:, None]
    centred = flat - mu
    cov = (centred * w) @ centred.T + eps * torch.eye(3, dtype=flat.dtype, device=flat.device)
    return mu.float(), cov.float()


def mix_moments(moments: list[Moments], weights: list[float]) -> Moments:
    """Moments of the mixture of several colour distributions (a blend of styles' palettes)."""
    mu = sum(w * m for w, (m, _) in zip(weights, moments))
    second = sum(w * (c + m @ m.T) for w, (m, c) in zip(weights, moments))
    return mu, second - mu @ mu.T


def apply_moments(image: torch.Tensor, source: Moments, target: Moments, mode: str = "pca") -> torch.Tensor:
    """The affine colour map taking ``source`` moments to ``target`` moments, applied to N×3×H×W (unclamped)."""
    (mu_x, cov_x), (mu_r, cov_r) = source, target
    if mode == "pca":
        a = _sqrtm(cov_r) @ torch.linalg.inv(_sqrtm(cov_x))
    else:
        a = torch.linalg.cholesky(cov_r) @ torch.linalg.inv(torch.linalg.cholesky(cov_x))
    n, _, h, w = image.shape
    flat = image.float().permute(1, 0, 2, 3).reshape(3, -1)
    out = a.to(flat.device) @ (flat - mu_x.to(flat.device)) + mu_r.to(flat.device)
    return out.reshape(3, n, h, w).permute(1, 0, 2, 3)


def _sqrtm(cov: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive-definite matrix."""
    vals, vecs = torch.linalg.eigh(cov.double())
    return (vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T).float()  # eigh: on the input's device


def _resized(images: torch.Tensor, size) -> torch.Tensor:
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images.float(), size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
