import pytest
import torch
from safetensors.torch import save_file

from artforge.errors import ArtforgeError
from artforge.generate import load_model
from artforge.latents import load_latent, model_digest, read_latent_info, save_latent
from tests.conftest import tiny_export


def test_a_latent_round_trips_with_its_model_hash(tmp_path):
    model = load_model(tiny_export(tmp_path / "m"))
    z = torch.randn(3, 8)
    path = save_latent(tmp_path / "z.safetensors", z, model, space="z", source_image="cat.png", steps=5)
    info = read_latent_info(path)
    assert info["model_sha256"] == model_digest(model) and len(info["model_sha256"]) == 64
    assert info["space"] == "z" and info["source_image"] == "cat.png" and info["steps"] == "5"
    torch.testing.assert_close(load_latent(path, model), z)


def test_a_latent_of_other_weights_or_shape_is_refused(tmp_path):
    model = load_model(tiny_export(tmp_path / "m", seed=0))
    other = load_model(tiny_export(tmp_path / "o", seed=1))
    path = save_latent(tmp_path / "z.safetensors", torch.randn(1, 8), other, space="z")
    with pytest.raises(ArtforgeError, match="made for other weights"):
        load_latent(path, model)
    wrong = save_latent(tmp_path / "w.safetensors", torch.randn(1, 5), model, space="z")
    with pytest.raises(ArtforgeError, match=r"shape \(5,\)"):
        load_latent(wrong, model)


@pytest.mark.parametrize("content", [b"not safetensors at all", None])
def test_files_that_are_not_latents_are_refused(tmp_path, content):
    model = load_model(tiny_export(tmp_path / "m"))
    path = tmp_path / "x.safetensors"
    if content is None:
        save_file({"latent": torch.zeros(1, 8)}, str(path))  # safetensors, but not artforge's
    else:
        path.write_bytes(content)
    with pytest.raises(ArtforgeError, match="not .*latent file"):
        load_latent(path, model)
    with pytest.raises(ArtforgeError, match="no such latent file"):
        load_latent(tmp_path / "missing.safetensors", model)
