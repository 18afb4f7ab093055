"""Reading and writing the pictures of style transfer, keeping their aspect ratio.

Decoding goes through the same robust path as training data (``artforge.data.images``:
EXIF rotation, ICC profiles, transparency, 16-bit, decompression-bomb check); anything
unusable becomes an :class:`ArtforgeError` naming the file.  Writing is atomic (temp file +
rename), with the settings recorded as PNG metadata.

Example::

    >>> content = read_image("photo.jpg", max_side=512)       # doctest: +SKIP
    >>> content.shape                                         # doctest: +SKIP
    torch.Size([1, 3, 384, 512])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artforge.errors import ArtforgeError
from artforge.pictures import save_png, to_uint8, to_unit


def _decode(path: Path, background=(255, 255, 255)) -> Image.Image:
    """Full-resolution RGB through artforge's robust decoder, or an ArtforgeError naming the file."""
    from artforge.data.decode import BadImage, decode_rgb

    if not path.exists():
        raise ArtforgeError(f"no such file: {path}")
    if path.is_dir():
        raise ArtforgeError(f"{path} is a folder; give a picture file")
    try:
        return decode_rgb(path, background)[0]
    except BadImage as exc:
        raise ArtforgeError(f"cannot use {path}: {exc.reason}") from None


def read_image(path, max_side: int | None = None, size: tuple[int, int] | None = None) -> torch.Tensor:
    """A picture file as 1×3×H×W float in [-1, 1].

    ``max_side`` scales it (up or down) so its longer side has that many pixels, keeping the
    aspect ratio (neural-style's ``-image_size``); ``size=(H, W)`` resizes to exactly that.
    """
    im = _decode(Path(path))
    if size is not None:
        im = im.resize((int(size[1]), int(size[0])), Image.Resampling.LANCZOS)
    elif max_side:
        im = im.resize(fit_long_side(im.size[::-1], max_side)[::-1], Image.Resampling.LANCZOS)
    return from_uint8(np.asarray(im, np.uint8))


def read_mask(path, size: tuple[int, int]) -> torch.Tensor:
    """A mask picture as 1×1×H×W in [0, 1] (white = 1), resized to ``size`` = (H, W)."""
    im = _decode(Path(path), background=(0, 0, 0)).convert("L")
    im = im.resize((int(size[1]), int(size[0])), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(im, np.float32) / 255.0)[None, None]


def fit_long_side(hw: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(H, W) scaled so that max(H, W) == long_side, each side at least 1."""
    h, w = hw
    scale = long_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """H×W×3 uint8 -> 1×3×H×W float in [-1, 1] (:func:`artforge.pictures.to_unit`)."""
    return to_unit(torch.from_numpy(np.array(array, np.uint8)).permute(2, 0, 1)[None].contiguous())


def resize(images: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Antialiased bilinear resize of N×C×H×W to (H, W) (a no-op when already that size)."""
    if tuple(images.shape[-2:]) == tuple(hw):
        return images
    return F.interpolate(images, size=tuple(hw), mode="bilinear", align_corners=False, antialias=True)


def write_image(path, image: torch.Tensor, metadata: dict | None = None) -> Path:
    """Save a 1×3×H×W [-1, 1] tensor as a PNG, atomically, with ``metadata`` in its text chunks."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ArtforgeError(f"output must be a .png file, got {path}")
    return save_png(Image.fromarray(to_uint8(image[:1])[0]), path, metadata)
