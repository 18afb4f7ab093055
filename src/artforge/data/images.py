"""Robust loading of a folder of pictures into one uint8 tensor.

Artists' folders are messy: phone photos with EXIF rotation, PNGs with
transparency, 16-bit scans, CMYK JPEGs from print work, animated GIFs, half
copied files, ``.DS_Store``, an SVG or two.  Every regular file is tried with
Pillow; whatever cannot be used is *skipped and reported* (path + reason), never
a crash, and the decoded result is cached so the second run starts at once.

Example::

    >>> from artforge.data import load_folder
    >>> ds = load_folder("my_paintings", size=64)     # doctest: +SKIP
    >>> ds.images.shape, ds.summary()                 # doctest: +SKIP
    (torch.Size([1391, 3, 64, 64]), 'used 1,391 of 1,449 files; skipped 58')
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import operator
import os
import statistics
import sys
import threading
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from artforge.errors import DataError
from artforge.fileio import atomic_save_npy, atomic_write_bytes

# Informational only: files are NOT filtered by extension.  Every regular file is
# tried with Pillow, because artists' files often carry wrong or no extensions.
IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .png .apng .gif .webp .bmp .dib .tif .tiff .avif .heic .ico "
    ".ppm .pgm .pbm .pnm .tga .psd .jp2 .j2k .jfif".split()
)
SIDECAR_SUFFIX = ".txt"  # NAME.txt next to NAME.jpg holds the caption
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default limit (about 9,459 x 9,459)
FITS = ("crop", "pad", "stretch")
CACHE_VERSION = 1  # bump when decoding changes, so old caches are not reused

# Pillow's MAX_IMAGE_PIXELS is a module global; we change it only while holding
# this lock so that two loads in one process cannot see each other's limit.
_PIXEL_LIMIT_LOCK = threading.Lock()
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")
_SNIFF_BYTES = 4096
# Formats artists often have that Pillow cannot read: say so instead of "not an image".
_UNSUPPORTED = {
    ".heic": "HEIC", ".heif": "HEIF", ".cr2": "Canon raw", ".cr3": "Canon raw", ".nef": "Nikon raw",
    ".arw": "Sony raw", ".dng": "DNG raw", ".raf": "Fuji raw", ".orf": "Olympus raw", ".rw2": "Panasonic raw",
    ".kra": "Krita", ".xcf": "GIMP", ".psb": "large Photoshop", ".pdf": "PDF", ".ai": "Illustrator",
}


class BadImage(Exception):
    """A file that cannot be used as a training picture; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class SkippedFile:
    """A file left out of the data set, with a short human reason."""

    path: str
    reason: str


@dataclass
class ImageSet:
    """Decoded pictures plus what was left out and why.

    ``images`` is uint8 N x 3 x S x S (RGB); ``captions[i]`` and ``paths[i]``
    describe ``images[i]``.
    """

    images: torch.Tensor
    captions: list[str | None]
    paths: list[str]
    skipped: list[SkippedFile] = field(default_factory=list)
    source: str = ""
    total_files: int = 0

    def __len__(self) -> int:
        return len(self.paths)

    def summary(self) -> str:
        """One line for the log, e.g. ``used 1,391 of 1,449 files; skipped 58``."""
        return f"used {len(self.paths):,} of {self.total_files:,} files; skipped {len(self.skipped):,}"

    def write_skipped(self, path) -> None:
        """Write one ``PATH<TAB>REASON`` line per skipped file."""
        lines = "".join(f"{s.path}\t{s.reason}\n" for s in self.skipped)
        Path(path).write_text(lines, encoding="utf-8", errors="backslashreplace")


def print_to_stderr(message: str) -> None:
    """Default ``warn``: a line on stderr that does not break a tqdm bar."""
    tqdm.write(message, file=sys.stderr)


# --------------------------------------------------------------------------- scanning


