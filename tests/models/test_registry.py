import json

import pytest
import torch

from artforge.errors import ArtforgeError, CheckpointError
from artforge.models import create_model, list_models, load_export, save_export
from artforge.models.layers import FastDropout

TINY = {
    "dcgan-seed": dict(image_size=64, latent_dim=8),
    "dcgan": dict(image_size=16, latent_dim=8, width=8),
    "vae": dict(image_size=16, latent_dim=8, width=8),
    "cyclegan": dict(image_size=16, width=8, res_blocks=1),
    "adain": dict(encoder="effnet-lite0", width=4),
    "fastgan": dict(image_size=32, latent_dim=8, width=4),
    "pggan": dict(image_size=16, latent_dim=8, width=4, max_width=8),
    "stylegan": dict(image_size=32, latent_dim=8, width=4, max_width=8, mapping_layers=1),
    "ddpm": dict(image_size=16, width=8),
}
# cyclegan translates pictures (tests/models/test_cyclegan.py); adain decodes features (tests/models/test_adain.py)
SAMPLERS = sorted(k for k in TINY if k not in ("cyclegan", "adain"))
UNBOUNDED = {"pggan", "stylegan"}  # linear toRGB outputs, no tanh (as in both papers); sampling clamps them


def test_every_registered_model_has_a_tiny_config():
    assert set(list_models()) == set(TINY)


def _sampler_part(nets) -> str:
    return next(p for p in ("generator", "vae", "unet") if p in nets)


def _sample(nets, kw, latents=None):
    """Pictures from the sampling network (the UNet: one denoising prediction)."""
    if "unet" in nets:
        size = kw["image_size"]
        x = latents if latents is not None else torch.randn(3, 3 * size * size)
        return nets["unet"](x.view(-1, 3, size, size), torch.arange(x.size(0)) * 400)
    net = nets[_sampler_part(nets)]
    return net(latents if latents is not None else torch.randn(3, kw["latent_dim"]))


@pytest.mark.parametrize("name", SAMPLERS)
def test_forward_backward_shapes(name):
    kw = TINY[name]
    torch.manual_seed(0)
    nets = create_model(name, **kw)
    x = _sample(nets, kw)
    assert x.shape == (3, 3, kw["image_size"], kw["image_size"])
    assert name in UNBOUNDED or (x.min() >= -1 and x.max() <= 1)
    if "discriminator" in nets:
        logits = nets["discriminator"](x)
        assert logits.shape == (3,)
        logits.sum().backward()
        grads = [p.grad for p in nets["generator"].parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)
    elif "unet" in nets:
        (x - 1).square().mean().backward()  # towards a target: the zero-initialised output layer learns
        assert nets["unet"].conv_out.weight.grad.abs().sum() > 0
    else:
        mu, logvar = nets["vae"].encode(x.detach())
        assert mu.shape == logvar.shape == (3, kw["latent_dim"])
        nets["vae"].decode(mu).square().mean().backward()
        assert nets["vae"].encoder[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", SAMPLERS)
def test_export_round_trip_reproduces_outputs(name, tmp_path):
    kw = TINY[name]
    torch.manual_seed(0)
    nets = create_model(name, **kw)
    part = _sampler_part(nets)
    nets[part].eval()
    z = torch.randn(2, getattr(nets[part], "latent_dim", None) or kw["latent_dim"])
    if part == "unet":  # its zero-initialised output layer would hide a bad round trip
        with torch.no_grad():
            for p in nets[part].parameters():
                p.add_(torch.randn_like(p) * 0.01)
    before = _sample(nets, kw, z)
    save_export(tmp_path, {part: nets[part]}, {"model": name, "model_kwargs": kw, "method": "x"}, {"step": 7})
    loaded, config = load_export(tmp_path)
    assert list(loaded) == [part] and config["model"] == name
    torch.testing.assert_close(_sample(loaded, kw, z), before)
    assert not list(tmp_path.glob("*.tmp"))


def test_spectral_norm_discriminator_round_trips(tmp_path):
    kw = dict(image_size=16, latent_dim=8, width=8, spectral_norm=True)
    d = create_model("dcgan", parts=("discriminator",), **kw)["discriminator"].eval()
    x = torch.randn(2, 3, 16, 16)
    before = d(x)
    save_export(tmp_path, {"discriminator": d}, {"model": "dcgan", "model_kwargs": kw, "method": "gan"})
    loaded, _ = load_export(tmp_path)
    torch.testing.assert_close(loaded["discriminator"](x), before)


def test_unknown_model_is_a_user_error():
    with pytest.raises(ArtforgeError, match="unknown model 'nope'.*dcgan"):
        create_model("nope")


def test_damaged_export_is_reported(tmp_path):
    nets = create_model("dcgan", parts=("generator",), **TINY["dcgan"])
    save_export(tmp_path, nets, {"model": "dcgan", "model_kwargs": TINY["dcgan"], "method": "gan"})
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged"):
        load_export(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="not an artforge model"):
        load_export(tmp_path)


def test_export_config_is_plain_json(tmp_path):
    nets = create_model("vae", **TINY["vae"])
    save_export(tmp_path, nets, {"model": "vae", "model_kwargs": TINY["vae"], "method": "vae"})
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["parts"] == ["vae"] and cfg["model_kwargs"]["latent_dim"] == 8


def test_seed_generator_matches_the_article_shapes():
    g = create_model("dcgan-seed", parts=("generator",))["generator"]
    linear = g.project[0]
    assert (linear.in_features, linear.out_features) == (100, 256 * 8 * 8)
    convs = [m for m in g.body if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (256, 128, (4, 4), (2, 2)),
        (128, 64, (4, 4), (2, 2)),
        (64, 3, (4, 4), (2, 2)),
    ]
    d = create_model("dcgan-seed", parts=("discriminator",))["discriminator"]
    assert [m.p for m in d.features if isinstance(m, FastDropout)] == [0.25, 0.25]
    assert d.logit.in_features == 128 * 16 * 16
