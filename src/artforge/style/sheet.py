"""A style sheet: one photo painted in many styles side by side, to pick a style by looking.

Every cell is the photo stylised with the fast (AdaIN) path, with the style picture inset in its
corner and its number and name underneath; the first cell is the photo itself.  With no style
pictures (or the word ``builtin``) the styles are artforge's own: procedural paintings of every
family in :mod:`artforge.data.paintings` (made here, deterministic, no download).  A style file that
cannot be read is left out and named in the summary; the sheet records every style in its PNG
metadata, so ``artforge style PHOTO STYLE --fast`` can reproduce any cell.

Example::

    >>> style_sheet("photo.jpg", None, "sheet.png")            # doctest: +SKIP
    {'out': 'sheet.png', 'styles': ['builtin:paintings/0 swirls', ...], 'skipped': [], ...}
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont

from artforge.errors import ArtforgeError
from artforge.pictures import save_png, to_uint8
from artforge.style.io import from_uint8, read_image

BUILTIN = "builtin"
BUILTIN_COUNT = 10  # two of each painting family
BUILTIN_SEED = 7  # the seed of the shipped set (chosen by looking: each family at its most distinct)
BUILTIN_SIZE = 512
LABEL = 18  # pixels of the caption strip under each cell


def builtin_styles(n: int = BUILTIN_COUNT, size: int = BUILTIN_SIZE) -> list[tuple[str, torch.Tensor]]:
    """artforge's own style pictures: (name, 1×3×H×W in [-1, 1]) for ``n`` procedural paintings."""
    from artforge.data.paintings import FAMILIES, make_paintings

    pictures = make_paintings(n, size, seed=BUILTIN_SEED)
    return [
        (f"builtin:paintings/{i} {FAMILIES[i % len(FAMILIES)]}", from_uint8(p.permute(1, 2, 0).numpy()))
        for i, p in enumerate(pictures)
    ]


def load_styles(specs: Sequence[str] | None, max_side: int) -> tuple[list[tuple[str, torch.Tensor]], list[str]]:
    """(name, picture) for each style (``builtin`` expands to the shipped set) and the files that were skipped."""
    styles, skipped = [], []
    for spec in specs or [BUILTIN]:
        if spec == BUILTIN:
            styles += builtin_styles()
            continue
        try:
            styles.append((str(spec), read_image(spec, max_side=max_side)))
        except ArtforgeError as exc:
            skipped.append(f"{spec}: {exc}")
    if not styles:
        raise ArtforgeError("none of the style pictures could be read: " + "; ".join(skipped))
    return styles, skipped


def style_sheet(
    photo,
    styles: Sequence[str] | None,
    out,
    size: int = 320,
    columns: int | None = None,
    alpha: float = 1.0,
    preserve_color: bool = False,
    adain_path=None,
    device: str = "cpu",
) -> dict:
    """Write the sheet PNG ``out``: the photo (long side ``size``) stylised with every style; returns a summary."""
    from artforge.style.adain import load_adain, stylize_fast

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ArtforgeError(f"-o must name a .png file, got {out}")
    if not 64 <= size <= 1024:
        raise ArtforgeError(f"--size must be between 64 and 1024 pixels per cell, got {size}")
    start = time.perf_counter()
    content = read_image(photo, max_side=size)
    loaded, skipped = load_styles(styles, max_side=max(2 * size, 256))
    model = load_adain(adain_path, device=device)
    cells = [("photo", _picture(content), None)]
    for name, style in loaded:
        result = stylize_fast(model, content.to(device), [style.to(device)], alpha=alpha, preserve_color=preserve_color)
        cells.append((name, _picture(result), _picture(style)))
    sheet = compose(cells, columns)
    names = [name for name, _ in loaded]
    save_png(sheet, out, {"method": "adain", "content": str(photo), "styles": names, "alpha": alpha})
    return {"out": str(out), "styles": names, "skipped": skipped, "seconds": time.perf_counter() - start}


def _picture(image: torch.Tensor) -> Image.Image:
    return Image.fromarray(to_uint8(image[:1])[0])


def compose(cells: list[tuple[str, Image.Image, Image.Image | None]], columns: int | None = None) -> Image.Image:
    """Cells of equal size on a white sheet, each with its number and name below and its style inset."""
    columns = columns or math.ceil(math.sqrt(len(cells)))
    w, h = cells[0][1].size
    pad = 6
    rows = math.ceil(len(cells) / columns)
    sheet = Image.new("RGB", (columns * (w + pad) + pad, rows * (h + LABEL + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for i, (name, picture, style) in enumerate(cells):
        r, c = divmod(i, columns)
        x, y = pad + c * (w + pad), pad + r * (h + LABEL + pad)
        sheet.paste(picture.resize((w, h)) if picture.size != (w, h) else picture, (x, y))
        if style is not None:
            _inset(sheet, style, x, y, w, h)
        label = name if i == 0 else f"{i}. {name if name.startswith(BUILTIN) else Path(name).name}"
        draw.text((x + 2, y + h + 3), _fit_text(draw, label, font, w - 4), fill="black", font=font)
    return sheet


def _inset(sheet: Image.Image, style: Image.Image, x: int, y: int, w: int, h: int) -> None:
    """The style picture as a small framed thumbnail in the cell's lower-right corner."""
    side = max(16, min(w, h) // 4)
    thumb = style.copy()
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    framed = Image.new("RGB", (thumb.width + 4, thumb.height + 4), "white")
    framed.paste(thumb, (2, 2))
    sheet.paste(framed, (x + w - framed.width - 3, y + h - framed.height - 3))


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"
