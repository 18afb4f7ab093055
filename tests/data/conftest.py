"""Fixtures for the data tests: every picture is generated here, none committed."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

RED = (220, 20, 20)
GREEN = (20, 160, 40)
BLUE = (20, 40, 220)
YELLOW = (250, 220, 0)
ORANGE = (250, 140, 0)
PURPLE = (130, 40, 150)
GREY = (100, 100, 100)
BACKGROUND = (0, 0, 255)  # not white, so "composited on the background" is visible

# name -> expected reason (exact, or a prefix ending in ':')
BAD_FILES = {
    "empty.png": "empty file",
    "truncated.png": "truncated or corrupt image:",
    "photo.jpg": "not an image",
    "drawing.svg": "SVG is not supported (vector)",
    ".secret.png": "hidden file",
    "bomb.png": "decompression bomb: 12000x12000 pixels exceeds --max-pixels 10000000",
}
GOOD_FILES = [
    "anim.gif",
    "blue.webp",
    "cmyk.jpg",
    "exif.jpg",
    "gray16.png",
    "green.bmp",
    "la.png",
    "palette.gif",
    "purple.tiff",
    "red.jpg",
    "rgba.png",
    "sub/nested.png",
    "wide.png",
]
BOMB_MAX_PIXELS = 10_000_000


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Never let a test read or write the user's real cache."""
    monkeypatch.setenv("ARTFORGE_CACHE", str(tmp_path / "artforge-cache"))


def solid(colour, size=(40, 40), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def halves(left, right, size=(40, 40), mode="RGB") -> Image.Image:
    """Left half ``left``, right half ``right``."""
    im = Image.new(mode, size, left)
    im.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return im


def write_bomb_png(path: Path, width: int, height: int) -> None:
    """A valid all-black 1-bit PNG: huge in pixels, tiny on disk."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte + packed bits
    data = zlib.compress(row * height, 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def exif_rotated_jpeg(path: Path) -> None:
    """Stored 60x30, left red / right blue, EXIF orientation 6 (display rotated 90 deg clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    halves(RED, BLUE, size=(60, 30)).save(path, quality=95, exif=exif.tobytes())


def gradient16() -> Image.Image:
    """256x16 16-bit grey, 0 at the left edge to 65535 at the right."""
    row = np.linspace(0, 65535, 256).round().astype(np.uint16)
    return Image.fromarray(np.tile(row, (16, 1)))


def wide_bands() -> Image.Image:
    """80x40: green | red (centre 40 px) | blue."""
    im = Image.new("RGB", (80, 40), RED)
    im.paste(GREEN, (0, 0, 20, 40))
    im.paste(BLUE, (60, 0, 80, 40))
    return im


def write_good_files(root: Path) -> None:
    solid(RED).save(root / "red.jpg", quality=95)
    (root / "red.txt").write_text("a red square\n", encoding="utf-8")
    halves((0, 255, 0, 0), (*RED, 255), mode="RGBA").save(root / "rgba.png")  # left half fully transparent
    halves((GREY[0], 255), (GREY[0], 0), mode="LA").save(root / "la.png")  # right half transparent
    pal = Image.new("P", (40, 40), 0)
    pal.putpalette([0, 255, 0, *YELLOW] + [0] * (256 * 3 - 6))
    pal.paste(1, (20, 0, 40, 40))
    pal.save(root / "palette.gif", transparency=0)  # index 0 (left half) transparent
    solid(RED).save(root / "anim.gif", save_all=True, append_images=[solid(GREEN)], duration=100, loop=0)
    gradient16().save(root / "gray16.png")
    solid((0, 255, 255, 0), mode="CMYK").save(root / "cmyk.jpg", quality=95)  # pure red in CMYK
    solid(BLUE).save(root / "blue.webp", lossless=True)
    solid(GREEN).save(root / "green.bmp")
    solid(PURPLE).save(root / "purple.tiff")
    exif_rotated_jpeg(root / "exif.jpg")
    wide_bands().save(root / "wide.png")
    (root / "sub").mkdir()
    solid(ORANGE).save(root / "sub" / "nested.png")
    (root / "sub" / "nested.txt").write_text("\ufeff  an orange square \n\n", encoding="utf-8")
    (root / "notes.txt").write_text("a sidecar without a picture is ignored", encoding="utf-8")


def write_bad_files(root: Path) -> None:
    (root / "empty.png").write_bytes(b"")
    noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(root / "full.tmp.png")
    data = (root / "full.tmp.png").read_bytes()
    (root / "full.tmp.png").unlink()
    (root / "truncated.png").write_bytes(data[: len(data) // 2])
    (root / "photo.jpg").write_text("this is not a photo, just text\n", encoding="utf-8")
    (root / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', encoding="utf-8")
    solid(RED).save(root / ".secret.png")
    write_bomb_png(root / "bomb.png", 12000, 12000)


@pytest.fixture(scope="session")
def messy_folder(tmp_path_factory) -> Path:
    """Good files of every awkward kind plus every kind of bad file."""
    root = tmp_path_factory.mktemp("messy")
    write_good_files(root)
    write_bad_files(root)
    return root


@pytest.fixture(scope="session")
def messy_set(messy_folder, tmp_path_factory):
    """The messy folder loaded once at 32 px (crop) on a blue background, with the warnings."""
    from artforge.data import load_folder

    warnings: list[str] = []
    found = load_folder(
        messy_folder,
        32,
        background=BACKGROUND,
        max_pixels=BOMB_MAX_PIXELS,
        cache_dir=tmp_path_factory.mktemp("cache"),
        progress=False,
        warn=warnings.append,
    )
    return found, warnings


@pytest.fixture(scope="session")
def big_messy_folder(tmp_path_factory) -> Path:
    """The messy folder plus enough small pictures (some captioned) that decoding uses worker processes."""
    from artforge.data.images import POOL_MIN_FILES

    root = tmp_path_factory.mktemp("big-messy")
    write_good_files(root)
    write_bad_files(root)
    (root / "many").mkdir()
    for i in range(POOL_MIN_FILES):
        picture = halves((4 * i, 255 - 3 * i, 90), (200, 2 * i, 255 - i), size=(24 + i % 5, 20))
        picture.save(root / "many" / f"{i:03d}.png")
        if i % 7 == 0:
            (root / "many" / f"{i:03d}.txt").write_text(f"picture {i}", encoding="utf-8")
    (root / "many" / "050.png").write_bytes(b"")  # a bad file among the many, so compaction has gaps to close
    return root


def make_clean_folder(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        solid((40 * i, 100, 200)).save(root / f"img{i}.png")
    return root


def swapped_primaries_icc() -> bytes:
    """A minimal ICC v2 RGB profile whose red and blue primaries are swapped.

    Pure red in this profile *is* sRGB blue, so a loader that honours embedded
    profiles turns (255, 0, 0) into blue and one that ignores them keeps red.
    """

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    d50 = (0.9642, 1.0, 0.8249)
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    tags = [
        (b"wtpt", xyz(*d50)),
        (b"rXYZ", xyz(*blue)),
        (b"gXYZ", xyz(*green)),
        (b"bXYZ", xyz(*red)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + s15(d50[0])
        + s15(d50[1])
        + s15(d50[2])
    )
    header += b"\0" * (128 - len(header))
    return header + table + data
