import pytest
import torch

from artforge.cli import main
from artforge.directions import (
    apply_edits,
    compute_directions,
    edit_strip,
    load_directions,
    parse_edits,
    save_directions,
)
from artforge.errors import ArtforgeError
from artforge.generate import load_model
from artforge.models import save_export
from tests.conftest import tiny_export


def _change(model, z, vectors):
    """Root-mean-square picture change when each latent moves by each vector."""
    before = model.decode(z)
    return torch.stack([(model.decode(z + v) - before).square().mean().sqrt() for v in vectors])


@pytest.mark.parametrize("family", ["dcgan", "vae", "fastgan", "pggan"])
def test_first_directions_change_pictures_more_than_random_ones_of_the_same_norm(tmp_path, family):
    model = load_model(tiny_export(tmp_path, family, latent_dim=64))  # random directions are random in 64-d
    found = compute_directions(model, k=3, samples=400)
    assert found.space == "z" and found.vectors.shape == (3, model.latent_dim)
    assert (found.explained[1:] <= found.explained[:-1]).all() and found.explained.sum() <= 1
    z = model.latents(16, torch.Generator().manual_seed(9))
    g = torch.Generator().manual_seed(1)
    random = torch.randn(8, model.latent_dim, generator=g)
    random = random / random.norm(dim=1, keepdim=True) * found.vectors[0].norm()
    # Even untrained networks show it (1.16–1.6× over two seeds of each family); trained ones far more
    # (bench/directions.py).
    assert _change(model, z, found.vectors[:1]) > 1.1 * _change(model, z, random).mean()


def test_stylegan_directions_are_principal_components_of_w(tmp_path):
    model = load_model(tiny_export(tmp_path, "stylegan"))
    found = compute_directions(model, k=4, samples=2000, method="pca")
    assert found.space == "w" and found.vectors.shape == (4, model.latent_dim)
    units = found.vectors / found.vectors.norm(dim=1, keepdim=True)
    torch.testing.assert_close(units @ units.T, torch.eye(4), atol=1e-4, rtol=0)
    w = model.sampler.mapping(torch.randn(4000, model.sampler.latent_dim))
    spread = ((w - w.mean(0)) @ units.T).std(0)  # σ along each component, measured on fresh samples
    torch.testing.assert_close(spread, found.vectors.norm(dim=1), rtol=0.1, atol=0)


def test_layer_edits_touch_only_those_layers(tmp_path):
    model = load_model(tiny_export(tmp_path, "stylegan"))
    found = compute_directions(model, k=2, samples=500)
    w = model.latents(2, torch.Generator().manual_seed(0))
    edited = apply_edits(model, w, found, [(0, 2.0), (1, -1.0)], layers=[0, 1])
    assert edited.shape == (2, model.num_ws, model.latent_dim)
    torch.testing.assert_close(edited[:, 2:], model.per_layer(w)[:, 2:])
    torch.testing.assert_close(edited[:, 0] - w, (2.0 * found.vectors[0] - found.vectors[1]).expand(2, -1))
    strip = edit_strip(model, w, found, 0, layers=[0, 1])
    assert strip.shape == (14, 3, 32, 32)


def test_directions_are_saved_with_the_model_hash(tmp_path):
    export = tiny_export(tmp_path / "m")
    model = load_model(export)
    found = compute_directions(model, k=2, samples=100)
    save_directions(model, found)
    again = load_directions(load_model(export))
    torch.testing.assert_close(again.vectors, found.vectors)
    torch.testing.assert_close(again.explained, found.explained)
    other = load_model(tiny_export(tmp_path / "o", seed=3))
    save_export(export, other.nets, other.config)  # the run trained on: new weights
    with pytest.raises(ArtforgeError, match="other weights"):
        load_directions(load_model(export))


def test_stylegan_directions_by_default_are_regressed_into_w(tmp_path):
    model = load_model(tiny_export(tmp_path, "stylegan"))
    found = compute_directions(model, k=2, samples=300)
    assert found.space == "w" and found.vectors.shape == (2, model.latent_dim)
    with pytest.raises(ArtforgeError, match="PCA of StyleGAN"):
        compute_directions(load_model(tiny_export(tmp_path / "d")), method="pca")


def test_edit_flags_are_checked():
    assert parse_edits("0:+3, 2:-1.5", 3) == [(0, 3.0), (2, -1.5)]
    for bad in ("0", "a:1", "5:1", ""):
        with pytest.raises(ArtforgeError, match="--edit"):
            parse_edits(bad, 3)


def test_directions_then_edits_on_the_command_line(tmp_path, capsys):
    export = tiny_export(tmp_path / "m")
    assert main(["generate", str(export), "--edit", "0:1", "-o", str(tmp_path / "g")]) == 2
    assert "artforge directions" in capsys.readouterr().err
    assert main(["directions", str(export), "-n", "3", "--samples", "200"]) == 0
    assert "explains" in capsys.readouterr().out
    assert sorted(p.name for p in (export / "directions").iterdir()) == [f"direction-0{i}.png" for i in range(3)]
    assert main(["generate", str(export), "-n", "2", "--edit", "0:+2,1:-1", "-o", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g" / "grid-seed0-edit0+2_1-1.png").is_file()
    assert main(["generate", str(export), "-n", "2", "--edit-strip", "2", "-o", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "seed0-direction2-strip.png").is_file()
    assert main(["generate", str(export), "--edit", "0:1", "--edit-layers", "0-1", "-o", str(tmp_path / "x")]) == 2
    assert "per-layer styles" in capsys.readouterr().err


def test_ddpm_directions_live_in_the_coarse_part_of_the_noise(tmp_path):
    model = load_model(tiny_export(tmp_path, "ddpm"))
    found = compute_directions(model, k=2, samples=300)
    assert found.vectors.shape == (2, 3 * 16 * 16) and torch.isfinite(found.vectors).all()
    blocks = found.vectors.view(2, 3, 8, 2, 8, 2)  # 8×8 blocks of 2×2 pixels at 16 px
    torch.testing.assert_close(blocks, blocks[..., :1, :, :1].expand_as(blocks))  # constant in each block


def test_models_without_a_latent_space_say_so(tmp_path, capsys):
    from artforge.models import create_model

    kw = dict(image_size=16, width=8, res_blocks=1)
    nets = create_model("cyclegan", parts=("g_ab", "g_ba"), **kw)
    export = save_export(tmp_path / "c", nets, {"model": "cyclegan", "model_kwargs": kw, "method": "cyclegan"})
    assert main(["directions", str(export)]) == 2
    assert main(["project", str(export), str(export / "config.json"), "-o", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("artforge: error") == 2
