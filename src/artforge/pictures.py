"""Turning tensors into pictures on disk: grids and PNGs with provenance metadata."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from artforge.fileio import atomic_write_bytes


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """N×C×H×W in [-1, 1] -> N×H×W×3 uint8."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if x.size(1) == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def make_grid(images: torch.Tensor, ncol: int | None = None, pad: int = 2, fill: int = 255) -> Image.Image:
    """Tile N images into one picture, ``ncol`` per row (default: as square as possible)."""
    arr = to_uint8(images)
    n, h, w, _ = arr.shape
    ncol = ncol or math.ceil(math.sqrt(n))
    nrow = math.ceil(n / ncol)
    canvas = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, 3), fill, np.uint8)
    for i, img in enumerate(arr):
        r, c = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y:y + h, x:x + w] = img
    return Image.fromarray(canvas)


def save_png(image: Image.Image, path: Path, metadata: dict | None = None) -> Path:
    """Save a PNG atomically, recording ``metadata`` as PNG text chunks (``artforge`` holds all of it as JSON)."""
    info = PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(str(key), value if isinstance(value, str) else json.dumps(value))
    if metadata:
        info.add_text("artforge", json.dumps(metadata, sort_keys=True))
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)


def read_png_metadata(path: Path) -> dict:
    """The ``artforge`` metadata a PNG was saved with ({} when none)."""
    with Image.open(path) as im:
        text = getattr(im, "text", {}) or {}
    return json.loads(text["artforge"]) if "artforge" in text else {}
