from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artforge.errors import CheckpointError
from artforge.generate import find_export, generate, interpolate, load_model, slerp, walk_latents
from artforge.models import create_model, save_export
from artforge.pictures import read_png_metadata

KW = dict(image_size=16, latent_dim=8, width=8)


@pytest.fixture
def export(tmp_path):
    torch.manual_seed(0)
    nets = create_model("dcgan", parts=("generator",), **KW)
    return save_export(
        tmp_path / "model",
        nets,
        {"model": "dcgan", "model_kwargs": KW, "method": "gan", "method_kwargs": {}, "image_size": 16},
    )


def test_same_seed_same_pictures_and_metadata(export, tmp_path):
    model = load_model(export)
    a = generate(model, 5, seed=7, out=tmp_path / "a", truncation=0.7)
    b = generate(model, 5, seed=7, out=tmp_path / "b", truncation=0.7)
    c = generate(model, 5, seed=8, out=tmp_path / "c", truncation=0.7)
    assert [p.name for p in a] == [f"seed7-{i:04d}.png" for i in range(5)] + ["grid-seed7.png"]
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()
    assert Image.open(a[0]).tobytes() != Image.open(c[0]).tobytes()
    meta = read_png_metadata(a[3])
    assert meta["seed"] == 7 and meta["index"] == 3 and meta["truncation"] == 0.7 and meta["model_name"] == "dcgan"


def test_a_picture_is_the_latent_it_says(export, tmp_path):
    model = load_model(export)
    paths = generate(model, 4, seed=3, out=tmp_path, grid=False)
    z4 = model.latents(4, torch.Generator().manual_seed(3))
    z1 = model.latents(1, torch.Generator().manual_seed(3))
    single = generate(model, 1, seed=3, out=tmp_path / "one", grid=False)[0]
    # image 0 of seed 3 is the first latent of seed 3, whatever n was (up to 1/255 from batched float math)
    torch.testing.assert_close(z1[0], z4[0])
    a = np.asarray(Image.open(single), dtype=int)
    b = np.asarray(Image.open(paths[0]), dtype=int)
    assert np.abs(a - b).max() <= 1


def test_slerp_ends_and_norm():
    a, b = torch.randn(8), torch.randn(8)
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b, atol=1e-5, rtol=1e-5)
    mid = slerp(a / a.norm(), b / b.norm(), 0.5)
    assert abs(mid.norm().item() - 1) < 1e-5  # stays on the sphere, unlike a straight line


def test_walk_loops_back_and_interpolation_writes_animation(export, tmp_path):
    model = load_model(export)
    z = walk_latents(model, keys=3, frames_per_key=4, seed=0)
    assert z.shape == (12, 8)
    paths = interpolate(model, tmp_path, keys=3, frames_per_key=4, fps=8, display_size=32)
    gif = Image.open(paths[0])
    assert gif.n_frames == 12
    if len(paths) > 1:
        assert paths[1].suffix == ".mp4" and paths[1].stat().st_size > 1000


def test_find_export_accepts_run_folders_and_explains_mistakes(export, tmp_path):
    assert find_export(tmp_path) == export
    with pytest.raises(CheckpointError, match="no such model"):
        find_export(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="holds no artforge model"):
        find_export(tmp_path / "empty")


def test_the_walk_is_written_atomically_and_replaces_an_old_one(export, tmp_path, monkeypatch):
    import artforge.generate as gen_module

    model = load_model(export)
    walk = tmp_path / "walk"
    walk.mkdir()
    gif = walk / "interpolation-seed0.gif"
    gif.write_bytes(b"an older walk")
    written = []
    real = gen_module.atomic_write_bytes
    monkeypatch.setattr(gen_module, "atomic_write_bytes", lambda path, data: (written.append(path), real(path, data)))
    paths = interpolate(model, walk, keys=2, frames_per_key=3, fps=8, display_size=16)
    assert paths[0] == gif and written == [gif]
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 6
    assert [p.name for p in walk.iterdir() if p.name.startswith(".") or ".tmp" in p.name] == []


def test_a_failed_walk_keeps_the_old_animation(export, tmp_path, monkeypatch):
    import artforge.fileio as fileio

    model = load_model(export)
    walk = tmp_path / "walk"
    walk.mkdir()
    gif = walk / "interpolation-seed0.gif"
    gif.write_bytes(b"an older walk")

    def crash(*_):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        interpolate(model, walk, keys=2, frames_per_key=3, fps=8, display_size=16)
    assert gif.read_bytes() == b"an older walk"
    assert sorted(p.name for p in walk.iterdir()) == ["interpolation-seed0.gif"]


def test_sampling_flags_are_for_diffusion_models_only(export):
    from artforge.errors import ArtforgeError
    from artforge.generate import configure_sampling

    with pytest.raises(ArtforgeError, match="diffusion models"):
        configure_sampling(load_model(export), steps=10)


def test_mixing_and_walks_take_projected_w_plus_latents(tmp_path):
    from artforge.generate import parse_keys, style_mix
    from artforge.latents import save_latent
    from tests.conftest import tiny_export

    model = load_model(tiny_export(tmp_path / "m", "stylegan"))
    w_plus = model.per_layer(model.latents(1, torch.Generator().manual_seed(4)))
    w_plus[:, 3:] += 0.5  # a w+ no single w gives, as projection makes
    path = save_latent(tmp_path / "cat-latent.safetensors", w_plus, model, space="w+")
    paths = style_mix(model, "7", str(path), "0-1", tmp_path / "mix")
    assert paths[0].name == "mix-seed7-cat-layers0-1.png"
    keys = parse_keys(model, f"{path},2,3")
    assert keys.shape == (3, model.num_ws, model.latent_dim)  # seeds' w became w+ to walk with it
    torch.testing.assert_close(keys[0], w_plus[0])


def test_diffusion_seeds_are_ancestral_and_walks_keep_ddim(tmp_path):
    """Pictures from seeds: ancestral (issue 10's measured choice); walks, latent files, prompts: deterministic DDIM."""
    from artforge.cli import _plain_seeds, build_parser, main
    from artforge.pictures import read_png_metadata

    run = tmp_path / "ddpm"
    args = ["train", "builtin:shapes", "--model", "ddpm", "--size", "16", "--width", "8", "--n-builtin", "16"]
    args += ["--steps", "2", "--batch", "4", "--sample-steps", "2", "--out", str(run)]
    assert main([*args, "--no-progress", "--no-tensorboard"]) == 0

    def samplers(folder) -> set:
        return {read_png_metadata(p).get("sampler") for p in Path(folder).glob("*.png")}

    assert main(["generate", str(run), "-n", "2", "-o", str(tmp_path / "seeds")]) == 0
    assert samplers(tmp_path / "seeds") == {"ddpm"}
    assert main(["generate", str(run), "-n", "1", "--sampler", "eta=0.5", "-o", str(tmp_path / "a")]) == 0
    assert samplers(tmp_path / "a") == {"eta=0.5"}
    assert _plain_seeds(build_parser().parse_args(["generate", str(run), "-n", "4"]))
    for moved in (["--interpolate", "--keys", "1,2"], ["--latent", "a.safetensors"], ["--prompt", "a cat"]):
        assert not _plain_seeds(build_parser().parse_args(["generate", str(run), *moved]))
