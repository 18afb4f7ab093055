"""Built-in data sets made on the spot: procedural abstract art and font glyphs.

They need no download, are deterministic by seed, and are easy enough for a
small GAN at 32-64 px (bold shapes, flat colours), so every model can be tried
and tested without the user's own pictures.

Example::

    >>> images, captions = make_shapes(8, 64, seed=1)
    >>> images.shape, images.dtype
    ((8, 64, 64, 3), dtype('uint8'))
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SUPERSAMPLE = 4  # draw at 4x, then box-average down: antialiased edges for free

# A small named palette, so captions can name every colour they use.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (214, 40, 40),
    "orange": (240, 130, 30),
    "yellow": (247, 206, 45),
    "green": (46, 145, 70),
    "teal": (22, 135, 140),
    "sky blue": (125, 185, 232),
    "blue": (35, 78, 182),
    "dark blue": (22, 32, 82),
    "purple": (118, 52, 148),
    "pink": (236, 128, 165),
    "brown": (122, 76, 42),
    "black": (22, 22, 22),
    "grey": (128, 128, 128),
    "white": (246, 246, 244),
    "cream": (240, 228, 196),
}
LIGHT_GROUNDS = ("white", "cream")
# Words that identify each family in its captions (tests and users rely on them).
SHAPE_FAMILIES = ("grid", "circles", "stripes", "waves", "truchet", "sun")


def _luma(name: str) -> float:
    r, g, b = PALETTE[name]
    return 0.299 * r + 0.587 * g + 0.114 * b


def _contrasting(rng: np.random.Generator, ground: str, k: int = 1, exclude=()) -> list[str]:
    """``k`` distinct colours that stand out clearly against ``ground``."""
    pool = [c for c in PALETTE if c != ground and c not in exclude and abs(_luma(c) - _luma(ground)) > 55]
    return [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]


def _join(names: list[str]) -> str:
    """['red', 'yellow', 'blue'] -> 'red, yellow and blue'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _downsample(im: Image.Image, size: int) -> np.ndarray:
    """Average each SUPERSAMPLE x SUPERSAMPLE block: exact area coverage at edges.

    A box average of a supersampled drawing is the textbook antialiasing; unlike
    Lanczos it does not ring, so flat colours stay inside the named palette.
    """
    small = im.convert("RGB").reduce(SUPERSAMPLE)
    if small.size != (size, size):  # only if a drawer used an odd canvas
        small = small.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8)


# --------------------------------------------------------------------------- shapes


