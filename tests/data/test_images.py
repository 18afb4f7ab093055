"""Folder loading: what is used, what is skipped and why, colours, fits, cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from artforge.data import BadImage, format_info, inspect_folder, load_folder, load_image, scan_folder
from artforge.errors import DataError

from .conftest import (
    BACKGROUND,
    BAD_FILES,
    BLUE,
    BOMB_MAX_PIXELS,
    GOOD_FILES,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    RED,
    YELLOW,
    gradient16,
    halves,
    make_clean_folder,
    solid,
    swapped_primaries_icc,
    wide_bands,
    write_bomb_png,
)


def mean_rgb(chw: torch.Tensor | np.ndarray, rows=slice(None), cols=slice(None)) -> np.ndarray:
    """Mean colour of a region; accepts C x H x W tensors or H x W x C arrays."""
    a = chw.numpy().transpose(1, 2, 0) if isinstance(chw, torch.Tensor) else chw
    return a[rows, cols].reshape(-1, 3).astype(float).mean(axis=0)


def assert_colour(actual, expected, tol=8):
    assert np.abs(np.asarray(actual) - np.asarray(expected)).max() <= tol, (actual, expected)


def by_name(found, name: str) -> torch.Tensor:
    index = [Path(p).relative_to(found.source).as_posix() for p in found.paths].index(name)
    return found.images[index]


# --------------------------------------------------------------------------- what is used / skipped


def test_exactly_the_bad_files_are_skipped_with_reasons(messy_set, messy_folder):
    found, _ = messy_set
    skipped = {Path(s.path).name: s.reason for s in found.skipped}
    assert set(skipped) == set(BAD_FILES)
    for name, expected in BAD_FILES.items():
        if expected.endswith(":"):
            assert skipped[name].startswith(expected) and len(skipped[name]) > len(expected), skipped[name]
        else:
            assert skipped[name] == expected
    used = sorted(Path(p).relative_to(messy_folder).as_posix() for p in found.paths)
    assert used == sorted(GOOD_FILES)


def test_tensor_layout_and_summary(messy_set):
    found, _ = messy_set
    assert found.images.dtype == torch.uint8
    assert found.images.shape == (len(GOOD_FILES), 3, 32, 32)
    assert found.images.is_contiguous()
    assert len(found.captions) == len(found.paths) == len(found)
    assert found.total_files == len(GOOD_FILES) + len(BAD_FILES)
    assert found.summary() == "used 13 of 19 files; skipped 6"


def test_every_skip_is_reported_through_warn(messy_set):
    found, warnings = messy_set
    assert warnings == [f"skipped {s.path}: {s.reason}" for s in found.skipped]


def test_summary_uses_thousands_separators():
    from artforge.data import ImageSet, SkippedFile

    found = ImageSet(
        torch.zeros(1391, 3, 1, 1, dtype=torch.uint8),
        [None] * 1391,
        ["x"] * 1391,
        [SkippedFile("y", "empty file")] * 58,
        "f",
        1449,
    )
    assert found.summary() == "used 1,391 of 1,449 files; skipped 58"


def test_write_skipped(messy_set, tmp_path):
    found, _ = messy_set
    found.write_skipped(tmp_path / "skipped.txt")
    lines = (tmp_path / "skipped.txt").read_text(encoding="utf-8").splitlines()
    assert lines == [f"{s.path}\t{s.reason}" for s in found.skipped]
    assert any(line.endswith("\tempty file") and "empty.png" in line for line in lines)


def test_write_skipped_is_atomic(messy_set, tmp_path, monkeypatch):
    found, _ = messy_set
    target = tmp_path / "skipped.txt"
    target.write_text("the old list\n")
    real_replace, renamed = os.replace, []

    def failing_replace(src, dst):
        renamed.append(Path(dst))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        found.write_skipped(target)
    assert renamed == [target]  # written beside it, then renamed onto it
    assert target.read_text() == "the old list\n"  # a failed write leaves the old file whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skipped.txt"]  # and no temp file behind
    monkeypatch.setattr(os, "replace", real_replace)
    found.write_skipped(target)
    assert target.read_text().count("\n") == len(found.skipped)


def test_captions_from_sidecars(messy_set):
    found, _ = messy_set
    captions = {Path(p).name: c for p, c in zip(found.paths, found.captions)}
    assert captions["red.jpg"] == "a red square"
    assert captions["nested.png"] == "an orange square"  # BOM and whitespace stripped
    assert captions["green.bmp"] is None


# --------------------------------------------------------------------------- colours


@pytest.mark.parametrize(
    "name, colour",
    [
        ("red.jpg", RED),
        ("cmyk.jpg", (255, 0, 0)),
        ("blue.webp", BLUE),
        ("green.bmp", GREEN),
        ("purple.tiff", PURPLE),
        ("sub/nested.png", ORANGE),
        ("anim.gif", RED),  # first frame, not green
    ],
)
def test_solid_colours_survive(messy_set, name, colour):
    found, _ = messy_set
    assert_colour(mean_rgb(by_name(found, name)), colour)


def test_transparency_is_composited_on_background(messy_set):
    found, _ = messy_set
    rgba, la, pal = by_name(found, "rgba.png"), by_name(found, "la.png"), by_name(found, "palette.gif")
    assert_colour(mean_rgb(rgba, cols=slice(0, 12)), BACKGROUND)  # transparent green -> background
    assert_colour(mean_rgb(rgba, cols=slice(20, 32)), RED)  # opaque red stays red
    assert_colour(mean_rgb(la, cols=slice(0, 12)), GREY)
    assert_colour(mean_rgb(la, cols=slice(20, 32)), BACKGROUND)
    assert_colour(mean_rgb(pal, cols=slice(0, 12)), BACKGROUND)
    assert_colour(mean_rgb(pal, cols=slice(20, 32)), YELLOW)


def test_exif_orientation_is_applied(messy_set):
    found, _ = messy_set
    im = by_name(found, "exif.jpg")
    # Stored left red / right blue; orientation 6 turns it clockwise: red on top.
    assert_colour(mean_rgb(im, rows=slice(0, 12)), RED, tol=12)
    assert_colour(mean_rgb(im, rows=slice(20, 32)), BLUE, tol=12)


def test_big_jpeg_fast_path_keeps_orientation_and_colours(tmp_path):
    # 4000x2000 takes the libjpeg reduced-size decode (draft); EXIF still applies.
    exif = Image.Exif()
    exif[0x0112] = 6
    halves(RED, BLUE, size=(4000, 2000)).save(tmp_path / "big.jpg", quality=90, exif=exif.tobytes())
    im = load_image(tmp_path / "big.jpg", 32, fit="stretch")
    assert_colour(mean_rgb(im, rows=slice(0, 12)), RED, tol=12)
    assert_colour(mean_rgb(im, rows=slice(20, 32)), BLUE, tol=12)


def test_sixteen_bit_gradient_is_scaled_not_clipped(tmp_path):
    gradient16().save(tmp_path / "g.png")
    assert Image.open(tmp_path / "g.png").mode == "I;16"
    grey = load_image(tmp_path / "g.png", 256, fit="stretch")[8, :, 0].astype(int)
    assert grey[0] <= 2 and grey[-1] >= 253  # full range
    assert abs(grey[128] - 128) <= 2  # midpoint maps to mid grey (clipping would give 255)
    assert np.all(np.diff(grey) >= 0)


def test_float_and_one_bit_modes(tmp_path):
    Image.fromarray(np.full((8, 8), 0.5, dtype=np.float32)).save(tmp_path / "f.tiff")
    Image.new("1", (8, 8), 1).save(tmp_path / "one.png")
    assert_colour(load_image(tmp_path / "f.tiff", 8).mean(axis=(0, 1)), (128, 128, 128), tol=1)
    assert_colour(load_image(tmp_path / "one.png", 8).mean(axis=(0, 1)), (255, 255, 255), tol=0)


def test_embedded_icc_profile_is_honoured(tmp_path):
    solid((255, 0, 0)).save(tmp_path / "swapped.png", icc_profile=swapped_primaries_icc())
    solid(RED).save(tmp_path / "broken.png", icc_profile=b"not a profile")
    assert_colour(load_image(tmp_path / "swapped.png", 8).mean(axis=(0, 1)), (0, 0, 255), tol=3)
    assert_colour(load_image(tmp_path / "broken.png", 8).mean(axis=(0, 1)), RED, tol=0)


# --------------------------------------------------------------------------- fits


def test_fit_modes_on_a_wide_image(tmp_path):
    wide_bands().save(tmp_path / "wide.png")  # 80x40: green | red | blue
    crop = load_image(tmp_path / "wide.png", 32, fit="crop")
    pad = load_image(tmp_path / "wide.png", 32, fit="pad", background=(255, 255, 255))
    stretch = load_image(tmp_path / "wide.png", 32, fit="stretch")
    assert_colour(mean_rgb(crop, cols=slice(2, 30)), RED)  # the centre square is all red
    assert_colour(mean_rgb(pad, rows=slice(0, 7)), (255, 255, 255))  # letterbox bars
    assert_colour(mean_rgb(pad, rows=slice(25, 32)), (255, 255, 255))
    assert_colour(mean_rgb(pad, rows=slice(10, 22), cols=slice(0, 6)), GREEN)
    assert_colour(mean_rgb(stretch, cols=slice(0, 6)), GREEN)
    assert_colour(mean_rgb(stretch, cols=slice(12, 20)), RED)
    assert_colour(mean_rgb(stretch, cols=slice(26, 32)), BLUE)
    assert crop.shape == pad.shape == stretch.shape == (32, 32, 3)


def test_unknown_fit_is_a_data_error(tmp_path):
    make_clean_folder(tmp_path / "d", 1)
    with pytest.raises(DataError, match="unknown fit 'zoom'"):
        load_folder(tmp_path / "d", 16, fit="zoom", progress=False, warn=lambda m: None)


def test_downscale_is_antialiased(tmp_path):
    # One-pixel black/white stripes: a naive (nearest) downscale keeps pure black or
    # white; an antialiased one gives the average grey.
    stripes = np.zeros((256, 256, 3), np.uint8)
    stripes[:, ::2] = 255
    Image.fromarray(stripes).save(tmp_path / "s.png")
    small = load_image(tmp_path / "s.png", 16, fit="stretch")
    interior = small[1:-1, 1:-1].astype(int)  # the outermost column sees the image edge
    assert np.abs(interior - 128).max() <= 4


# --------------------------------------------------------------------------- bad files, one at a time


def test_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    write_bomb_png(tmp_path / "bomb.png", 12000, 12000)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded a bomb"))
    with pytest.raises(BadImage, match="12000x12000 pixels exceeds --max-pixels 10000000"):
        load_image(tmp_path / "bomb.png", 32, max_pixels=BOMB_MAX_PIXELS)


def test_big_but_allowed_image_loads_and_global_limit_is_restored(tmp_path):
    write_bomb_png(tmp_path / "big.png", 4000, 3000)  # 12 MP: over a 10 MP limit, under 20 MP
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(BadImage, match="decompression bomb"):
        load_image(tmp_path / "big.png", 8, max_pixels=10_000_000)
    assert load_image(tmp_path / "big.png", 8, max_pixels=20_000_000).max() == 0  # all black
    Image.MAX_IMAGE_PIXELS = 1_000_000  # even a strict global limit does not block an allowed image
    try:
        assert load_image(tmp_path / "big.png", 8, max_pixels=20_000_000).shape == (8, 8, 3)
    finally:
        Image.MAX_IMAGE_PIXELS = before
    assert Image.MAX_IMAGE_PIXELS == before


def test_known_unsupported_format_says_what_to_do(tmp_path):
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic" + bytes(64))
    with pytest.raises(BadImage, match="HEIC files are not supported; export as PNG or JPEG"):
        load_image(tmp_path / "IMG_0001.HEIC", 8)


def test_svg_is_sniffed_without_extension(tmp_path):
    (tmp_path / "logo.png").write_text('<?xml version="1.0"?>\n<svg xmlns="x"></svg>', encoding="utf-8")
    with pytest.raises(BadImage, match="SVG"):
        load_image(tmp_path / "logo.png", 8)


# --------------------------------------------------------------------------- folders and errors


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_folder(tmp_path / "nope", 32, progress=False)


def test_file_instead_of_folder(tmp_path):
    solid(RED).save(tmp_path / "a.png")
    with pytest.raises(DataError, match="not a folder"):
        load_folder(tmp_path / "a.png", 32, progress=False)


def test_folder_of_only_bad_files_is_one_line_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.jpg").write_bytes(b"")
    (tmp_path / "bad" / "b.png").write_text("hello")
    with pytest.raises(DataError) as info:
        load_folder(tmp_path / "bad", 32, progress=False, warn=lambda m: None)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"no usable image in {tmp_path / 'bad'}: 2 files skipped (e.g. ")
    assert "a.jpg: empty file" in message


def test_empty_folder(tmp_path):
    (tmp_path / "e").mkdir()
    with pytest.raises(DataError, match="no usable image"):
        load_folder(tmp_path / "e", 32, progress=False)


def test_scan_is_sorted_skips_hidden_and_survives_symlink_loops(tmp_path):
    root = tmp_path / "s"
    (root / "b" / ".git").mkdir(parents=True)
    (root / "b" / ".git" / "x.png").write_bytes(b"x")
    for name in ["b/z.png", "b/a.png", "c.png", "a.png"]:
        (root / name).write_bytes(b"x")
    (root / "a.txt").write_text("caption")
    (root / "b" / "loop").symlink_to(root, target_is_directory=True)
    (root / "dangling.png").symlink_to(root / "gone.png")
    candidates, skipped = scan_folder(root)
    assert [p.relative_to(root).as_posix() for p in candidates] == ["a.png", "c.png", "b/a.png", "b/z.png"]
    reasons = {Path(s.path).relative_to(root).as_posix(): s.reason for s in skipped}
    assert reasons["b/.git"] == "hidden folder"
    assert reasons["dangling.png"] == "broken symlink"
    assert "symlink" in reasons["b/loop"]


# --------------------------------------------------------------------------- inspect


def test_inspect_folder(messy_folder):
    info = inspect_folder(messy_folder, size=16, max_pixels=BOMB_MAX_PIXELS)
    assert info["files"] == len(GOOD_FILES) + len(BAD_FILES) - 1  # the hidden file is no candidate
    assert info["usable"] == len(GOOD_FILES)
    assert {s["path"].rsplit("/", 1)[-1] for s in info["skipped"]} == set(BAD_FILES)
    assert info["formats"] == {"PNG": 5, "JPEG": 3, "GIF": 2, "WEBP": 1, "BMP": 1, "TIFF": 1}
    assert info["modes"]["CMYK"] == 1 and info["modes"]["I;16"] == 1 and info["modes"]["LA"] == 1
    assert info["sizes"] == {"min": [40, 16], "max": [256, 40], "median": [40, 40]}
    assert info["captions"] == 2
    json.dumps(info)  # the CLI may print it as JSON
    text = format_info(info)
    assert "formats:  PNG 5, JPEG 3, GIF 2" in text
    assert "empty.png: empty file" in text
    assert "captions: 2 of 13" in text
