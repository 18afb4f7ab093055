"""ADA: adaptive discriminator augmentation.

Karras, Aittala, Hellsten, Laine, Lehtinen & Aila, "Training Generative Adversarial Networks
with Limited Data", NeurIPS 2020.  Every picture the discriminator sees — real or generated, in
the D and the G step — goes through the same random pipeline, each transform applied with
probability ``p``.  Because the transforms are invertible in distribution when ``p < ~0.8``
(§2.2), they do not leak into the generated pictures, yet D can no longer memorise a small set.
``p`` is not tuned by hand: the overfitting heuristic ``r_t = E[sign(D(real))]`` is measured
over a few steps, and ``p`` moves up when ``r_t`` exceeds the target (0.6) and down otherwise,
fast enough to go from 0 to 1 in ``ada_kimg`` thousand images (§3).

The pipeline is the paper's "bgc" set plus cutout (appendix B):

* pixel blitting — x-flip, 90° rotations, integer translation (±12.5 %);
* general geometry — isotropic scale (log-normal, σ = 0.2·ln 2), rotation (uniform ±180°,
  applied before and after an anisotropic scale, each with ``1 - sqrt(1 - p)`` so that a
  rotation happens with about ``p``), anisotropic scale, fractional translation (σ = 0.125);
* colour — brightness (σ = 0.2), contrast (log-normal σ = 0.5·ln 2), hue rotation about the
  grey axis (uniform ±180°), saturation (log-normal σ = ln 2);
* cutout — a square of half the picture's side set to grey.

All geometric transforms compose into one affine matrix per picture and are applied in a
single ``grid_sample`` with reflection padding; colour transforms compose into one 4×4 matrix.
(The paper resamples with a wavelet-filtered upsampling to avoid aliasing; bilinear
sampling is used here: cheaper, slightly softer.)  Everything is differentiable, so G gets
gradients through the augmentation, and every random number comes from a
:class:`artforge.randomness.SampleNoise` — drawn in full whatever ``p`` is — so data-parallel
runs and resumes draw exactly what one uninterrupted process would.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from artforge.randomness import SampleNoise

# The luma axis for hue rotation and saturation (ITU-R BT.601 weights would tilt it; the paper uses grey).
_GREY = torch.tensor([1.0, 1.0, 1.0]) / math.sqrt(3.0)


class AdaptiveAugment:
    """The augmentation pipeline and its adaptive probability ``p``.

    Example::

        ada = AdaptiveAugment(target=0.6, speed_kimg=100)
        x_aug = ada(x, noise)               # what D sees
        ada.observe(d_real_logits)          # after each D step
        ada.adjust()                        # every few steps: p follows r_t
    """

    def __init__(self, target: float = 0.6, speed_kimg: float = 100.0, p: float = 0.0, cutout: bool = True):
        self.target, self.speed_kimg, self.p, self.cutout = float(target), float(speed_kimg), float(p), cutout
        self.sign_sum, self.count = 0.0, 0  # sign(D(real)) summed since the last adjustment
        self.rt = 0.0  # r_t of the last adjustment (logged)

    # -- the heuristic --------------------------------------------------------------------------
    @torch.no_grad()
    def observe(self, d_real: torch.Tensor) -> None:
        """Accumulate sign(D(x)) of this process's real pictures."""
        self.sign_sum += float(torch.sign(d_real.detach().float()).sum())
        self.count += d_real.numel()

    def adjust(self, reduce_sum=None) -> None:
        """Move ``p`` by the images observed since the last call, towards r_t = target.

        ``reduce_sum`` sums a tensor over the data-parallel processes (so every process
        sets the same ``p`` from the global r_t); None on one process.
        """
        totals = torch.tensor([self.sign_sum, float(self.count)], dtype=torch.float64)
        if reduce_sum is not None:
            totals = reduce_sum(totals)
        sign_sum, count = float(totals[0]), float(totals[1])
        self.sign_sum, self.count = 0.0, 0
        if count == 0:
            return
        self.rt = sign_sum / count
        step = count / (self.speed_kimg * 1000)
        self.p = min(1.0, max(0.0, self.p + math.copysign(step, self.rt - self.target)))

    def state_dict(self) -> dict:
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count, "rt": self.rt}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.rt = float(state["p"]), float(state.get("rt", 0.0))
        self.sign_sum, self.count = float(state.get("sign_sum", 0.0)), int(state.get("count", 0))

    # -- the pipeline -----------------------------------------------------------------------------
    def __call__(self, x: torch.Tensor, noise: SampleNoise) -> torch.Tensor:
        return augment(x, self.p, noise, cutout=self.cutout)


def augment(x: torch.Tensor, p: float, noise: SampleNoise, cutout: bool = True) -> torch.Tensor:
    """``x`` (N×3×H×W in [-1, 1]) with each transform of the pipeline applied with probability ``p``."""
    draws = _draw(x.size(0), p, noise)  # always drawn: the stream must not depend on p
    if p <= 0:
        return x
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    dtype = x.dtype
    # fp32 whatever the autocast precision: the transform matrices are products of several
    # matrices, and resampling at bf16 coordinates would move pixels by fractions of a pixel.
    with torch.autocast(x.device.type, enabled=False):
        x = _geometric(x.float(), draws)
        x = _colour(x, draws)
        if cutout:
            x = _cutout(x, draws)
    return x.to(dtype).contiguous(memory_format=fmt)


