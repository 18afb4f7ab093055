"""Procedural painterly pictures: style images that need no download.

Each picture is painted the way Hertzmann's painterly renderer does it (Hertzmann 1998,
"Painterly rendering with curved brush strokes of multiple sizes"): a hidden reference
composition (a landscape or an abstract arrangement in a per-picture palette) is covered
by layers of brush strokes, broad ones first, fine ones last; every stroke takes its
colour from the reference under it.  The strokes are what style transfer should pick up:
oriented, curved, semi-transparent, with bristle streaks, dry-brush ends and a height
field (impasto) lit from the upper left.  Five families take turns:

- ``swirls``: Van-Gogh-like short thick strokes that follow a vortex flow field;
- ``impressionist``: short hatched strokes of broken colour over a loose underpainting;
- ``pointillist``: round dabs of pure colour (Seurat, Signac);
- ``palette-knife``: broad flat slabs with ridged edges;
- ``watercolour``: transparent washes with darkened edges and pigment granulation on paper.

Picture ``i`` depends only on ``(seed, i)``; geometry is in fractions of the picture, so
the same seed paints the same picture at any size.  About 20-30 pictures/s at 256 px on
one CPU core (numpy; strokes are rasterised in batches of patches).

Example::

    >>> images = make_paintings(4, 64, seed=0)
    >>> images.shape, images.dtype
    (torch.Size([4, 3, 64, 64]), torch.uint8)
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PIL import Image

FAMILIES = ("swirls", "impressionist", "pointillist", "palette-knife", "watercolour")
# Words the captions use for each family (tests and users can rely on them).
FAMILY_WORDS = {
    "swirls": "swirling impasto brush strokes",
    "impressionist": "impressionist broken-colour brush strokes",
    "pointillist": "pointillist dabs",
    "palette-knife": "palette-knife slabs",
    "watercolour": "watercolour washes",
}
# Names for captions: the nearest of these describes each palette colour.
COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 35),
    "crimson": (150, 20, 50),
    "orange": (235, 125, 30),
    "ochre": (200, 150, 50),
    "yellow": (245, 215, 60),
    "olive": (120, 120, 40),
    "green": (60, 140, 60),
    "dark green": (25, 70, 40),
    "teal": (30, 125, 125),
    "turquoise": (70, 190, 190),
    "sky blue": (130, 180, 230),
    "blue": (45, 90, 200),
    "deep blue": (20, 35, 100),
    "violet": (120, 80, 190),
    "purple": (100, 40, 110),
    "pink": (235, 140, 170),
    "brown": (110, 70, 40),
    "white": (245, 243, 235),
    "cream": (235, 220, 185),
    "grey": (128, 128, 128),
    "black": (25, 25, 28),
}


# --------------------------------------------------------------------------- public API


def make_paintings(n: int, size, seed: int = 0, families: tuple[str, ...] | None = None) -> torch.Tensor:
    """``n`` painterly pictures as a uint8 tensor N×3×H×W (``size`` = S or (H, W)).

    Families take turns (``FAMILIES``, or the ``families`` given); picture ``i`` depends only
    on ``(seed, i)``, so ``make_paintings(10, ...)`` is a prefix of ``make_paintings(20, ...)``.

    >>> make_paintings(2, (48, 64)).shape
    torch.Size([2, 3, 48, 64])
    """
    images, _ = make_paintings_captioned(n, size, seed, families)
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def make_paintings_captioned(
    n: int, size, seed: int = 0, families: tuple[str, ...] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Like :func:`make_paintings` but N×H×W×3 numpy with captions (the ``builtin:`` signature).

    >>> _, captions = make_paintings_captioned(5, 32)
    >>> captions[0]                                     # doctest: +SKIP
    'a landscape in swirling impasto brush strokes of deep blue, yellow and white'
    """
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if n < 0 or h < 1 or w < 1:
        raise ValueError(f"make_paintings needs n >= 0 and a positive size, got n={n}, size={size}")
    families = tuple(families or FAMILIES)
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown painting family {sorted(unknown)}; choose from {', '.join(FAMILIES)}")
    images = np.empty((n, h, w, 3), np.uint8)
    captions = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        images[i], caption = paint(rng, h, w, families[i % len(families)])
        captions.append(caption)
    return images, captions