def scan_folder(folder: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Candidate files under ``folder`` (recursive, sorted) and the entries skipped.

    Hidden entries (name starts with ``.``) are skipped and reported; ``.txt``
    files are caption sidecars, not candidates; symlinked folders are followed
    once, so a symlink loop cannot recurse forever.
    """
    candidates, _sidecars, skipped = _scan(Path(folder))
    return candidates, skipped


def _scan(folder: Path) -> tuple[list[Path], list[Path], list[SkippedFile]]:
    """Walk ``folder``; return (candidates, sidecar .txt files, skipped entries)."""
    candidates: list[Path] = []
    sidecars: list[Path] = []
    skipped: list[SkippedFile] = []
    seen_dirs: set[tuple[int, int]] = set()

    def on_error(err: OSError) -> None:
        skipped.append(SkippedFile(str(err.filename), f"cannot read folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True, onerror=on_error):
        here = Path(dirpath)
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen_dirs:  # reached again through a symlink
            skipped.append(SkippedFile(str(here), "folder already scanned (symlink loop or duplicate link)"))
            dirnames[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        for name in sorted(d for d in dirnames if d.startswith(".")):
            skipped.append(SkippedFile(str(here / name), "hidden folder"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            _classify(here / name, candidates, sidecars, skipped)
    return candidates, sidecars, skipped


def _classify(path: Path, candidates: list, sidecars: list, skipped: list) -> None:
    """Put one directory entry into the right list."""
    if path.name.startswith("."):
        skipped.append(SkippedFile(str(path), "hidden file"))
    elif path.suffix.lower() == SIDECAR_SUFFIX:
        sidecars.append(path)
    elif path.is_symlink() and not path.exists():
        skipped.append(SkippedFile(str(path), "broken symlink"))
    elif not path.is_file():
        skipped.append(SkippedFile(str(path), "not a regular file"))
    else:
        candidates.append(path)


def _caption_lookup(sidecars: list[Path]) -> dict[tuple[Path, str], Path]:
    """Map (folder, stem) -> sidecar path; ``a.txt`` and ``a.TXT`` both count."""
    return {(p.parent, p.stem): p for p in sidecars}


def _read_caption(path: Path | None) -> str | None:
    """The stripped sidecar text, or None when absent, empty or unreadable."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            text = f.read(1 << 16).strip()  # a caption, not a novel: cap the read
    except OSError:
        return None
    return text or None


# --------------------------------------------------------------------------- decoding


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
    array, _meta = _decode_file(Path(path), size, fit, tuple(background), max_pixels)
    return array


def _decode_file(path: Path, size: int, fit: str, background: tuple, max_pixels) -> tuple[np.ndarray, dict]:
    """Decode ``path``; return (array, {"format", "mode", "size"}) or raise BadImage."""
    _check_fit(fit)
    rgb, meta = decode_rgb(path, background, max_pixels, draft_size=size, fit=fit)
    out = _fit(rgb, size, fit, background)
    return np.asarray(out, dtype=np.uint8).copy(), meta


def decode_rgb(path, background=(255, 255, 255), max_pixels: int | None = DEFAULT_MAX_PIXELS,
               draft_size: int | None = None, fit: str = "crop") -> tuple[Image.Image, dict]:
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


def _check_fit(fit: str) -> None:
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


# --------------------------------------------------------------------------- folders


def default_cache_dir() -> Path:
    """``$ARTFORGE_CACHE/images``, else ``$XDG_CACHE_HOME/artforge/images`` (~/.cache)."""
    root = os.environ.get("ARTFORGE_CACHE")
    if root:
        return Path(root).expanduser() / "images"
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "artforge" / "images"


def load_folder(
    folder,
    size: int,
    fit: str = "crop",
    background=(255, 255, 255),
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    cache_dir: Path | None = None,
    progress: bool = True,
    warn: Callable[[str], None] = print_to_stderr,
) -> ImageSet:
    """Load every usable picture under ``folder`` (recursively) at ``size`` px.

    Skipped files are reported through ``warn`` and kept in ``.skipped``.
    The decoded tensor is cached in ``cache_dir`` (default
    :func:`default_cache_dir`); adding, removing or touching any file
    invalidates it.  ``cache_dir=False`` turns the cache off.

    >>> ds = load_folder("paintings", 64, fit="pad")       # doctest: +SKIP
    >>> ds.images.dtype, ds.summary()                      # doctest: +SKIP
    (torch.uint8, 'used 40 of 42 files; skipped 2')
    """
    root = _existing_folder(folder)
    _check_args(size, fit)
    background = tuple(int(c) for c in background)
    candidates, sidecars, scan_skipped = _scan(root)
    cache = None if cache_dir is False else _Cache(
        Path(cache_dir) if cache_dir else default_cache_dir(),
        _settings(root, size, fit, background, max_pixels),
        _fingerprint(root, candidates, sidecars, scan_skipped),
    )
    found = cache.read(root, str(folder)) if cache else None
    if found is None:
        found = _decode_folder(root, candidates, sidecars, scan_skipped, size, fit, background, max_pixels, progress)
        found.source = str(folder)
        if cache:
            cache.write(root, found, warn)
    for s in found.skipped:
        warn(f"skipped {s.path}: {s.reason}")
    if not found.paths:
        raise DataError(_nothing_usable(folder, found.skipped))
    return found


def _existing_folder(folder) -> Path:
    root = Path(folder).expanduser()
    if not root.exists():
        raise DataError(f"no such folder: {folder}")
    if not root.is_dir():
        raise DataError(f"not a folder: {folder} (pass the folder that holds the pictures)")
    return root


def _check_args(size: int, fit: str) -> None:
    try:
        ok = operator.index(size) >= 1  # ints and numpy ints, not 64.0
    except TypeError:
        ok = False
    if not ok:
        raise DataError(f"image size must be a positive whole number of pixels, got {size!r}")
    _check_fit(fit)


def _nothing_usable(folder, skipped: list[SkippedFile]) -> str:
    """One line: how many were skipped and one telling example."""
    if not skipped:
        return f"no usable image in {folder}: the folder has no files"
    # A hidden file is the least telling example; prefer a real decoding failure.
    example = next((s for s in skipped if not s.reason.startswith("hidden")), skipped[0])
    return f"no usable image in {folder}: {len(skipped):,} files skipped (e.g. {example.path}: {example.reason})"


def _decode_folder(root, candidates, sidecars, scan_skipped, size, fit, background, max_pixels, progress) -> ImageSet:
    """Decode every candidate into one preallocated uint8 array."""
    captions_by_stem = _caption_lookup(sidecars)
    array = np.empty((len(candidates), 3, size, size), dtype=np.uint8)
    paths, captions, skipped = [], [], list(scan_skipped)
    bar = tqdm(candidates, desc=f"decoding {root.name or root}", unit="img", disable=not progress, file=sys.stderr)
    for path in bar:
        try:
            pixels = load_image(path, size, fit, background, max_pixels)
        except BadImage as e:
            skipped.append(SkippedFile(str(path), e.reason))
            continue
        array[len(paths)] = pixels.transpose(2, 0, 1)
        paths.append(str(path))
        captions.append(_read_caption(captions_by_stem.get((path.parent, path.stem))))
    skipped.sort(key=lambda s: s.path)
    # A leading slice of a C-contiguous array is itself contiguous: no copy.
    return ImageSet(
        images=torch.from_numpy(array[: len(paths)]),
        captions=captions,
        paths=paths,
        skipped=skipped,
        total_files=len(paths) + len(skipped),
    )


# --------------------------------------------------------------------------- cache


def _settings(root: Path, size, fit, background, max_pixels) -> dict:
    """Everything besides the files themselves that changes the decoded pixels."""
    return {
        "version": CACHE_VERSION,
        "folder": str(root.resolve()),
        "size": size,
        "fit": fit,
        "background": list(background),
        "max_pixels": max_pixels,
    }


def _fingerprint(root: Path, candidates, sidecars, skipped) -> list:
    """(relative path, size, mtime_ns) of every entry: any change invalidates."""
    rows = []
    for p in sorted([*map(str, candidates), *map(str, sidecars), *(s.path for s in skipped)]):
        try:
            st = os.stat(p)
            rows.append([os.path.relpath(p, root), st.st_size, st.st_mtime_ns])
        except OSError:  # broken links, unreadable entries: their name still counts
            rows.append([os.path.relpath(p, root), -1, -1])
    return rows


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest()[:16]


class _Cache:
    """One ``.npy`` + ``.json`` pair per folder/settings; older versions pruned.

    The JSON is written last and acts as the commit marker; both files are
    written to a temporary name and renamed, so a crash never leaves a
    half-written cache that looks valid.
    """

    def __init__(self, directory: Path, settings: dict, fingerprint: list):
        self.dir = directory
        self.prefix = _digest(settings)
        self.name = f"{self.prefix}-{_digest(fingerprint)}"
        self.settings = settings

    @property
    def npy(self) -> Path:
        return self.dir / f"{self.name}.npy"

    @property
    def meta(self) -> Path:
        return self.dir / f"{self.name}.json"

    def read(self, root: Path, source: str) -> ImageSet | None:
        """The cached set, or None when absent, stale or corrupt (then rebuilt)."""
        try:
            meta = json.loads(self.meta.read_text(encoding="utf-8"))
            if meta["name"] != self.name or meta["settings"] != self.settings:
                return None
            images = np.load(self.npy, allow_pickle=False)
            size = self.settings["size"]
            if images.dtype != np.uint8 or images.shape != (len(meta["paths"]), 3, size, size):
                return None
            return ImageSet(
                images=torch.from_numpy(np.ascontiguousarray(images)),
                captions=list(meta["captions"]),
                paths=[str(root / p) for p in meta["paths"]],
                skipped=[SkippedFile(str(root / p), r) for p, r in meta["skipped"]],
                source=source,
                total_files=int(meta["total_files"]),
            )
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return None  # missing or corrupt: decode again and overwrite

    def write(self, root: Path, found: ImageSet, warn) -> None:
        """Store ``found``; a full disk or read-only cache only costs a warning."""
        meta = {
            "name": self.name,
            "settings": self.settings,
            "paths": [os.path.relpath(p, root) for p in found.paths],
            "captions": found.captions,
            "skipped": [[os.path.relpath(s.path, root), s.reason] for s in found.skipped],
            "total_files": found.total_files,
        }
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._prune()
            atomic_save_npy(self.npy, found.images.numpy())
            atomic_write_bytes(self.meta, json.dumps(meta).encode("utf-8", "surrogatepass"))
        except OSError as e:
            warn(f"could not write the image cache in {self.dir} ({e}); continuing without it")

    def _prune(self) -> None:
        """Drop older caches of the same folder and settings (stale fingerprints)."""
        for old in self.dir.glob(f"{self.prefix}-*"):
            if old.stem != self.name:
                old.unlink(missing_ok=True)


# --------------------------------------------------------------------------- inspection


def inspect_folder(folder, size: int = 64, fit: str = "crop", max_pixels: int | None = DEFAULT_MAX_PIXELS) -> dict:
    """Facts about a folder for ``artforge data info`` (decodes every file, no cache).

    ``sizes`` are per dimension: ``min`` = [smallest width, smallest height].

    >>> inspect_folder("paintings")["formats"]             # doctest: +SKIP
    {'JPEG': 30, 'PNG': 12}
    """
    root = _existing_folder(folder)
    _check_args(size, fit)
    candidates, sidecars, skipped = _scan(root)
    captions_by_stem = _caption_lookup(sidecars)
    formats, modes, sizes, n_captions = Counter(), Counter(), [], 0
    for path in candidates:
        try:
            _pixels, meta = _decode_file(path, size, fit, (255, 255, 255), max_pixels)
        except BadImage as e:
            skipped.append(SkippedFile(str(path), e.reason))
            continue
        formats[meta["format"]] += 1
        modes[meta["mode"]] += 1
        sizes.append(meta["size"])
        n_captions += _read_caption(captions_by_stem.get((path.parent, path.stem))) is not None
    skipped.sort(key=lambda s: s.path)
    return {
        "folder": str(folder),
        "files": len(candidates),
        "usable": len(sizes),
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
        "formats": dict(formats.most_common()),
        "modes": dict(modes.most_common()),
        "sizes": _size_stats(sizes),
        "captions": n_captions,
    }


def _size_stats(sizes: list[list[int]]) -> dict | None:
    if not sizes:
        return None
    ws, hs = [w for w, _ in sizes], [h for _, h in sizes]
    return {
        "min": [min(ws), min(hs)],
        "max": [max(ws), max(hs)],
        "median": [int(statistics.median(ws)), int(statistics.median(hs))],
    }


def format_info(info: dict, max_skipped: int = 20) -> str:
    """Human-readable text of :func:`inspect_folder`'s result."""
    counts = lambda d: ", ".join(f"{k} {v:,}" for k, v in d.items()) or "-"  # noqa: E731
    lines = [
        f"folder:   {info['folder']}",
        f"files:    {info['files']:,} candidate files, {info['usable']:,} usable, {len(info['skipped']):,} skipped",
        f"formats:  {counts(info['formats'])}",
        f"modes:    {counts(info['modes'])}",
    ]
    if info["sizes"]:
        s = info["sizes"]
        dims = lambda k: f"{s[k][0]}x{s[k][1]}"  # noqa: E731
        lines.append(f"sizes:    min {dims('min')}, median {dims('median')}, max {dims('max')} (width, height)")
    lines.append(f"captions: {info['captions']:,} of {info['usable']:,} usable pictures have a .txt sidecar")
    if info["skipped"]:
        lines.append("skipped:")
        lines += [f"  {s['path']}: {s['reason']}" for s in info["skipped"][:max_skipped]]
        if len(info["skipped"]) > max_skipped:
            lines.append(f"  ... and {len(info['skipped']) - max_skipped:,} more")
    return "\n".join(lines)