def _draw(n: int, p: float, noise: SampleNoise) -> dict[str, torch.Tensor]:
    """Every random number of the pipeline for ``n`` pictures, and which transforms apply."""
    u = noise.rand(n, 24)  # one row of uniforms per picture, each column one use below
    g = noise.randn(n, 8)  # and of normals
    p_rot = 1 - math.sqrt(max(0.0, 1 - p))

    def gate(col: int, prob: float) -> torch.Tensor:
        return (u[:, col] < prob).float()

    return {
        "xflip": gate(0, p) * (u[:, 1] < 0.5).float(),
        "rot90": gate(2, p) * torch.floor(u[:, 3] * 4).clamp(max=3),
        "int_tx": gate(4, p) * (u[:, 5] * 2 - 1) * 0.125,
        "int_ty": gate(4, p) * (u[:, 6] * 2 - 1) * 0.125,
        "iso_scale": torch.exp2(gate(7, p) * g[:, 0] * 0.2),
        "pre_rot": gate(8, p_rot) * (u[:, 9] * 2 - 1) * math.pi,
        "aniso": torch.exp2(gate(10, p) * g[:, 1] * 0.2),
        "post_rot": gate(11, p_rot) * (u[:, 12] * 2 - 1) * math.pi,
        "frac_tx": gate(13, p) * g[:, 2] * 0.125,
        "frac_ty": gate(13, p) * g[:, 3] * 0.125,
        "brightness": gate(14, p) * g[:, 4] * 0.2,
        "contrast": torch.exp2(gate(15, p) * g[:, 5] * 0.5),
        "hue": gate(16, p) * (u[:, 17] * 2 - 1) * math.pi,
        "saturation": torch.exp2(gate(18, p) * g[:, 6] * 1.0),
        "cutout": gate(19, p),
        "cutout_cx": u[:, 20],
        "cutout_cy": u[:, 21],
    }


def _rotation(theta: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(theta), torch.sin(theta)
    m = _eye3(theta.size(0))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    m = _eye3(sx.size(0))
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = _eye3(tx.size(0))
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _eye3(n: int) -> torch.Tensor:
    return torch.eye(3).repeat(n, 1, 1)


def _geometric(x: torch.Tensor, d: dict[str, torch.Tensor]) -> torch.Tensor:
    """One affine resampling for all geometric transforms (a matrix from output to input coordinates)."""
    n, _, h, w = x.shape
    # Integer translation: snap to whole pixels (coordinates span 2 units over the side).
    tx = torch.round(d["int_tx"] * w) * 2 / w
    ty = torch.round(d["int_ty"] * h) * 2 / h
    m = _scale(1 - 2 * d["xflip"], torch.ones(n))
    m = m @ _rotation(d["rot90"] * (math.pi / 2))
    m = m @ _translate(tx, ty)
    m = m @ _scale(d["iso_scale"], d["iso_scale"])
    m = m @ _rotation(d["pre_rot"])
    m = m @ _scale(d["aniso"], 1 / d["aniso"])
    m = m @ _rotation(d["post_rot"])
    m = m @ _translate(d["frac_tx"] * 2, d["frac_ty"] * 2)
    if torch.allclose(m, _eye3(n)):
        return x
    # Used as the map from an output pixel to where it is read in the input (affine_grid's convention):
    # every distribution above is symmetric, so the matrix and its inverse are equally likely.
    grid = F.affine_grid(m[:, :2].to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _colour(x: torch.Tensor, d: dict[str, torch.Tensor]) -> torch.Tensor:
    """Brightness, contrast, hue and saturation as one 4×4 matrix on homogeneous RGB."""
    n = x.size(0)
    v = _GREY
    outer = torch.outer(v, v)
    c = torch.eye(4).repeat(n, 1, 1)
    c[:, :3, 3] = d["brightness"][:, None]  # x + b
    c = _diag4(d["contrast"]) @ c
    hue = torch.zeros(n, 4, 4)
    hue[:, :3, :3] = _axis_rotation(v, d["hue"])
    hue[:, 3, 3] = 1
    c = hue @ c
    sat = torch.eye(4).repeat(n, 1, 1)
    sat[:, :3, :3] = outer + (torch.eye(3) - outer) * d["saturation"][:, None, None]
    c = sat @ c
    if torch.allclose(c, torch.eye(4).expand_as(c)):
        return x
    c = c.to(x.device)
    return torch.einsum("nij,njhw->nihw", c[:, :3, :3], x) + c[:, :3, 3, None, None]


def _diag4(s: torch.Tensor) -> torch.Tensor:
    m = torch.eye(4).repeat(s.size(0), 1, 1)
    m[:, 0, 0] = m[:, 1, 1] = m[:, 2, 2] = s
    return m


def _axis_rotation(v: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Rodrigues' rotation by ``theta`` about the unit axis ``v`` (3×3 per picture)."""
    k = torch.tensor([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    s, c = torch.sin(theta)[:, None, None], torch.cos(theta)[:, None, None]
    return torch.eye(3) + s * k + (1 - c) * (k @ k)


def _cutout(x: torch.Tensor, d: dict[str, torch.Tensor], size: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ys = (torch.arange(h, device=x.device) + 0.5) / h
    xs = (torch.arange(w, device=x.device) + 0.5) / w
    cy = d["cutout_cy"].to(x.device)[:, None, None]
    cx = d["cutout_cx"].to(x.device)[:, None, None]
    inside = ((ys[None, :, None] - cy).abs() < size / 2) & ((xs[None, None, :] - cx).abs() < size / 2)
    on = d["cutout"].to(x.device)[:, None, None] > 0
    return x * (~(inside & on)).unsqueeze(1).to(x.dtype)
