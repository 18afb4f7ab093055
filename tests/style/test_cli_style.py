"""`artforge style` end to end on tiny pictures, and its one-line errors."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from artforge.cli import STYLE_ACTIONS, build_parser, main, route_style_action
from artforge.pictures import read_png_metadata

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ["--image-size", "40", "--iterations", "4", "--backbone", "effnet-lite0", "--no-progress"]


def test_style_help(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["style", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "--style-blend-weights" in out and "--original-colors" in out and "--fast" in out


def test_style_end_to_end(picture_files, tmp_path, capsys):
    f = picture_files
    out = tmp_path / "out.png"
    code = main(
        [
            "style",
            str(f / "content.png"),
            str(f / "style.png"),
            str(f / "style2.png"),
            "-o",
            str(out),
            "--style-blend-weights",
            "3,1",
            "--save-every",
            "2",
            "--report",
            "--original-colors",
            *TINY,
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "style progress" in printed and "content unchanged" in printed
    with Image.open(out) as im:
        assert im.size == (40, 27)
    meta = read_png_metadata(out)
    assert meta["method"] == "gatys" and meta["config"]["style_blend_weights"] == [3.0, 1.0]
    assert meta["config"]["original_colors"] == "luminance"
    assert (tmp_path / "out-00002.png").is_file() and (tmp_path / "out-00004.png").is_file()


def test_style_with_mask_pixel_alpha_and_tiles(picture_files, tmp_path):
    f = picture_files
    out = tmp_path / "masked.png"
    assert (
        main(
            [
                "style",
                str(f / "content.png"),
                str(f / "style.png"),
                "-o",
                str(out),
                "--mask",
                str(f / "mask.png"),
                "--alpha",
                "0.5",
                "--alpha-mode",
                "pixel",
                "--tile",
                "--tile-size",
                "64",
                *TINY,
            ]
        )
        == 0
    )
    assert out.is_file()


def test_fast_calls_adain_when_it_is_there(picture_files, tmp_path):
    adain = pytest.importorskip("artforge.style.adain")
    if not adain.ASSET.is_dir():
        pytest.skip("no shipped AdaIN decoder yet")
    out = tmp_path / "fast.png"
    assert (
        main(
            [
                "style",
                str(picture_files / "content.png"),
                str(picture_files / "style.png"),
                "-o",
                str(out),
                "--fast",
                "--image-size",
                "48",
                "--no-progress",
            ]
        )
        == 0
    )
    assert read_png_metadata(out)["method"] == "adain"


@pytest.mark.parametrize(
    "args,message",
    [
        (["/no/such.png", "{style}"], "no such file"),
        (["{content}", "{broken}"], "cannot use"),
        (["{content}", "{notes}"], "not an image"),
        (["{content}", "{style}", "--style-layers", "relu9_9"], "bad layer name"),
        (["{content}", "{style}", "--backbone", "resnet"], "unknown style backbone"),
        (["{content}", "{style}", "--style-blend-weights", "1,2"], "one per style image"),
        (["{content}", "{style}", "--mask", "/no/mask.png"], "no such file"),
        (["{content}", "{style}", "--alpha", "2"], "--alpha"),
        (["{content}", "{style}", "--init", "/no/init.png"], "--init"),
        (["{content}", "{style}", "-o", "{tmp}/out.jpg"], ".png"),
        (["{folder}", "{style}"], "is a folder"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(args, message, picture_files, tmp_path, capsys):
    names = dict(
        content=picture_files / "content.png",
        style=picture_files / "style.png",
        broken=picture_files / "broken.png",
        notes=picture_files / "notes.txt",
        tmp=tmp_path,
        folder=picture_files,
    )
    argv = ["style", *TINY, *[a.format(**names) for a in args]]  # the case's own flags come last and win
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "x.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("artforge: error:") and message in err[0], err


def test_style_actions_are_routed_to_their_own_command(monkeypatch):
    """`artforge style train-adain ...` becomes the hidden command `style-train-adain ...`."""
    monkeypatch.setattr("artforge.cli.STYLE_ACTIONS", STYLE_ACTIONS | {"train-adain"})
    assert route_style_action(["style", "train-adain", "x"]) == ["style-train-adain", "x"]
    assert route_style_action(["style", "photo.jpg", "art.jpg"]) == ["style", "photo.jpg", "art.jpg"]


def test_png_metadata_is_plain_json():
    from artforge.style.gatys import GatysConfig
    from artforge.style.run import style_metadata

    meta = style_metadata("a.png", ["b.png"], None, GatysConfig(), fast=False)
    assert json.loads(json.dumps(meta))["config"]["content_layers"] is None


def test_train_adain_from_the_command_line_then_use_it_with_fast(tmp_path, capsys):
    from artforge.data.builtin import make_shapes

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, pic in enumerate(make_shapes(6, 48, seed=4)[0]):
        Image.fromarray(pic).save(photos / f"{i}.png")
    decoder = tmp_path / "adain"
    assert (
        main(
            [
                "style",
                "train-adain",
                "--content",
                str(photos),
                "--style",
                "builtin:paintings",
                "--out",
                str(decoder),
                "--steps",
                "3",
                "--batch",
                "2",
                "--size",
                "32",
                "--crop",
                "32",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "decoder in" in capsys.readouterr().out
    out = tmp_path / "fast.png"
    assert (
        main(
            [
                "style",
                str(photos / "0.png"),
                str(photos / "1.png"),
                "--fast",
                "--adain",
                str(decoder),
                "-o",
                str(out),
                "--image-size",
                "32",
                "--no-progress",
            ]
        )
        == 0
    )
    assert read_png_metadata(out)["method"] == "adain"
    assert (
        main(
            [
                "style",
                "train-adain",
                "--content",
                str(tmp_path / "nothing"),
                "--style",
                "builtin:paintings",
                "--out",
                str(tmp_path / "x"),
                "--steps",
                "1",
            ]
        )
        == 2
    )
