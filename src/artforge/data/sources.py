"""One entry point for training data: a folder of pictures or a built-in set.

Example::

    >>> ds = open_source("builtin:shapes", size=32, n_builtin=16)
    >>> ds.images.shape
    torch.Size([16, 3, 32, 32])
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageColor

from artforge.data.builtin import BUILTINS
from artforge.data.decode import DEFAULT_MAX_PIXELS
from artforge.data.images import (
    ImageSet,
    SkippedFile,
    check_size_and_fit,
    load_folder,
    print_to_stderr,
)
from artforge.errors import DataError
from artforge.fileio import atomic_write_bytes
from artforge.pictures import save_png

BUILTIN_PREFIX = "builtin:"
_PREPARED_NAME = re.compile(r"^\d{6}\.(png|txt)$")
# the temp file of a write that a crash interrupted (artforge.fileio: ".NAME.RANDOM.tmp")
_PREPARED_TEMP = re.compile(r"^\.(\d{6}\.(png|txt)|skipped\.txt)\..+\.tmp$")


def open_source(
    src: str,
    size: int,
    fit: str = "crop",
    background=(255, 255, 255),
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    n_builtin: int = 2000,
    seed: int = 0,
    cache_dir=None,
    progress: bool = True,
    warn: Callable[[str], None] = print_to_stderr,
    workers: int | None = None,
) -> ImageSet:
    """``"builtin:shapes"``, ``"builtin:glyphs"`` or a folder path -> :class:`ImageSet`.

    ``background`` may be an (r, g, b) tuple or any text :func:`parse_color`
    accepts.  Built-ins are drawn at ``size`` directly (``fit``, ``background``,
    ``workers`` and the cache do not apply); ``n_builtin`` and ``seed`` choose how
    many and which.  A folder is decoded by ``workers`` processes the first time
    (see :func:`~artforge.data.images.load_folder`).

    >>> open_source("builtin:glyphs", 32, n_builtin=8).captions[0]     # doctest: +SKIP
    'letter A, DejaVu Sans Bold'
    """
    if isinstance(background, str):
        background = parse_color(background)
    src = str(src)
    if src.startswith(BUILTIN_PREFIX):
        return _open_builtin(src, size, fit, n_builtin, seed)
    return load_folder(src, size, fit, background, max_pixels, cache_dir, progress, warn, workers=workers)


@dataclasses.dataclass
class DomainPair:
    """Two picture sets for unpaired translation (CycleGAN): nothing links ``a[i]`` to ``b[i]``."""

    a: ImageSet
    b: ImageSet

    def __len__(self) -> int:
        return len(self.a) + len(self.b)

    @property
    def skipped(self) -> list[SkippedFile]:
        return self.a.skipped + self.b.skipped

    def summary(self) -> str:
        return f"domain A ({self.a.source}): {self.a.summary()}; domain B ({self.b.source}): {self.b.summary()}"

    def write_skipped(self, path) -> None:
        ImageSet(torch.empty(0), [], [], self.skipped).write_skipped(path)


def open_domains(domain_a: str, domain_b: str, size: int, seed: int = 0, **kwargs) -> DomainPair:
    """Open both domains of a translation task; ``kwargs`` are :func:`open_source`'s.

    A problem names its domain, e.g. ``domain B (--domain-b): no such folder: photoz``.
    Two built-in domains are drawn with different seeds, so ``builtin:shapes`` twice
    still gives two different sets.

    >>> pair = open_domains("builtin:shapes", "builtin:glyphs", 32, n_builtin=8)   # doctest: +SKIP
    >>> len(pair.a), len(pair.b)                                                   # doctest: +SKIP
    (8, 8)
    """
    sets = []
    for label, src, offset in (("A", domain_a, 0), ("B", domain_b, 1)):
        try:
            sets.append(open_source(src, size, seed=seed + offset, **kwargs))
        except DataError as exc:
            raise DataError(f"domain {label} (--domain-{label.lower()}): {exc}") from exc
    return DomainPair(*sets)


def _open_builtin(src: str, size: int, fit: str, n: int, seed: int) -> ImageSet:
    name = src[len(BUILTIN_PREFIX) :]
    if name not in BUILTINS:
        known = ", ".join(BUILTIN_PREFIX + k for k in sorted(BUILTINS))
        raise DataError(f"unknown built-in data set {src!r}; known: {known}")
    check_size_and_fit(size, fit)
    if n < 1:
        raise DataError(f"the number of built-in pictures must be at least 1, got {n}")
    array, captions = BUILTINS[name](n, size, seed)
    return ImageSet(
        images=torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2))),
        captions=list(captions),
        paths=[f"{src}#{i}" for i in range(len(array))],
        skipped=[],
        source=src,
        total_files=len(array),
    )


def prepare(
    src: str,
    out_dir,
    size: int,
    fit: str = "crop",
    background=(255, 255, 255),
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    n_builtin: int = 2000,
    seed: int = 0,
    cache_dir=None,
    progress: bool = True,
    warn: Callable[[str], None] = print_to_stderr,
    overwrite: bool = False,
    workers: int | None = None,
) -> ImageSet:
    """Write every usable picture of ``src`` as ``out_dir/000000.png`` (+ ``.txt`` caption).

    Also writes ``out_dir/skipped.txt`` when files were skipped.  A non-empty
    ``out_dir`` is refused unless ``overwrite`` (then only files this function
    writes are replaced; nothing else there is touched).  Every file is written
    crash-safely (temp file + rename), so an interrupted run leaves no half PNG.

    >>> prepare("scans", "scans_64", 64, fit="pad").summary()          # doctest: +SKIP
    'used 120 of 125 files; skipped 5'
    """
    out = Path(out_dir)
    _check_out_dir(out, overwrite)  # before the long decode, not after it
    found = open_source(
        src, size, fit, background, max_pixels, n_builtin, seed, cache_dir, progress, warn, workers=workers
    )
    _clear_out_dir(out)
    for i, (pixels, caption) in enumerate(zip(found.images, found.captions)):
        save_png(Image.fromarray(pixels.permute(1, 2, 0).numpy()), out / f"{i:06d}.png")  # atomic
        if caption is not None:
            atomic_write_bytes(out / f"{i:06d}.txt", (caption + "\n").encode("utf-8"))
    if found.skipped:
        found.write_skipped(out / "skipped.txt")
    return found


def _check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse to mix new pictures into an old, unrelated folder."""
    if out.exists() and not out.is_dir():
        raise DataError(f"output path exists and is not a folder: {out}")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DataError(f"output folder {out} is not empty; choose a new or empty folder")


def _clear_out_dir(out: Path) -> None:
    """Create ``out`` and remove what an earlier prepare wrote there, nothing else."""
    out.mkdir(parents=True, exist_ok=True)
    for p in out.iterdir():  # only our own files, so a wrong --out cannot wipe a folder
        if p.is_file() and (_PREPARED_NAME.match(p.name) or _PREPARED_TEMP.match(p.name) or p.name == "skipped.txt"):
            p.unlink()


def parse_color(text: str) -> tuple[int, int, int]:
    """``"white"``, ``"#ff8800"``, ``"#f80"``, ``"255,136,0"`` -> ``(255, 136, 0)``.

    >>> parse_color("255, 136, 0")
    (255, 136, 0)
    """
    s = str(text).strip()
    if re.fullmatch(r"\d+\s*,\s*\d+\s*,\s*\d+", s):
        rgb = tuple(int(v) for v in s.split(","))
        if all(0 <= v <= 255 for v in rgb):
            return rgb
    else:
        try:
            return tuple(ImageColor.getrgb(s)[:3])
        except ValueError:
            pass
    raise DataError(f"bad colour {text!r}: use a name (white), #rrggbb or R,G,B with values 0-255")