def _grid(rng: np.random.Generator, big: int) -> tuple[Image.Image, str]:
    """Mondrian-like: rectangles from recursive splits, a few filled with primaries."""
    ground = str(rng.choice(LIGHT_GROUNDS))
    cells = _split((0, 0, big, big), rng, depth=0, min_side=big // 6)
    # Only cells that stay clearly visible at the final size get a colour, so the
    # caption never names a block hidden under the grid lines; black only on
    # small cells, as in Mondrian's compositions.
    fills, filled_area = {}, 0
    for i, (x0, y0, x1, y1) in enumerate(cells):
        w, h = x1 - x0, y1 - y0
        # Keep at least half the canvas as ground, or the "on white" part is a lie.
        if min(w, h) >= big // 4 and filled_area + w * h <= big * big / 2 and rng.random() < 0.5:
            small = w * h < big * big / 12
            fills[i] = str(rng.choice(["red", "yellow", "blue", "black"] if small else ["red", "yellow", "blue"]))
            filled_area += w * h
    if not fills:  # a grid with no colour block is not the family the caption names
        areas = [(c[2] - c[0]) * (c[3] - c[1]) for c in cells]
        fills[int(np.argsort(areas)[len(areas) // 2])] = str(rng.choice(["red", "blue"]))
    im = Image.new("RGB", (big, big), PALETTE[ground])
    draw = ImageDraw.Draw(im)
    line = max(2, big // 28)
    for i, (x0, y0, x1, y1) in enumerate(cells):
        fill = PALETTE[fills[i]] if i in fills else None
        draw.rectangle((x0, y0, x1, y1), fill=fill, outline=PALETTE["black"], width=line)
    used = [c for c in ("red", "yellow", "blue", "black") if c in fills.values()]
    return im, f"{_join(used)} blocks in a black grid on {ground}"


def _split(rect, rng, depth: int, min_side: int) -> list[tuple[int, int, int, int]]:
    """Split a rectangle recursively along its longer side (Mondrian's layout)."""
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    if depth >= 3 or max(w, h) < 2 * min_side or (depth >= 2 and rng.random() < 0.35):
        return [rect]
    t = rng.uniform(0.25, 0.75)
    if w >= h:
        cut = int(x0 + t * w)
        halves = [(x0, y0, cut, y1), (cut, y0, x1, y1)]
    else:
        cut = int(y0 + t * h)
        halves = [(x0, y0, x1, cut), (x0, cut, x1, y1)]
    return [r for half in halves for r in _split(half, rng, depth + 1, min_side)]


def _circles(rng: np.random.Generator, big: int) -> tuple[Image.Image, str]:
    """Kandinsky-like: scattered discs, or concentric rings, on a plain ground."""
    ground = str(rng.choice(["dark blue", "black", "cream", "white", "teal"]))
    colours = _contrasting(rng, ground, k=int(rng.integers(1, 3)))
    im = Image.new("RGB", (big, big), PALETTE[ground])
    draw = ImageDraw.Draw(im)
    if rng.random() < 0.35:
        cx, cy = rng.uniform(0.35, 0.65, size=2) * big
        rings = int(rng.integers(3, 6))
        for j, r in enumerate(np.linspace(0.45, 0.12, rings) * big):
            colour = PALETTE[colours[j % len(colours)]] if j % 2 == 0 or len(colours) > 1 else PALETTE[ground]
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        return im, f"concentric {_join(colours)} circles on {_article(ground)} {ground} ground"
    for _ in range(int(rng.integers(3, 8))):
        r = rng.uniform(0.08, 0.22) * big
        cx, cy = rng.uniform(r, big - r, size=2)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=PALETTE[str(rng.choice(colours))])
    return im, f"{_join(colours)} circles on {_article(ground)} {ground} ground"


def _coords(big: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1) for numpy-drawn patterns."""
    axis = (np.arange(big) + 0.5) / big
    return np.meshgrid(axis, axis)  # x varies along columns, y along rows


def _paint(mask: np.ndarray, fg: str, ground: str) -> Image.Image:
    out = np.where(mask[..., None], np.array(PALETTE[fg], np.uint8), np.array(PALETTE[ground], np.uint8))
    return Image.fromarray(out.astype(np.uint8))


def _stripes(rng: np.random.Generator, big: int) -> tuple[Image.Image, str]:
    """Bold parallel stripes: horizontal, vertical or diagonal."""
    ground = str(rng.choice(list(PALETTE)))
    (fg,) = _contrasting(rng, ground)
    direction = str(rng.choice(["horizontal", "vertical", "diagonal"]))
    x, y = _coords(big)
    u = {"horizontal": y, "vertical": x, "diagonal": (x + y * rng.choice([-1, 1])) / math.sqrt(2)}[direction]
    period = 1.0 / rng.integers(2, 6)  # 2-5 stripes: still bold at 32 px
    mask = ((u + rng.random()) % period) < period * rng.uniform(0.4, 0.6)
    return _paint(mask, fg, ground), f"{fg} {direction} stripes on {ground}"


def _waves(rng: np.random.Generator, big: int) -> tuple[Image.Image, str]:
    """Sine-wave bands across the picture."""
    ground = str(rng.choice(list(PALETTE)))
    (fg,) = _contrasting(rng, ground)
    x, y = _coords(big)
    cycles, amplitude = rng.uniform(0.7, 2.0), rng.uniform(0.04, 0.1)
    period = 1.0 / rng.integers(2, 5)  # 2-4 bands: still bold at 32 px
    u = y + amplitude * np.sin(2 * math.pi * (cycles * x + rng.random()))
    mask = (u % period) < period * rng.uniform(0.4, 0.6)
    return _paint(mask, fg, ground), f"{fg} waves on {ground}"


# Quarter arcs of a Truchet tile: (corner offset in tiles, start and end angle).
# Pillow's angles run clockwise from 3 o'clock because y points down.
_TRUCHET_ARCS = {0: [((0, 0), 0, 90), ((1, 1), 180, 270)], 1: [((1, 0), 90, 180), ((0, 1), 270, 360)]}


def _truchet(rng: np.random.Generator, big: int) -> tuple[Image.Image, str]:
    """Smith's quarter-circle Truchet tiles: two arcs per tile, random orientation."""
    ground = str(rng.choice(["orange", "yellow", "cream", "white", "teal", "pink", "sky blue", "black", "dark blue"]))
    (fg,) = _contrasting(rng, ground)
    n = int(rng.integers(2, 5))  # 2-4 tiles a side: arcs stay bold at 32 px
    tile = big / n
    width = max(2, int(tile * 0.28))
    im = Image.new("RGB", (big, big), PALETTE[ground])
    draw = ImageDraw.Draw(im)
    for row in range(n):
        for col in range(n):
            for (dx, dy), start, end in _TRUCHET_ARCS[int(rng.integers(2))]:
                cx, cy = (col + dx) * tile, (row + dy) * tile
                r = tile / 2 + width / 2  # Pillow strokes inwards from the box edge
                draw.arc((cx - r, cy - r, cx + r, cy + r), start, end, fill=PALETTE[fg], width=width)
    return im, f"{fg} quarter-circle truchet tiles on {ground}"


def _sun(rng: np.random.Generator, big: int) -> tuple[Image.Image, str]:
    """A flat landscape: a sun over rolling hills under a plain sky."""
    sky = str(rng.choice(["sky blue", "pink", "cream", "orange", "dark blue"]))
    (sun,) = _contrasting(rng, sky, exclude=("black", "brown", "grey", "dark blue", "purple", "teal", "blue", "green"))
    (hills,) = _contrasting(rng, sky, exclude=(sun, "white", "cream", "yellow", "grey", "pink", "sky blue"))
    im = Image.new("RGB", (big, big), PALETTE[sky])
    draw = ImageDraw.Draw(im)
    r = rng.uniform(0.1, 0.18) * big
    cx, cy = rng.uniform(0.25, 0.75) * big, rng.uniform(0.25, 0.45) * big
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=PALETTE[sun])
    xs = np.linspace(0, big, 64)
    horizon = rng.uniform(0.55, 0.7) * big
    amplitude, cycles, phase = rng.uniform(0.05, 0.12) * big, rng.uniform(0.5, 1.5), rng.random()
    ys = horizon + amplitude * np.sin(2 * math.pi * (cycles * xs / big + phase))
    draw.polygon([*zip(xs, ys), (big, big), (0, big)], fill=PALETTE[hills])
    return im, f"{_article(sun)} {sun} sun over {hills} hills under {_article(sky)} {sky} sky"


_FAMILY_DRAWERS: dict[str, Callable] = {
    "grid": _grid,
    "circles": _circles,
    "stripes": _stripes,
    "waves": _waves,
    "truchet": _truchet,
    "sun": _sun,
}


def make_shapes(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """``n`` pieces of procedural abstract art, uint8 N x size x size x 3, with captions.

    Image ``i`` depends only on ``(seed, i)``, so ``make_shapes(10)`` is a
    prefix of ``make_shapes(20)``; families take turns so every one appears.

    >>> _, captions = make_shapes(6, 32)
    >>> captions[0]                                        # doctest: +SKIP
    'red and blue blocks in a black grid on white'
    """
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    captions = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        draw = _FAMILY_DRAWERS[SHAPE_FAMILIES[i % len(SHAPE_FAMILIES)]]
        big, caption = draw(rng, size * SUPERSAMPLE)
        images[i] = _downsample(big, size)
        captions.append(caption)
    return images, captions


# --------------------------------------------------------------------------- glyphs

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
GLYPH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NOTDEF = "\U0010fffd"  # a private-use code point no font defines: renders as .notdef


def find_fonts(dirs=None) -> list[Path]:
    """Every .ttf/.otf under the font folders, sorted for determinism."""
    found = []
    for d in FONT_DIRS if dirs is None else dirs:
        root = Path(d)
        if root.is_dir():
            found += [p for p in root.rglob("*") if p.suffix.lower() in (".ttf", ".otf") and p.is_file()]
    return sorted(set(found))


@lru_cache(maxsize=512)
def _font(path: str, px: int) -> ImageFont.FreeTypeFont:
    """Load a font once per pixel size (FreeType load is the slow part)."""
    if path == "":
        return ImageFont.load_default(size=px)
    return ImageFont.truetype(path, px)


def _font_name(path: str) -> str:
    if path == "":
        return "Pillow default"
    family, style = _font(path, 32).getname()
    return " ".join(part for part in (family, style) if part)


def _has_glyph(font, ch: str) -> bool:
    """False when the font draws nothing or its .notdef box for ``ch``."""
    mask = font.getmask(ch)
    if mask.getbbox() is None:
        return False
    notdef = font.getmask(_NOTDEF)
    return not (mask.size == notdef.size and bytes(mask) == bytes(notdef))


def _glyph_items(dirs=None) -> list[tuple[str, str]]:
    """(font path, character) for every glyph the fonts really have."""
    items = []
    for path in map(str, find_fonts(dirs)):
        try:
            probe = _font(path, 32)
        except OSError:  # unreadable or unsupported font file: not worth failing for
            continue
        items += [(path, ch) for ch in GLYPH_CHARS if _has_glyph(probe, ch)]
    return items or [("", ch) for ch in GLYPH_CHARS]


def _render_glyph(path: str, ch: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A dark glyph centred on a light ground, with a small jitter of scale and position."""
    big = size * SUPERSAMPLE
    font = _font(path, max(4, int(big * 0.72 * rng.uniform(0.85, 1.05))))
    x0, y0, x1, y1 = font.getbbox(ch)
    dx, dy = rng.uniform(-0.05, 0.05, size=2) * big
    origin = ((big - (x1 - x0)) / 2 - x0 + dx, (big - (y1 - y0)) / 2 - y0 + dy)
    im = Image.new("L", (big, big), 245)
    ImageDraw.Draw(im).text(origin, ch, fill=20, font=font)
    return _downsample(im, size)


def make_glyphs(size: int, seed: int = 0, n: int | None = None, font_dirs=None) -> tuple[np.ndarray, list[str]]:
    """A–Z, a–z, 0–9 in every font on the machine, uint8 N x size x size x 3.

    Captions read ``"letter A, DejaVu Serif Bold"`` (``"digit 7, ..."`` for
    digits).  Without any font file, Pillow's built-in font is used
    (``"letter A, Pillow default"``).  ``n`` keeps a seeded subset, in order.

    >>> images, captions = make_glyphs(32, n=4)
    >>> images.shape
    (4, 32, 32, 3)
    """
    items = _glyph_items(font_dirs)
    keep = range(len(items))
    if n is not None and n < len(items):
        keep = sorted(np.random.default_rng(seed).choice(len(items), size=n, replace=False).tolist())
    images = np.empty((len(keep), size, size, 3), dtype=np.uint8)
    captions = []
    for j, i in enumerate(keep):
        path, ch = items[i]
        # Jitter depends on (seed, item) only, so a subset shows the same pictures.
        images[j] = _render_glyph(path, ch, size, np.random.default_rng([seed, i]))
        kind = "digit" if ch.isdigit() else "letter"
        captions.append(f"{kind} {ch}, {_font_name(path)}")
    return images, captions


def _shapes_builtin(n: int, size: int, seed: int) -> tuple[np.ndarray, list[str]]:
    return make_shapes(n, size, seed)


def _glyphs_builtin(n: int, size: int, seed: int) -> tuple[np.ndarray, list[str]]:
    return make_glyphs(size, seed, n)


def _paintings_builtin(n: int, size: int, seed: int) -> tuple[np.ndarray, list[str]]:
    # Imported here: paintings.py is larger and only style transfer needs it.
    from artforge.data.paintings import make_paintings_captioned

    return make_paintings_captioned(n, size, seed)


# Uniform signature for every built-in: (n, size, seed) -> (N x S x S x 3 uint8, captions).
BUILTINS: dict[str, Callable[[int, int, int], tuple[np.ndarray, list[str]]]] = {
    "shapes": _shapes_builtin,
    "glyphs": _glyphs_builtin,
    "paintings": _paintings_builtin,  # painterly style images (artforge.data.paintings)
}
