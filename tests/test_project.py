import pytest
import torch
from PIL import Image

from artforge.cli import main
from artforge.errors import ArtforgeError
from artforge.generate import load_model
from artforge.latents import load_latent
from artforge.pictures import save_png, to_uint8
from artforge.project import PerceptualDistance, choose_space, project, project_pictures
from tests.conftest import tiny_export
from tests.methods.test_diffusion import _oracle_method


@pytest.fixture(scope="module")
def distance():
    return PerceptualDistance(size=64)


def _sample(model, seed):
    return model.decode(model.latents(1, torch.Generator().manual_seed(seed)))


@pytest.mark.parametrize("family", ["dcgan", "vae", "stylegan", "pggan", "fastgan"])
def test_projection_beats_where_it_starts(tmp_path, distance, family):
    model = load_model(tiny_export(tmp_path, family))
    target = _sample(model, 123)  # a picture the model can draw exactly: the search must get close
    start = project(model, target, distance, steps=1, candidates=64)
    result = project(model, target, distance, steps=60, candidates=64)
    assert result.space == ("w+" if family == "stylegan" else "z")
    assert result.perceptual < 0.7 * start.perceptual
    assert result.pixel_mse < start.pixel_mse
    torch.testing.assert_close(model.decode(result.latent), result.picture)  # the latent is the picture
    assert len(result.frames) >= 10


def test_a_gan_latent_stays_on_the_gaussian_shell(tmp_path, distance):
    model = load_model(tiny_export(tmp_path, latent_dim=128))  # in 128-d, Gaussian latents have mean z² ≈ 1 ± 0.13
    result = project(model, torch.zeros(1, 3, 16, 16), distance, steps=40, candidates=16)
    assert result.latent.square().mean().item() == pytest.approx(1.0, abs=0.3)


def test_stylegan_projects_into_w_on_request(tmp_path, distance):
    model = load_model(tiny_export(tmp_path, "stylegan"))
    result = project(model, _sample(model, 5), distance, steps=5, space="w")
    assert result.latent.shape == (1, model.latent_dim)
    with pytest.raises(ArtforgeError, match="does not apply"):
        choose_space(load_model(tiny_export(tmp_path / "d")), "w+")


def test_ddpm_projection_is_ddim_inversion(distance):
    method, mu = _oracle_method("v", sample_steps=50)
    method.config = {"model": "ddpm"}
    target = (mu + 0.2 * torch.randn(1, *mu.shape[1:], generator=torch.Generator().manual_seed(3))).clamp(-1, 1)
    result = project(method, target, distance)
    assert result.space == "noise" and result.latent.shape == (1, mu.numel())
    assert result.pixel_mse < 1e-3
    assert len(result.frames) == 51  # the picture, then every step of the way to noise


def test_project_pictures_writes_everything_and_skips_bad_files(tmp_path):
    model = load_model(tiny_export(tmp_path / "m"))
    pics = tmp_path / "pics"
    for i in range(2):
        save_png(Image.fromarray(to_uint8(_sample(model, i))[0]), pics / f"p{i}.png")
    (pics / "broken.png").write_bytes(b"not a picture")
    warnings = []
    results = project_pictures(model, [pics], tmp_path / "out", steps=3, warn=warnings.append)
    assert [r.source.name for r in results] == ["p0.png", "p1.png"]
    assert any("broken.png" in w for w in warnings)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    for stem in ("p0", "p1"):
        for suffix in ("-latent.safetensors", "-projected.png", "-compare.png", "-progress.gif"):
            assert stem + suffix in names
    torch.testing.assert_close(load_latent(results[0].latent_path, model), results[0].latent)
    with pytest.raises(ArtforgeError, match="no usable picture"):
        project_pictures(model, [pics / "broken.png"], tmp_path / "out2", steps=1, warn=warnings.append)


def test_project_then_generate_from_the_latent_on_the_command_line(tmp_path, capsys):
    export = tiny_export(tmp_path / "m")
    picture = tmp_path / "cat.png"
    Image.new("RGB", (40, 30), (200, 40, 40)).save(picture)
    assert main(["project", str(export), str(picture), "-o", str(tmp_path / "p"), "--steps", "3"]) == 0
    assert "perceptual distance" in capsys.readouterr().out
    latent = tmp_path / "p" / "cat-latent.safetensors"
    assert main(["generate", str(export), "--latent", str(latent), "-o", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g" / "cat-0000.png").is_file()
    keys = f"{latent},3"
    assert (
        main(["generate", str(export), "--interpolate", "--keys", keys, "--frames", "2", "-o", str(tmp_path / "w")])
        == 0
    )
    assert (tmp_path / "w" / "interpolation-keys.gif").is_file()
    assert main(["project", str(export), str(tmp_path / "nothing.png"), "-o", str(tmp_path / "p2")]) == 2
    assert "nothing.png: no such file or folder" in capsys.readouterr().err


def test_an_inverted_ddpm_picture_comes_back_with_the_steps_it_was_inverted_with(tmp_path):
    from artforge.generate import configure_sampling, key_latent

    export = tiny_export(tmp_path / "m", "ddpm")
    model = load_model(export)
    picture = tmp_path / "p.png"
    save_png(Image.fromarray(to_uint8(model.decode(model.latents(1, torch.Generator().manual_seed(1))))[0]), picture)
    configure_sampling(model, steps=6)
    result = project_pictures(model, [picture], tmp_path / "out")[0]
    fresh = load_model(export)  # sample_steps 4 in its config
    key_latent(fresh, str(result.latent_path))
    assert fresh.sample_steps == 6
    chosen = load_model(export)
    configure_sampling(chosen, steps=3)
    key_latent(chosen, str(result.latent_path))
    assert chosen.sample_steps == 3  # what the user asked for wins


@pytest.mark.parametrize(
    "flags",
    [
        ["--interpolate", "--edit", "0:1"],
        ["--mix", "1,2", "--latent", "x.safetensors"],
        ["--edit", "0:1", "--edit-strip", "0"],
        ["--latent", "x.safetensors", "-n", "4"],
    ],
)
def test_generate_flags_that_do_not_go_together_are_refused(tmp_path, capsys, flags):
    export = tiny_export(tmp_path / "m")
    assert main(["generate", str(export), *flags, "-o", str(tmp_path / "g")]) == 2
    assert "artforge: error" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