def paint(rng: np.random.Generator, h: int, w: int, family: str) -> tuple[np.ndarray, str]:
    """One picture of ``family``: (H×W×3 uint8, caption)."""
    canvas = Canvas.new(rng, h, w, family)
    _PAINTERS[family](canvas, rng)
    return canvas.finish(rng), canvas.caption(family)


# --------------------------------------------------------------------------- palette and composition


def _palette(rng: np.random.Generator, family: str) -> np.ndarray:
    """5-7 colours (float RGB in [0, 1]) from a colour-harmony scheme around a random hue."""
    base = rng.random()
    if family == "swirls" and rng.random() < 0.5:
        base = rng.uniform(0.58, 0.66)  # the night-sky blues with complementary yellows
    scheme = rng.choice(["analogous", "complementary", "triadic", "split"])
    offsets = {
        "analogous": [0, 0.06, -0.07, 0.12],
        "complementary": [0, 0.5, 0.04, 0.46],
        "triadic": [0, 1 / 3, 2 / 3, 0.05],
        "split": [0, 0.42, 0.58, -0.05],
    }[scheme]
    sat_range = {"pointillist": (0.6, 0.95), "watercolour": (0.3, 0.7), "palette-knife": (0.35, 0.8)}
    lo, hi = sat_range.get(family, (0.45, 0.95))
    colours = []
    for off in offsets:
        for _ in range(int(rng.integers(1, 3)) if len(colours) < 5 else 1):
            hue = (base + off + rng.normal(0, 0.015)) % 1
            colours.append(colorsys.hsv_to_rgb(hue, rng.uniform(lo, hi), rng.uniform(0.35, 0.95)))
    light_hue = (base + rng.choice(offsets)) % 1
    colours.append(colorsys.hsv_to_rgb(light_hue, rng.uniform(0.03, 0.2), rng.uniform(0.9, 0.99)))
    colours.append(colorsys.hsv_to_rgb(base, rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.25)))
    return np.array(colours[:7], np.float32)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: float) -> np.ndarray:
    """Band-limited noise in about [-1, 1]: a coarse random grid, bicubically enlarged."""
    gh, gw = max(2, round(cells * h / max(h, w))) + 2, max(2, round(cells * w / max(h, w))) + 2
    grid = Image.fromarray(rng.uniform(-1, 1, (gh, gw)).astype(np.float32), mode="F")
    return np.asarray(grid.resize((w, h), Image.Resampling.BICUBIC), np.float32)


def _composition(rng: np.random.Generator, h: int, w: int, palette: np.ndarray) -> tuple[np.ndarray, str]:
    """The hidden reference the strokes sample, as palette indices (H×W): a landscape or an abstract field."""
    y = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / max(h, w)
    x = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / max(h, w)
    noise = _smooth_noise(rng, h, w, rng.uniform(2, 5))
    k = len(palette)
    if rng.random() < 0.55:
        kind = "a landscape"
        horizon = rng.uniform(0.45, 0.7) * h / max(h, w)
        wave = 0.05 * np.sin(2 * math.pi * (x * rng.uniform(0.5, 2) + rng.random()))
        ground = y > horizon + wave
        sky_idx = np.clip((y / horizon * 2 + 0.6 * noise).astype(int), 0, 2)  # 0-2: sky colours
        ground_idx = 3 + np.clip(((y - horizon) * 6 + 1.2 * noise).astype(int), 0, k - 4)
        idx = np.where(ground, ground_idx, sky_idx)
        cx, cy, r = rng.uniform(0.2, 0.8) * w / max(h, w), rng.uniform(0.1, 0.6) * horizon, rng.uniform(0.05, 0.1)
        idx = np.where((x - cx) ** 2 + (y - cy) ** 2 < r * r, k - 2, idx)  # a sun or moon (the light)
    else:
        kind = "an abstract composition"
        field = noise + 0.5 * _smooth_noise(rng, h, w, rng.uniform(6, 10))
        ranks = np.argsort(np.argsort(field.ravel())).reshape(h, w) / field.size  # equalised: all colours used
        idx = np.minimum((ranks * k).astype(int), k - 1)
        idx = rng.permutation(k)[idx]
    return idx, kind


