"""One picture file -> RGB pixels, robustly (the per-file half of ``artforge.data.images``).

Phone photos with EXIF rotation, PNGs with transparency, 16-bit scans, CMYK JPEGs
from print work with their ICC profile, animated GIFs, decompression bombs, half
copied or mislabelled files: every regular file is tried with Pillow, and whatever
cannot be used raises :class:`BadImage` with a short reason a person can act on.
No torch here: decoding worker processes import only this, Pillow and NumPy.

Example::

    >>> from artforge.data.decode import load_image
    >>> load_image("cat.jpg", 64, fit="pad").shape          # doctest: +SKIP
    (64, 64, 3)
"""

from __future__ import annotations

import functools
import io
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from artforge.errors import DataError

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default limit (about 9,459 x 9,459)
FITS = ("crop", "pad", "stretch")
# Pillow's MAX_IMAGE_PIXELS is a module global; we change it only while holding
# this lock so that two loads in one process cannot see each other's limit.
_PIXEL_LIMIT_LOCK = threading.Lock()
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")
_SNIFF_BYTES = 4096
# Formats artists often have that Pillow cannot read: say so instead of "not an image".
_UNSUPPORTED = {
    ".heic": "HEIC",
    ".heif": "HEIF",
    ".cr2": "Canon raw",
    ".cr3": "Canon raw",
    ".nef": "Nikon raw",
    ".arw": "Sony raw",
    ".dng": "DNG raw",
    ".raf": "Fuji raw",
    ".orf": "Olympus raw",
    ".rw2": "Panasonic raw",
    ".kra": "Krita",
    ".xcf": "GIMP",
    ".psb": "large Photoshop",
    ".pdf": "PDF",
    ".ai": "Illustrator",
}


class BadImage(Exception):
    """A file that cannot be used as a training picture; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def load_image(
    path,
    size: int,
    fit: str = "crop",
    background=(255, 255, 255),
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Decode one file into a ``size`` x ``size`` x 3 uint8 RGB array.

    Raises :class:`BadImage` (with a short reason) for anything unusable.

    >>> load_image("cat.jpg", 64, fit="pad").shape          # doctest: +SKIP
    (64, 64, 3)
    """
    array, _meta = decode_file(Path(path), size, fit, tuple(background), max_pixels)
    return array


def decode_file(path: Path, size: int, fit: str, background: tuple, max_pixels) -> tuple[np.ndarray, dict]:
    """Decode ``path`` at ``size``; return (array, {"format", "mode", "size"} of the file) or raise BadImage."""
    check_fit(fit)
    rgb, meta = decode_rgb(path, background, max_pixels, draft_size=size, fit=fit)
    out = _fit(rgb, size, fit, background)
    return np.asarray(out, dtype=np.uint8).copy(), meta


def decode_rgb(
    path,
    background=(255, 255, 255),
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    draft_size: int | None = None,
    fit: str = "crop",
) -> tuple[Image.Image, dict]:
    """One file as an RGB Pillow image through the robust path (EXIF, ICC, alpha, 16-bit, bomb check).

    Full resolution unless ``draft_size`` lets JPEG decoding shrink it for a later resize to that
    size.  Returns (image, {"format", "mode", "size"}); raises :class:`BadImage` with a short reason.
    """
    path = Path(path)
    _sniff(path)
    with _PIXEL_LIMIT_LOCK:
        saved_limit = Image.MAX_IMAGE_PIXELS
        try:
            im = _open(path, max_pixels)
            with im:
                meta = {"format": im.format or "?", "mode": im.mode, "size": list(im.size)}
                # Pillow re-checks the limit when seeking/loading some formats (GIF
                # frames, ICO, TIFF pages): keep it at the user's limit for that.
                Image.MAX_IMAGE_PIXELS = max_pixels
                # without a draft size, a huge one turns the JPEG draft shortcut off
                rgb = _load_rgb(im, draft_size or 1 << 16, fit, tuple(background))
                if rgb is im:  # the file closes with the block: keep a detached copy
                    rgb = rgb.copy()
        finally:
            Image.MAX_IMAGE_PIXELS = saved_limit
    return rgb, meta


def check_fit(fit: str) -> None:
    """Raise :class:`DataError` unless ``fit`` is one of :data:`FITS`."""
    if fit not in FITS:
        raise DataError(f"unknown fit {fit!r}: use one of {', '.join(FITS)}")


def _sniff(path: Path) -> None:
    """Reject empty, unreadable and vector files before Pillow sees them."""
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as e:
        raise BadImage(f"cannot read file: {e.strerror or e}") from None
    if not head:
        raise BadImage("empty file")
    # Only a text file can be SVG: binary formats start with magic bytes, never '<'.
    text_start = head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
    if path.suffix.lower() in (".svg", ".svgz") or (text_start and b"<svg" in head.lower()):
        raise BadImage("SVG is not supported (vector)")


