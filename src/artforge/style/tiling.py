"""Large pictures: a coarse-to-fine pyramid and overlapping tiles with feathered seams.

Optimising a 2048×2048 picture in one piece needs the backbone's activations for the whole
picture, with gradients, plus L-BFGS's history (see ``bench/style_speed.py`` for the figures):
too much for a laptop or an 8 GB GPU.  Here:

1. **Pyramid** — the picture is first stylised whole at a size no larger than ``tile_size``
   (global composition, brush scale), then upsampled as the starting point of the next level
   (twice the size), and so on up to the final size (as in crowsonkb/style-transfer-pytorch
   and Gatys et al. 2017's coarse-to-fine scheme).
2. **Tiles** — a level larger than ``tile_size`` is optimised tile by tile.  Tiles overlap by a
   quarter of their side; each starts from the current picture (which already holds its finished
   neighbours, so tiles agree in the overlap) and is blended back with a raised-cosine ramp over
   the overlap, so no seam shows.
3. **Global statistics** — the style targets (Gram matrices of the style pictures, and of the
   content for feature-mode α) are computed once per level for the whole picture, in tiles
   without gradients, so every tile aims at the same statistics.  Each tile's content target is
   its own crop of the content picture.

Memory then depends on ``tile_size``, not on the picture: about what a ``tile_size`` picture
needs untiled.

Example::

    >>> result = stylize_large(content_2048, [style], GatysConfig(tile_size=512))   # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from artforge.style.gatys import (
    GatysConfig,
    Region,
    StyleObjective,
    StyleResult,
    Targets,
    finish,
    initial_image,
    layer_mask,
    optimize,
    prepare_styles,
    style_regions,
)
from artforge.style.io import resize

ALIGN = 32  # tile corners on multiples of the deepest stride, so feature crops line up exactly


# --------------------------------------------------------------------------- geometry


def pyramid_sizes(hw: tuple[int, int], tile_size: int, coarse_size: int = 0) -> list[tuple[int, int]]:
    """Sizes from coarse to fine: halve the final size until the long side fits in ``tile_size`` (and in
    ``coarse_size``, when that is set)."""
    h, w = hw
    sizes = [(h, w)]
    start = min(tile_size, coarse_size) if coarse_size else tile_size
    while max(sizes[0]) > start:
        ph, pw = sizes[0]
        sizes.insert(0, (max(1, round(ph / 2)), max(1, round(pw / 2))))
    return sizes


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of side ``tile`` covering ``length`` with at least ``overlap`` shared."""
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def feather(size: int, start: int, length: int, ramp: int) -> torch.Tensor:
    """1-D blend weight of a tile: 1 inside, raised-cosine ramps where it overlaps a neighbour.

    The ramp is 0.5 − 0.5·cos(π t / ramp): smooth at both ends, so the blend has no kink.
    Sides on the picture's border keep weight 1 (nothing to blend with there).
    """
    w = torch.ones(size)
    t = (torch.arange(ramp) + 0.5) / ramp
    up = 0.5 - 0.5 * torch.cos(math.pi * t)
    if start > 0:
        w[:ramp] = up
    if start + size < length:
        w[size - ramp :] = up.flip(0)
    return w


# --------------------------------------------------------------------------- global Gram matrices in tiles


