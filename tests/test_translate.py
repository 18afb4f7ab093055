"""artforge translate: files and folders in, translated PNGs with provenance out, bad pictures named and skipped."""

import numpy as np
import pytest
import torch
from PIL import Image

from artforge.cli import build_parser, main
from artforge.data.decode import load_image
from artforge.models import create_model, save_export
from artforge.pictures import read_png_metadata, to_uint8, to_unit
from artforge.translate import load_translator, translate, translation_size

KW = dict(image_size=16, width=4, res_blocks=1)


@pytest.fixture
def export(tmp_path):
    torch.manual_seed(0)
    nets = create_model("cyclegan", parts=("g_ab", "g_ba"), **KW)
    return save_export(
        tmp_path / "run" / "model",
        nets,
        {
            "model": "cyclegan",
            "model_kwargs": KW,
            "method": "cyclegan",
            "image_size": 16,
            "method_kwargs": {"loss": "lsgan", "cycle_weight": 10.0, "identity": 0.5, "pool_size": 50},
        },
    )


@pytest.fixture
def pictures(tmp_path):
    folder = tmp_path / "pics"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.png", "sub/b.jpg", "sub/a.png"):
        Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(folder / name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


def test_translates_folders_and_files_and_names_what_it_skips(export, pictures, tmp_path):
    model = load_translator(tmp_path / "run")
    single = tmp_path / "single.webp"
    Image.new("RGB", (12, 12), (200, 30, 30)).save(single)
    warnings = []
    paths = translate(
        model, [pictures, single, tmp_path / "missing.png"], direction="b2a", out=tmp_path / "out", warn=warnings.append
    )
    assert [p.name for p in paths] == ["a-b2a.png", "a-b2a-2.png", "b-b2a.png", "single-b2a.png"]  # sub/a, sub/b
    assert any("broken.png" in w and "truncated or corrupt" in w for w in warnings)
    assert any("missing.png" in w and "no such file" in w for w in warnings)
    meta = read_png_metadata(paths[0])
    assert meta["direction"] == "b2a" and meta["size"] == 16 and meta["source_image"] == str(pictures / "a.png")
    assert meta["model_name"] == "cyclegan"
    # the file holds the b2a generator's output for the fitted picture
    x = to_unit(torch.from_numpy(load_image(pictures / "a.png", 16)).permute(2, 0, 1)[None])
    expected = to_uint8(model.nets["g_ba"](x))[0]
    assert np.abs(np.asarray(Image.open(paths[0]), dtype=int) - expected.astype(int)).max() <= 1


def test_size_defaults_to_training_size_and_rounds_to_a_multiple_of_4(export, pictures, tmp_path):
    model = load_translator(export)
    assert (translation_size(model), translation_size(model, 30), translation_size(model, 9)) == (16, 32, 8)
    (path,) = translate(model, [pictures / "a.png"], out=tmp_path / "big", size=41)
    assert Image.open(path).size == (40, 40)


def test_cli_translate(export, pictures, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["translate", str(tmp_path / "run"), str(pictures), "--direction", "a2b", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "translated 3 pictures (a2b)" in captured.out and "broken.png" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["a-a2b-2.png", "a-a2b.png", "b-a2b.png"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["{run}", "{tmp}/pics/broken.png"], "no usable picture to translate"),
        (["{run}", "{tmp}/pics", "--size", "4"], "--size must be at least 8"),
        (["default", "{tmp}/pics"], "translate needs a model trained with --model cyclegan"),
        (["{tmp}/nowhere", "{tmp}/pics"], "no such model"),
    ],
)
def test_cli_mistakes_exit_2_with_one_line(args, message, export, pictures, tmp_path, capsys):
    argv = ["translate", *[a.format(run=tmp_path / "run", tmp=tmp_path) for a in args], "-o", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("artforge: error:") and message in err[-1], err


def test_translate_has_help(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["translate", "--help"])
    assert exc.value.code == 0 and "--direction" in capsys.readouterr().out