def _open(path: Path, max_pixels: int | None) -> Image.Image:
    """Open (header only) and refuse decompression bombs before any decoding.

    Called with the pixel-limit lock held.  Pillow's own check runs inside
    ``Image.open`` with the *global* limit, so it is switched off for the open
    and replaced by our check against the caller's ``max_pixels``; Pillow
    decodes nothing until ``load()``, so nothing big is allocated in between.
    """
    Image.MAX_IMAGE_PIXELS = None
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        kind = _UNSUPPORTED.get(path.suffix.lower())
        if kind:
            raise BadImage(f"{kind} files are not supported; export as PNG or JPEG") from None
        raise BadImage("not an image") from None
    except Exception as e:  # plugins raise SyntaxError, struct.error, ... on bad headers
        raise BadImage(f"truncated or corrupt image: {_describe(e)}") from None
    w, h = im.size
    if max_pixels and w * h > max_pixels:
        im.close()
        raise BadImage(f"decompression bomb: {w}x{h} pixels exceeds --max-pixels {max_pixels}")
    return im


def _load_rgb(im: Image.Image, size: int, fit: str, background: tuple) -> Image.Image:
    """First frame, decoded, EXIF-rotated and flattened to RGB on ``background``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im.seek(0)  # animated GIF/APNG/WebP: the first frame
            if im.format == "JPEG":
                # Let libjpeg decode at 1/2..1/8 scale (DCT-domain, antialiased):
                # a 24 MP photo becomes cheap; both sides stay >= 2 x size.
                im.draft(None, (2 * size, 2 * size))
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise BadImage(f"decompression bomb: {e}") from None
        except Exception as e:  # truncated data, bad chunks, zlib errors, plugin bugs
            raise BadImage(f"truncated or corrupt image: {_describe(e)}") from None
    im = _to_srgb(_exif_upright(im))
    try:
        return _to_rgb(im, background)
    except (ValueError, OSError) as e:
        raise BadImage(f"unsupported image mode {im.mode}: {_describe(e)}") from None


def _describe(e: Exception) -> str:
    """Pillow's message, or the exception type when the message is empty."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return text or type(e).__name__


def _exif_upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # malformed EXIF is common and never worth losing the picture
        return im


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert through an embedded ICC profile to sRGB (phone P3 photos, print CMYK).

    Without this a CMYK file from print work comes out with the naive
    ``255 - C - K`` colours.  A broken or unusual profile is ignored.
    """
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(im, profile, _srgb_profile(), outputMode=out_mode)
    except Exception:  # a bad profile must not cost the picture; naive conversion follows
        return im


@functools.lru_cache(maxsize=1)
def _srgb_profile():
    """Built once, lazily: creating a LittleCMS profile is not free."""
    return ImageCms.createProfile("sRGB")


def _to_rgb(im: Image.Image, background: tuple) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is composited on ``background``."""
    if im.mode in _HIGH_BIT_MODES:
        im = _high_bit_to_l(im)
    elif im.mode == "1":
        im = im.convert("L")
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")
        ground = Image.new("RGBA", im.size, (*background, 255))
        return Image.alpha_composite(ground, rgba).convert("RGB")
    return im.convert("RGB")  # L, P, CMYK, YCbCr, LAB, HSV, RGB


def _high_bit_to_l(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float grey -> 8-bit L by *scaling*, not clipping.

    Pillow's own ``convert("L")`` clips 16-bit values at 255, which turns a
    16-bit scan white.  Integer data that fits 16 bits is scaled by 255/65535;
    float data in [0, 1] by 255; anything else is stretched min..max.
    """
    a = np.asarray(im).astype(np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if im.mode == "F" and lo >= 0.0 and hi <= 1.0:
        a = a * 255.0
    elif im.mode != "F" and lo >= 0 and hi <= 65535:
        a = a / 257.0  # 65535 / 255 == 257 exactly
    elif hi > lo:
        a = (a - lo) * (255.0 / (hi - lo))
    else:
        a = np.zeros_like(a)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def _fit(im: Image.Image, size: int, fit: str, background: tuple) -> Image.Image:
    """Resize to ``size`` x ``size`` with Lanczos (antialiased).

    ``reducing_gap`` makes Pillow box-reduce huge images first and Lanczos the
    rest: as sharp as pure Lanczos, much faster, no aliasing.
    """
    w, h = im.size
    if fit == "stretch":
        return im.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if fit == "crop":  # shorter side -> size, centre square
        side = min(w, h)
        box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
        return im.resize((size, size), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    scale = size / max(w, h)  # pad: longer side -> size, letterbox the rest
    inner_size = (max(1, round(w * scale)), max(1, round(h * scale)))
    inner = im.resize(inner_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = Image.new("RGB", (size, size), background)
    canvas.paste(inner, ((size - inner_size[0]) // 2, (size - inner_size[1]) // 2))
    return canvas