def tiled_grams(
    objective: StyleObjective, image: torch.Tensor, mask: torch.Tensor | None, tile: int, margin: int = 64
) -> dict[str, torch.Tensor]:
    """The Gram matrices of the whole picture, computed tile by tile without gradients.

    Each tile is run with ``margin`` pixels of context (cropped away at every layer), so the
    result equals the untiled Gram matrix up to border effects.  SWAG-softened features need
    the softmax's normaliser over the whole map: tiles keep their exp-sums with a per-tile
    shift and are combined at the end (log-sum-exp), exactly as one softmax would.
    """
    h, w = image.shape[-2:]
    step = max(ALIGN, tile // ALIGN * ALIGN)
    sums: dict[str, list] = {k: [] for k in objective.style_layers}
    with torch.no_grad():
        for y0 in range(0, h, step):
            for x0 in range(0, w, step):
                _tile_sums(objective, image, mask, (y0, min(y0 + step, h), x0, min(x0 + step, w)), margin, sums)
    return {k: _combine(v, objective) for k, v in sums.items()}


def _tile_sums(objective, image, mask, box, margin, sums) -> None:
    """Add one tile's (shift, Σ e eᵀ, Σ e, entries, positions) per layer to ``sums``."""
    y0, y1, x0, x1 = box
    h, w = image.shape[-2:]
    cy0, cy1 = max(0, (y0 - margin) // ALIGN * ALIGN), min(h, y1 + margin)
    cx0, cx1 = max(0, (x0 - margin) // ALIGN * ALIGN), min(w, x1 + margin)
    raw = objective.net.features(image[..., cy0:cy1, cx0:cx1], objective.style_layers)
    region_mask = None if mask is None else mask[..., y0:y1, x0:x1]
    for k, f in raw.items():
        sy, sx = f.shape[-2] / (cy1 - cy0), f.shape[-1] / (cx1 - cx0)
        inner = f[
            ...,
            round((y0 - cy0) * sy) : max(round((y1 - cy0) * sy), round((y0 - cy0) * sy) + 1),
            round((x0 - cx0) * sx) : max(round((x1 - cx0) * sx), round((x0 - cx0) * sx) + 1),
        ]
        m = None if region_mask is None else layer_mask(region_mask, inner)
        sums[k].append(_layer_sums(inner, m, objective.spec.soften, objective.spec.temperature(k)))


def _layer_sums(f: torch.Tensor, m: torch.Tensor | None, soften: bool, temperature: float):
    c = f.shape[1]
    if soften:  # exp(x/T − shift): the shift keeps exp finite; undone in _combine
        f = f / temperature
        shift = f.max()
        e = torch.exp(f - shift)
        z = e.sum()
    else:
        shift, e, z = torch.zeros(()), f, None
    weighted = e if m is None else e * m
    flat = weighted.reshape(c, -1).double()
    # Feature positions, weighted by the mask: the denominator of gatys.gram, summed over tiles.
    positions = float((m.square().sum() if m is not None else torch.tensor(float(f[0, 0].numel()))))
    return shift, flat @ flat.T, z, f.numel(), positions


def _combine(parts: list, objective: StyleObjective) -> torch.Tensor:
    """Σ over tiles -> the Gram matrix F Fᵀ / (C · Σmask²) (of softened features when SWAG is on)."""
    c = parts[0][1].shape[0]
    positions = sum(p[4] for p in parts)
    if not objective.spec.soften:
        total = sum(p[1] for p in parts)
        return (total / (c * max(positions, 1e-8))).float()[None]
    top = max(float(p[0]) for p in parts)
    s = sum(p[1] * math.exp(2 * (float(p[0]) - top)) for p in parts)
    z = sum(float(p[2]) * math.exp(float(p[0]) - top) for p in parts)
    n = sum(p[3] for p in parts)
    mean = z / n  # softened map = e / mean(e): the softmax times the number of entries
    return (s / (mean * mean) / (c * max(positions, 1e-8))).float()[None]


# --------------------------------------------------------------------------- tiled optimisation


def optimize_tiled(
    init: torch.Tensor,
    content: torch.Tensor,
    mask: torch.Tensor | None,
    objective: StyleObjective,
    regions: list[Region],
    config: GatysConfig,
    callback: Callable[[int, torch.Tensor], None] | None = None,
) -> StyleResult:
    """Optimise ``init`` tile by tile (raster order) towards ``regions``' global targets."""
    h, w = init.shape[-2:]
    side = min(config.tile_size, max(h, w))
    overlap = max(ALIGN, side // 4)
    x, history, steps = init.detach().clone(), [], 0
    for y0 in tile_starts(h, side, overlap):
        for x0 in tile_starts(w, side, overlap):
            ys, xs = slice(y0, min(y0 + side, h)), slice(x0, min(x0 + side, w))
            tile_targets = _tile_targets(objective, content[..., ys, xs], mask, regions, ys, xs)
            done = optimize(
                x[..., ys, xs], objective, tile_targets, config.replace(save_every=0), desc=f"tile {y0},{x0}"
            )
            weight = feather(ys.stop - y0, y0, h, overlap)[:, None] * feather(xs.stop - x0, x0, w, overlap)[None]
            weight = weight.to(x.device)
            x[..., ys, xs] = x[..., ys, xs] * (1 - weight) + done.image * weight
            history += done.history
            steps += config.iterations
            if callback:
                callback(steps, x.clamp(-1, 1))
    return StyleResult(x.clamp(-1, 1), history)


def _tile_targets(
    objective: StyleObjective,
    content_tile: torch.Tensor,
    mask: torch.Tensor | None,
    regions: list[Region],
    ys: slice,
    xs: slice,
) -> Targets:
    """The tile's own content features with the level's global style targets (masks cropped)."""
    with torch.no_grad():
        feats = objective.features(content_tile)
    tile_regions = [Region(None if r.mask is None else r.mask[..., ys, xs], r.grams) for r in regions]
    tile_regions = [r for r in tile_regions if r.mask is None or float(r.mask.sum()) >= 1.0]
    return Targets({k: feats[k] for k in objective.content_layers}, tile_regions)


def stylize_large(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: GatysConfig,
    mask: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], None] | None = None,
    fine_iterations: int | None = None,
) -> StyleResult:
    """Pyramid + tiles (see the module docstring).  ``config.iterations`` run at the coarsest level;
    finer levels refine an upsampled, already stylised picture and run ``fine_iterations``
    (default: a third as many) per tile.  ``callback(step, picture)`` runs after every level and,
    at the final level, after every tile.
    """
    fine = fine_iterations if fine_iterations is not None else max(1, config.iterations // 3)
    sizes = pyramid_sizes(tuple(content.shape[-2:]), config.tile_size, config.coarse_size)
    objective, x, history, steps = StyleObjective(config), None, [], 0
    for level, hw in enumerate(sizes):
        cfg = config.replace(iterations=config.iterations if level == 0 else fine)
        c_l = resize(content, hw)
        m_l = None if mask is None else resize(mask, hw)
        with torch.no_grad():
            grams = [objective.grams(s) for s in prepare_styles(c_l, styles, config)]
            regions = style_regions(objective, grams, cfg, m_l, c_l)
        x = initial_image(c_l, config, prepare_styles(c_l, styles, config), m_l) if x is None else resize(x, hw)
        last = level == len(sizes) - 1
        report = (
            (lambda s, img, base=steps: callback(base + s, finish(img, resize(content, img.shape[-2:]), config)))
            if callback and last
            else None
        )
        if max(hw) <= config.tile_size or config.tile is False:
            targets = Targets(
                {k: v for k, v in objective.features(c_l).items() if k in objective.content_layers}, regions
            )
            done = optimize(
                x, objective, targets, cfg if last else cfg.replace(save_every=0), report, desc=f"level {hw[1]}x{hw[0]}"
            )
        else:
            done = optimize_tiled(x, c_l, m_l, objective, regions, cfg, report)
        x, history, steps = done.image, history + done.history, steps + cfg.iterations
        if callback and not last:
            callback(steps, finish(x, c_l, config))
    return StyleResult(finish(x, content, config), history)


__all__ = ["feather", "optimize_tiled", "pyramid_sizes", "stylize_large", "tile_starts", "tiled_grams"]