def _nearest_names(colours: np.ndarray, counts: np.ndarray, k: int = 3) -> list[str]:
    """Names of the ``k`` most used colours (distinct names, most used first)."""
    table = np.array(list(COLOUR_NAMES.values()), np.float32) / 255
    names = list(COLOUR_NAMES)
    chosen: list[str] = []
    for i in np.argsort(-counts):
        if counts[i] <= 0:
            break
        name = names[int(np.argmin(((table - colours[i]) ** 2).sum(1)))]
        if name not in chosen:
            chosen.append(name)
        if len(chosen) == k:
            break
    return chosen


# --------------------------------------------------------------------------- the canvas


@dataclass
class Canvas:
    """Paint colour and height (impasto) as one 4×H×W array, padded so strokes may overhang.

    Colour (channels 0-2, in [0, 1]) and height (channel 3) live in one array so compositing
    a stroke is two in-place operations, not four: the per-stroke loop is the slow part.
    Channels come first so every array operation runs along contiguous rows (numpy is slow
    on a trailing axis of 3 or 4).
    """

    layers: np.ndarray
    reference: np.ndarray  # H×W×3: the colour each stroke samples
    palette: np.ndarray
    usage: np.ndarray  # pixels of the reference per palette colour (for the caption)
    kind: str
    pad: int
    h: int
    w: int
    paper: bool = False  # watercolour: the ground shows through and is lit as paper, not canvas

    @classmethod
    def new(cls, rng: np.random.Generator, h: int, w: int, family: str) -> "Canvas":
        palette = _palette(rng, family)
        index, kind = _composition(rng, h, w, palette)
        reference = palette[index]
        pad = max(4, int(0.2 * max(h, w)))
        paper = family == "watercolour"
        ground = np.array([0.97, 0.96, 0.93] if paper else [0.86, 0.8, 0.68], np.float32)  # paper / primed canvas
        layers = np.zeros((4, h + 2 * pad, w + 2 * pad), np.float32)
        layers[:3] = ground[:, None, None]
        usage = np.bincount(index.ravel(), minlength=len(palette))
        return cls(layers, reference, palette, usage, kind, pad, h, w, paper)

    @property
    def rgb(self) -> np.ndarray:
        """H×W×3 view of the colour."""
        return self.layers[:3].transpose(1, 2, 0)

    @property
    def height(self) -> np.ndarray:
        return self.layers[3]

    @property
    def scale(self) -> float:
        return float(max(self.h, self.w))

    def sample(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Reference colour under each (x, y) in pixels (clamped to the picture)."""
        xi = np.clip(xs.astype(int), 0, self.w - 1)
        yi = np.clip(ys.astype(int), 0, self.h - 1)
        return self.reference[yi, xi]

    def finish(self, rng: np.random.Generator) -> np.ndarray:
        """Light the height field (impasto), add canvas/paper grain, crop, quantise."""
        p = self.pad
        rgb, height = self.rgb[p : p + self.h, p : p + self.w], self.height[p : p + self.h, p : p + self.w]
        yy, xx = np.mgrid[0 : self.h, 0 : self.w].astype(np.float32)
        period = max(2.5, self.scale / 110)  # canvas weave, or paper tooth for watercolour
        grain = np.sin(2 * math.pi * xx / period) * np.sin(2 * math.pi * yy / period)
        grain = grain * (0.3 if self.paper else 0.5) + 0.25 * rng.standard_normal((self.h, self.w)).astype(np.float32)
        surface = height + 0.04 * grain
        gy, gx = np.gradient(surface * (self.scale / 256))  # slopes per 1/256 of the picture: size-independent
        light = -(gx * 0.7 + gy * 0.7)  # lit from the upper left
        shade = 1 + 1.6 * np.tanh(light)[..., None]
        gloss = 0.35 * np.clip(light - 0.15, 0, None)[..., None] ** 1.5  # wet-paint highlights on ridges
        out = np.clip(rgb * shade + gloss, 0, 1)
        return (out * 255 + 0.5).astype(np.uint8)

    def caption(self, family: str) -> str:
        names = _nearest_names(self.palette, self.usage)
        colours = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        ground = " on white paper" if self.paper else ""
        return f"{self.kind} in {FAMILY_WORDS[family]} of {colours}{ground}"


# --------------------------------------------------------------------------- stroke rasteriser


@dataclass
class Strokes:
    """A batch of K strokes; lengths in pixels, angles in radians, curvature in 1/pixel."""

    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray
    length: np.ndarray
    width: np.ndarray
    colour: np.ndarray  # K×3
    opacity: np.ndarray
    curvature: np.ndarray
    thickness: np.ndarray  # paint body (impasto height)

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Brush:
    """How a brush deposits paint; one per layer."""

    bristles: float = 0.5  # depth of the streaks along the stroke (0 = smooth)
    dry: float = 0.4  # how much the end of a stroke breaks into streaks (paint running out)
    taper: float = 2.0  # end shape: 2 = round, large = flat (knife)
    softness: float = 0.8  # edge width in pixels (antialiasing; wet edges are softer)
    ridge: float = 0.3  # paint pushed to the stroke's sides (impasto ridge)
    n_bristles: int = 12
    rim: float = 0.0  # watercolour: pigment gathers at the drying edge (Curtis et al. 1997)
    grain: float = 0.0  # watercolour: granulation, pigment settling unevenly in the paper


def _groups(s: Strokes, brush: Brush) -> list[np.ndarray]:
    """Split a batch into groups of similar bounding boxes (orientation, then length).

    A patch per group is the group's largest box; grouping keeps the wasted area (pixels of
    the box outside the stroke) near 2x instead of ~9x for one square patch for all.
    """
    c, si = np.abs(np.cos(s.angle)), np.abs(np.sin(s.angle))
    bucket = np.minimum((np.arctan2(si, c) / (math.pi / 2) * 8).astype(int), 7)  # 8 orientation buckets
    groups = []
    for b in range(8):
        members = np.flatnonzero(bucket == b)
        if len(members) == 0:
            continue
        members = members[np.argsort(s.length[members])]
        groups += [g for g in np.array_split(members, max(1, min(4, len(members) // 40))) if len(g)]
    return groups


def _patch_grid(s: Strokes, idx: np.ndarray, brush: Brush):
    """Per-stroke pixel offsets (K×1×Pw, K×Ph×1) of the smallest box holding every stroke of ``idx``."""
    pad = 2 * brush.softness + 2  # the soft edge on both sides, plus the sub-pixel offset
    c, si = np.abs(np.cos(s.angle[idx])), np.abs(np.sin(s.angle[idx]))
    pw = int(math.ceil((s.length[idx] * c + s.width[idx] * si).max() + pad))
    ph = int(math.ceil((s.length[idx] * si + s.width[idx] * c).max() + pad))
    ox, oy = np.floor(s.x[idx]), np.floor(s.y[idx])
    dx = np.arange(pw, dtype=np.float32)[None, None, :] - pw // 2 + (ox - s.x[idx])[:, None, None]
    dy = np.arange(ph, dtype=np.float32)[None, :, None] - ph // 2 + (oy - s.y[idx])[:, None, None]
    return ph, pw, ox.astype(int) - pw // 2, oy.astype(int) - ph // 2, dx, dy


def _stroke_patches(s: Strokes, idx: np.ndarray, brush: Brush, rng: np.random.Generator, relief: bool = True):
    """Alpha, lightness and height patches (K×Ph×Pw) for the strokes ``idx``, in one batch.

    Each pixel gets stroke-local coordinates: ``u`` along the stroke, ``v`` across it, with
    ``v`` bent by the curvature (a parabola: v - κu²/2).  Coverage and textures are functions
    of (u, v), so curved, tapered, streaky strokes cost a few dozen array operations.
    """
    ph, pw, x0, y0, dx, dy = _patch_grid(s, idx, brush)
    k = len(idx)
    col = lambda a: a[idx][:, None, None]  # noqa: E731  (per-stroke scalars, broadcast over the patch)
    cos, sin = col(np.cos(s.angle)), col(np.sin(s.angle))
    half_len, half_w = col(s.length) / 2, col(s.width) / 2
    # (In-place operations throughout: these arrays are the bulk of the generator's time.)
    u = dx * cos + dy * sin
    v = dy * cos - dx * sin
    v -= (0.5 * col(s.curvature)) * u * u
    a = u * (1 / half_len)  # -1 (start) .. 1 (end)
    profile = np.minimum(a * a, 1)
    if brush.taper != 2:
        profile **= brush.taper / 2
    np.subtract(1, profile, out=profile)
    hw = np.sqrt(profile, out=profile) * half_w  # tapered half-width
    abs_v = np.abs(v, out=v)
    inside = np.minimum(hw - abs_v, half_len - np.abs(u, out=u))
    cover = _unit(inside * (1 / brush.softness) + 0.5)
    # Bristles: one random level per bristle across the stroke, constant along it -> streaks.
    # (|v| folds the stroke in two; the levels still vary bristle to bristle.)
    nb = brush.n_bristles
    levels = rng.random(k * nb, np.float32)
    b_idx = np.minimum(abs_v * (nb / half_w), nb - 1).astype(np.intp)
    b_idx += (np.arange(k) * nb)[:, None, None]
    bristle = levels.take(b_idx)
    tail = np.maximum(a, 0, out=a)
    tail *= tail
    dry = _unit((bristle - brush.dry * tail) * 4)  # the end of the stroke breaks up
    alpha = cover * dry
    alpha *= (1 - 0.5 * brush.bristles) + (0.5 * brush.bristles) * bristle
    alpha *= col(s.opacity)
    if brush.rim:  # a band about a quarter of the half-width wide along the edge, darker
        band = _unit(1 - inside / (0.25 * half_w + 1))
        alpha *= 1 + brush.rim * band
    if brush.grain:
        alpha *= (1 - brush.grain) + (2 * brush.grain) * rng.random(alpha.shape, np.float32)
    tone = (1 - 0.09 * brush.bristles) + (0.18 * brush.bristles) * bristle  # streaky lightness
    if not relief:  # transparent washes leave no relief
        return x0, y0, alpha, tone, None
    across = abs_v * (1 / half_w)  # 0 on the axis, 1 at the edge
    across *= across
    height = (1 - brush.ridge) + brush.ridge * across  # paint pushed to the sides
    height *= cover
    height *= col(s.thickness) * 0.7 + (col(s.thickness) * 0.3) * bristle
    return x0, y0, alpha, tone, height


def _unit(x: np.ndarray) -> np.ndarray:
    """Clamp to [0, 1] in place (np.clip is several times slower on small arrays)."""
    np.maximum(x, 0, out=x)
    return np.minimum(x, 1, out=x)


def draw_strokes(canvas: Canvas, s: Strokes, brush: Brush, rng: np.random.Generator, mode: str = "over") -> None:
    """Rasterise ``s`` in order onto ``canvas``.

    ``mode="over"``: oil/gouache, each stroke covers what is under it (alpha compositing) and
    adds its body to the height field.  ``mode="multiply"``: transparent pigment (watercolour),
    the colour filters the paper and the layers under it.
    """
    if len(s) == 0:
        return
    batches, group_of, row_of = [], np.empty(len(s), np.intp), np.empty(len(s), np.intp)
    for b, idx in enumerate(_groups(s, brush)):
        x0, y0, alpha, tone, height = _stroke_patches(s, idx, brush, rng, relief=mode != "multiply")
        # Precompute the compositing terms per batch (colour and height together), so the
        # ordered loop below is two in-place operations per stroke.
        k, ph, pw = alpha.shape
        colour = s.colour[idx]
        at = alpha * tone
        if mode == "multiply":  # transparent pigment filters what is below; the height is untouched
            keep, add = np.ones((k, 4, ph, pw), np.float32), None
            for c in range(3):
                np.multiply(at, (colour[:, c] - 1)[:, None, None], out=keep[:, c])
                keep[:, c] += 1
        else:  # opaque paint replaces colour and relief in proportion to alpha
            keep = (1 - alpha)[:, None]
            add = np.empty((k, 4, ph, pw), np.float32)
            for c in range(3):
                np.multiply(at, colour[:, c, None, None], out=add[:, c])
            np.multiply(alpha, height, out=add[:, 3])
        batches.append(((x0 + canvas.pad).tolist(), (y0 + canvas.pad).tolist(), ph, pw, keep, add))
        group_of[idx], row_of[idx] = b, np.arange(len(idx))
    _, hmax, wmax = canvas.layers.shape
    layers = canvas.layers
    for b, j in zip(group_of.tolist(), row_of.tolist()):  # the original (random) order, not group by group
        xs, ys, ph, pw, keep, add = batches[b]
        x, y = xs[j], ys[j]
        if x < 0 or y < 0 or x + pw > wmax or y + ph > hmax:
            continue  # outside the padded canvas: invisible anyway
        region = layers[:, y : y + ph, x : x + pw]
        region *= keep[j]
        if add is not None:
            region += add[j]


def _jittered_grid(rng: np.random.Generator, canvas: Canvas, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Stroke centres: one per cell of a jittered grid over the picture (plus a margin), shuffled.

    A jittered grid covers the canvas evenly with far fewer strokes than uniform sampling.
    """
    step = spacing * canvas.scale
    margin = 0.5 * step
    xs = np.arange(-margin, canvas.w + margin, step, dtype=np.float32)
    ys = np.arange(-margin, canvas.h + margin, step, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    gx = gx.ravel() + rng.uniform(0, step, gx.size).astype(np.float32)
    gy = gy.ravel() + rng.uniform(0, step, gy.size).astype(np.float32)
    order = rng.permutation(gx.size)
    return gx[order], gy[order]


def _jitter_colour(rng: np.random.Generator, colour: np.ndarray, amount: float) -> np.ndarray:
    """Per-stroke variation of value and hue, as a painter never mixes the same tone twice."""
    k = len(colour)
    value = 1 + rng.normal(0, amount, (k, 1))
    tint = rng.normal(0, amount * 0.6, (k, 3))
    return np.clip(colour * value + tint, 0, 1).astype(np.float32)


def _layer(
    canvas: Canvas,
    rng,
    coverage: float,
    width: float,
    aspect: tuple[float, float],
    angle_fn: Callable,
    curvature_fn: Callable | None,
    opacity: tuple[float, float],
    thickness: float,
    colour_jitter: float,
) -> Strokes:
    """One layer of strokes on a jittered grid; ``width`` is a fraction of the picture's long side.

    ``coverage`` is the mean number of strokes over a point: about 1 leaves gaps where the
    layer below shows, as in real paintings, and keeps the stroke count (the cost) low.
    """
    spacing = width * math.sqrt((aspect[0] + aspect[1]) / 2 / coverage)
    x, y = _jittered_grid(rng, canvas, spacing)
    k = len(x)
    widths = (width * canvas.scale * rng.uniform(0.75, 1.25, k)).astype(np.float32)
    lengths = (widths * rng.uniform(*aspect, k)).astype(np.float32)
    angles = angle_fn(x, y).astype(np.float32)
    curv = curvature_fn(x, y, angles, lengths).astype(np.float32) if curvature_fn else np.zeros(k, np.float32)
    colour = _jitter_colour(rng, canvas.sample(x, y), colour_jitter)
    return Strokes(
        x,
        y,
        angles,
        lengths,
        np.maximum(widths, 0.8),
        colour,
        rng.uniform(*opacity, k).astype(np.float32),
        curv,
        (thickness * rng.uniform(0.7, 1.3, k)).astype(np.float32),
    )


# --------------------------------------------------------------------------- the five families


def _vortex_field(rng: np.random.Generator, canvas: Canvas) -> Callable:
    """Angle of a flow made of a drift plus a few Gaussian-windowed vortices (Starry-Night-like)."""
    n = int(rng.integers(2, 5))
    centres = rng.uniform(0.1, 0.9, (n, 2)) * [canvas.w, canvas.h]
    radii = rng.uniform(0.12, 0.3, n) * canvas.scale
    spins = rng.choice([-1, 1], n) * rng.uniform(1.5, 3.0, n)
    drift, waves, phase = rng.uniform(-0.4, 0.4), rng.uniform(2, 5), rng.random() * 2 * math.pi

    def angle(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        vx = np.cos(drift) + 0.5 * np.sin(2 * math.pi * waves * y / canvas.scale + phase)
        vy = np.sin(drift) + 0.3 * np.cos(2 * math.pi * waves * x / canvas.scale + phase)
        for (cx, cy), r, spin in zip(centres, radii, spins):
            ddx, ddy = x - cx, y - cy
            d = np.sqrt(ddx * ddx + ddy * ddy) + 1e-3
            g = spin * np.exp(-((d / r) ** 2)) * np.minimum(d / (0.3 * r), 1)
            vx, vy = vx - g * ddy / d, vy + g * ddx / d
        return np.arctan2(vy, vx)

    return angle


def _field_curvature(angle: Callable) -> Callable:
    """Curvature of the flow's streamline through each stroke centre (finite difference of the angle)."""

    def curvature(x, y, theta, length):
        step = length / 4
        ahead = angle(x + step * np.cos(theta), y + step * np.sin(theta))
        behind = angle(x - step * np.cos(theta), y - step * np.sin(theta))
        turn = (ahead - behind + math.pi) % (2 * math.pi) - math.pi
        return np.clip(turn / (2 * step), -2.5 / length, 2.5 / length)

    return curvature


def _paint_swirls(canvas: Canvas, rng: np.random.Generator) -> None:
    flow = _vortex_field(rng, canvas)
    curve = _field_curvature(flow)
    brush = Brush(bristles=0.7, dry=0.5, taper=2.0, ridge=0.45)
    for coverage, width, opacity, thick in (
        (1.1, 0.06, (0.9, 1.0), 0.6),
        (1.0, 0.032, (0.8, 1.0), 1.0),
        (1.0, 0.02, (0.75, 1.0), 1.2),
    ):
        strokes = _layer(canvas, rng, coverage, width, (2.5, 4.5), flow, curve, opacity, thick, 0.08)
        draw_strokes(canvas, strokes, brush, rng)


def _paint_impressionist(canvas: Canvas, rng: np.random.Generator) -> None:
    main = rng.uniform(0, math.pi)
    wobble = _smooth_noise(rng, 17, 17, 3)

    def hatch(x, y):  # a dominant hatching direction that drifts across the picture
        i = np.clip((y / canvas.scale * 16).astype(int), 0, 16)
        j = np.clip((x / canvas.scale * 16).astype(int), 0, 16)
        return main + 0.6 * wobble[i, j] + rng.normal(0, 0.25, len(x))

    under = Brush(bristles=0.4, dry=0.3, taper=2.0, ridge=0.2, softness=1.2)
    draw_strokes(canvas, _layer(canvas, rng, 1.5, 0.08, (1.5, 2.5), hatch, None, (0.6, 0.9), 0.3, 0.05), under, rng)
    top = Brush(bristles=0.55, dry=0.45, taper=2.0, ridge=0.35)
    strokes = _layer(
        canvas,
        rng,
        1.2,
        0.022,
        (2.0, 3.2),
        hatch,
        lambda x, y, t, length: rng.normal(0, 0.4, len(x)) / length,
        (0.75, 1.0),
        0.9,
        0.12,
    )
    broken = rng.random(len(strokes)) < 0.3  # broken colour: neighbours from the palette, side by side
    strokes.colour[broken] = canvas.palette[rng.integers(0, len(canvas.palette), broken.sum())]
    draw_strokes(canvas, strokes, top, rng)


def _paint_pointillist(canvas: Canvas, rng: np.random.Generator) -> None:
    under = Brush(bristles=0.3, dry=0.2, taper=2.0, ridge=0.1, softness=1.5)
    draw_strokes(
        canvas,
        _layer(
            canvas,
            rng,
            1.4,
            0.09,
            (1.2, 2.0),
            lambda x, y: rng.uniform(0, math.pi, len(x)),
            None,
            (0.5, 0.8),
            0.1,
            0.05,
        ),
        under,
        rng,
    )
    dab = Brush(bristles=0.15, dry=0.0, taper=2.0, ridge=0.5, n_bristles=4)
    dabs = _layer(
        canvas, rng, 1.0, 0.02, (1.0, 1.3), lambda x, y: rng.uniform(0, math.pi, len(x)), None, (0.85, 1.0), 0.8, 0.04
    )
    # Divisionism: some dabs in a purer, lighter or complementary tone, mixed by the eye.
    pure = rng.random(len(dabs)) < 0.35
    dabs.colour[pure] = canvas.palette[rng.integers(0, len(canvas.palette), pure.sum())]
    draw_strokes(canvas, dabs, dab, rng)


def _paint_knife(canvas: Canvas, rng: np.random.Generator) -> None:
    main = rng.choice([0.0, math.pi / 2, rng.uniform(0, math.pi)])

    def direction(x, y):
        return main + rng.choice([0, math.pi / 2], len(x), p=[0.7, 0.3]) + rng.normal(0, 0.2, len(x))

    knife = Brush(bristles=0.15, dry=0.25, taper=12.0, ridge=0.8, softness=0.6, n_bristles=24)
    for coverage, width, thick in ((1.5, 0.12, 1.0), (1.2, 0.07, 1.4)):
        slabs = _layer(
            canvas,
            rng,
            coverage,
            width,
            (1.4, 2.6),
            direction,
            lambda x, y, t, length: rng.normal(0, 0.15, len(x)) / length,
            (0.9, 1.0),
            thick,
            0.07,
        )
        draw_strokes(canvas, slabs, knife, rng)


def _paint_watercolour(canvas: Canvas, rng: np.random.Generator) -> None:
    wash = Brush(bristles=0.05, dry=0.0, taper=2.0, ridge=0.0, softness=3.0, n_bristles=4, rim=1.2, grain=0.3)
    angle = rng.uniform(0, math.pi)
    for coverage, width, opacity in ((1.2, 0.2, (0.35, 0.55)), (0.8, 0.11, (0.3, 0.5)), (0.6, 0.05, (0.3, 0.5))):
        s = _layer(
            canvas,
            rng,
            coverage,
            width,
            (1.0, 2.2),
            lambda x, y: angle + rng.normal(0, 0.5, len(x)),
            lambda x, y, t, length: rng.normal(0, 0.6, len(x)) / length,
            opacity,
            0.0,
            0.06,
        )
        # Pigment is transparent: multiply by a lightened colour, so layers deepen where they overlap.
        s.colour = 1 - (1 - s.colour) * 0.7
        draw_strokes(canvas, s, wash, rng, mode="multiply")


_PAINTERS: dict[str, Callable[[Canvas, np.random.Generator], None]] = {
    "swirls": _paint_swirls,
    "impressionist": _paint_impressionist,
    "pointillist": _paint_pointillist,
    "palette-knife": _paint_knife,
    "watercolour": _paint_watercolour,
}
