"""`artforge style sheet`: one photo in many styles."""

from __future__ import annotations

import pytest
from PIL import Image

from artforge.cli import main
from artforge.errors import ArtforgeError
from artforge.pictures import read_png_metadata
from artforge.style.sheet import BUILTIN_COUNT, builtin_styles, style_sheet

pytestmark = pytest.mark.usefixtures("one_thread")


def test_builtin_styles_are_deterministic_and_distinct():
    a, b = builtin_styles(3, 32), builtin_styles(3, 32)
    assert [n for n, _ in a] == [n for n, _ in b] and all((x - y).abs().max() == 0 for (_, x), (_, y) in zip(a, b))
    assert (a[0][1] - a[1][1]).abs().mean() > 0.05


def test_sheet_with_files_skips_a_broken_one(picture_files, tmp_path):
    f = picture_files
    out = tmp_path / "sheet.png"
    summary = style_sheet(
        f / "content.png", [str(f / "style.png"), str(f / "broken.png"), str(f / "style2.png")], out, size=64
    )
    assert summary["styles"] == [str(f / "style.png"), str(f / "style2.png")]
    assert len(summary["skipped"]) == 1 and "broken.png" in summary["skipped"][0]
    with Image.open(out) as im:
        assert im.width > 2 * 64 and im.height > 64  # 3 cells: 2 columns × 2 rows
    assert read_png_metadata(out)["styles"] == summary["styles"]


def test_sheet_cells_differ_by_style(picture_files, tmp_path):
    import numpy as np

    f = picture_files
    out = tmp_path / "row.png"
    style_sheet(f / "content.png", [str(f / "style.png"), str(f / "style2.png")], out, size=64, columns=3)
    sheet = np.asarray(Image.open(out)).astype(float)
    cells = [sheet[6:40, 6 + i * 70 : 6 + i * 70 + 40] for i in range(3)]  # 64x43 cells with 6 px gaps
    assert np.abs(cells[1] - cells[2]).mean() > 5 and np.abs(cells[0] - cells[1]).mean() > 5


def test_errors(picture_files, tmp_path):
    f = picture_files
    with pytest.raises(ArtforgeError, match="none of the style pictures"):
        style_sheet(f / "content.png", [str(f / "broken.png")], tmp_path / "s.png", size=64)
    with pytest.raises(ArtforgeError, match=".png"):
        style_sheet(f / "content.png", None, tmp_path / "s.jpg", size=64)
    with pytest.raises(ArtforgeError, match="no such file"):
        style_sheet(f / "missing.png", None, tmp_path / "s.png", size=64)


def test_cli_sheet_builtin(picture_files, tmp_path, capsys):
    out = tmp_path / "cli.png"
    assert main(["style", "sheet", str(picture_files / "content.png"), "-o", str(out), "--size", "64"]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and f"{BUILTIN_COUNT} styles" in text and "builtin:paintings/0 swirls" in text
