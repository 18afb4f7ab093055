"""The one entry point: built-ins or folders, prepare, colour parsing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artforge.data import make_shapes, open_source, parse_color, prepare
from artforge.errors import DataError

from .conftest import RED, make_clean_folder, solid


def quiet(**kw):
    return dict(progress=False, warn=lambda m: None, **kw)


def test_builtin_shapes_source():
    found = open_source("builtin:shapes", 24, n_builtin=12, seed=5)
    expected, captions = make_shapes(12, 24, seed=5)
    assert found.images.shape == (12, 3, 24, 24) and found.images.dtype == torch.uint8
    assert found.images.is_contiguous()
    assert np.array_equal(found.images.permute(0, 2, 3, 1).numpy(), expected)
    assert found.captions == captions
    assert found.paths[:2] == ["builtin:shapes#0", "builtin:shapes#1"]
    assert found.source == "builtin:shapes" and found.skipped == []
    assert found.summary() == "used 12 of 12 files; skipped 0"


def test_builtin_glyphs_source():
    found = open_source("builtin:glyphs", 16, n_builtin=10)
    assert found.images.shape == (10, 3, 16, 16)
    assert all(c.startswith(("letter ", "digit ")) for c in found.captions)


def test_unknown_builtin_lists_known_ones():
    with pytest.raises(DataError, match="known: builtin:glyphs, builtin:paintings, builtin:shapes"):
        open_source("builtin:mnist", 32)


def test_folder_source_with_colour_name(tmp_path):
    halves = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    halves.paste((*RED, 255), (10, 0, 20, 20))
    halves.save(tmp_path / "a.png")
    found = open_source(str(tmp_path), 16, background="black", cache_dir=tmp_path / "c", **quiet())
    left = found.images[0, :, :, :5].float().mean(dim=(1, 2))
    assert left.max() < 3  # transparent -> black
    assert found.source == str(tmp_path)


def test_prepare_writes_numbered_pngs_captions_and_skipped(tmp_path):
    src = make_clean_folder(tmp_path / "src", 3)
    (src / "img2.txt").write_text("the last one")
    (src / "broken.png").write_bytes(b"")
    out = tmp_path / "out"
    found = prepare(str(src), out, 16, cache_dir=tmp_path / "c", **quiet())
    written = sorted(p.name for p in out.iterdir())
    assert written == ["000000.png", "000001.png", "000002.png", "000002.txt", "skipped.txt"]
    for i in range(3):
        back = np.asarray(Image.open(out / f"{i:06d}.png"))
        assert np.array_equal(back, found.images[i].permute(1, 2, 0).numpy())
    assert (out / "000002.txt").read_text() == "the last one\n"
    assert (out / "skipped.txt").read_text() == f"{src / 'broken.png'}\tempty file\n"


def test_prepare_writes_every_file_atomically(tmp_path, monkeypatch):
    src = make_clean_folder(tmp_path / "src", 2)
    (src / "img1.txt").write_text("second")
    (src / "broken.png").write_bytes(b"")
    real_replace, renamed = os.replace, []

    def recording_replace(tmp, dst):
        renamed.append(Path(dst).name)
        return real_replace(tmp, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    prepare(str(src), tmp_path / "out", 16, cache_dir=False, **quiet())
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["000000.png", "000001.png", "000001.txt", "skipped.txt"]
    assert sorted(renamed) == written  # each one was written beside its name and renamed onto it


def test_prepare_interrupted_leaves_no_half_png(tmp_path, monkeypatch):
    src = make_clean_folder(tmp_path / "src", 3)
    real_replace, calls = os.replace, []

    def dying_replace(tmp, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_replace(tmp, dst)

    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        prepare(str(src), tmp_path / "out", 16, cache_dir=False, **quiet())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["000000.png"]  # whole files only, no temp
    assert Image.open(tmp_path / "out" / "000000.png").size == (16, 16)
    # what a kill -9 mid-write would leave; --overwrite clears it with the rest
    (tmp_path / "out" / ".000001.png.0badc0de.tmp").write_bytes(b"half a png")
    monkeypatch.undo()
    prepare(str(src), tmp_path / "out", 16, cache_dir=False, overwrite=True, **quiet())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["000000.png", "000001.png", "000002.png"]


def test_open_source_and_prepare_pass_workers_on(tmp_path, monkeypatch):
    import artforge.data.sources as sources_mod

    seen, real = [], sources_mod.load_folder

    def recording(*args, **kwargs):
        seen.append(kwargs["workers"])
        return real(*args, **kwargs)

    monkeypatch.setattr(sources_mod, "load_folder", recording)
    folder = make_clean_folder(tmp_path / "src", 1)
    open_source(str(folder), 8, cache_dir=False, workers=2, **quiet())
    prepare(str(folder), tmp_path / "out", 8, cache_dir=False, workers=3, **quiet())
    assert seen == [2, 3]


def test_prepare_refuses_non_empty_folder_and_overwrite_keeps_foreign_files(tmp_path):
    src = make_clean_folder(tmp_path / "src", 2)
    out = tmp_path / "out"
    out.mkdir()
    for name in ["000000.png", "000007.png", "000007.txt", "skipped.txt"]:
        solid(RED).save(out / "x.png")
        (out / "x.png").rename(out / name)
    (out / "mine.jpg").write_bytes(b"keep me")
    with pytest.raises(DataError, match="not empty"):
        prepare(str(src), out, 8, cache_dir=tmp_path / "c", **quiet())
    prepare(str(src), out, 8, cache_dir=tmp_path / "c", overwrite=True, **quiet())
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png", "mine.jpg"]


def test_prepare_builtin(tmp_path):
    found = prepare("builtin:shapes", tmp_path / "out", 16, n_builtin=3)
    assert len(list((tmp_path / "out").glob("*.png"))) == 3
    assert (tmp_path / "out" / "000001.txt").read_text().strip() == found.captions[1]


@pytest.mark.parametrize(
    "text, rgb",
    [
        ("white", (255, 255, 255)),
        ("black", (0, 0, 0)),
        ("#ff8800", (255, 136, 0)),
        ("#F80", (255, 136, 0)),
        ("255,136,0", (255, 136, 0)),
        (" 255, 136 , 0 ", (255, 136, 0)),
        ("DarkBlue", (0, 0, 139)),
    ],
)
def test_parse_color(text, rgb):
    assert parse_color(text) == rgb


@pytest.mark.parametrize("text", ["", "blurple", "#12345", "256,0,0", "1,2", "-1,0,0", "1,2,3,4"])
def test_parse_color_rejects(text):
    with pytest.raises(DataError, match="bad colour"):
        parse_color(text)
