import copy

import pytest
import torch
import torch.nn.functional as F

from artforge.generate import load_model
from artforge.methods import create_method
from artforge.methods.fastgan import FastGAN
from artforge.models import create_model
from artforge.randomness import SampleNoise
from artforge.train import TrainConfig, config_for_resume, train
from artforge.train.checkpoint import load_latest_state


def _fastgan(size=32, **kw):
    torch.manual_seed(0)
    nets = create_model("fastgan", image_size=size, latent_dim=16, width=8)
    return create_method("fastgan", nets, **kw)


def _grads(module):
    return [p.grad for p in module.parameters() if p.grad is not None and p.grad.abs().sum() > 0]


def _real(n=4, size=32):
    return torch.rand(n, 3, size, size) * 2 - 1


def test_losses_are_finite_and_reach_only_their_own_network():
    gan = _fastgan(augment="diffaugment", diffaugment="color,translation,cutout")
    assert isinstance(gan, FastGAN) and gan.loss_name == "hinge"
    d_phase, g_phase = gan.phases()
    assert (d_phase.name, g_phase.name) == ("discriminator", "generator")
    out = d_phase.loss(_real())
    assert set(out) == {"loss", "d_real", "d_fake", "recon"}
    assert all(torch.isfinite(v) for v in out.values()) and out["recon"] > 0
    out["loss"].backward()
    assert not _grads(gan.G), "D loss must not reach G"
    for part in ("stem", "head", "decoder_big", "decoder_part"):
        assert _grads(getattr(gan.D, part)), f"D loss must train D.{part}"
    gan.D.zero_grad(set_to_none=True)
    g_out = g_phase.loss(_real())
    assert torch.isfinite(g_out["loss"])
    g_out["loss"].backward()
    assert _grads(gan.G)
    assert not _grads(gan.D.decoder_big) and not _grads(gan.D.decoder_part)  # G is judged by logits alone


def test_discriminator_loss_is_hinge_plus_reconstruction_error():
    gan = _fastgan()
    real = _real()
    gan.noise = SampleNoise(torch.Generator())
    gan.noise.reseed(seed=0, step=3)
    before = copy.deepcopy(gan.D.state_dict())  # spectral norm's power iteration moves on every call
    out = gan.discriminator_loss(real)
    # Replay the same draws (latents and G's noise, then the quadrants) on the same D.
    gan.D.load_state_dict(before)
    gan.noise.reseed(seed=0, step=3)
    with torch.no_grad():
        fake = gan._fake(4, real.device)
        part = gan.noise.randint(0, 4, 4)
        seen = gan.D(real, part=part)
        d_fake = gan.D(fake)
    recon = F.mse_loss(seen.recon_big, seen.target_big) + F.mse_loss(seen.recon_part, seen.target_part)
    expected = F.relu(1 - seen.logits).mean() + F.relu(1 + d_fake).mean() + recon
    torch.testing.assert_close(out["recon"], recon)
    torch.testing.assert_close(out["loss"].detach(), expected)


def test_loss_is_always_hinge_and_hparams_rebuild_the_method():
    gan = _fastgan(loss="nsgan", recon_weight=0.5, augment="none", style_mixing=0.9)
    assert gan.loss_name == "hinge" and gan.recon_weight == 0.5
    again = gan.with_nets({"generator": gan.G})
    assert isinstance(again, FastGAN) and again.recon_weight == 0.5 and again.D is None
    with pytest.raises(ValueError, match="hinge"):
        _fastgan(loss="wgan-gp")


def test_r1_is_finite_and_in_fp32_under_autocast():
    gan = _fastgan(r1_gamma=1.0)
    real = _real()
    reference = gan.discriminator_loss(real)
    assert torch.isfinite(reference["r1"]) and reference["r1"] > 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = gan.discriminator_loss(real)
    assert mixed["r1"].dtype == torch.float32 and torch.isfinite(mixed["loss"])


def test_sampling_is_deterministic_per_seed_and_leaves_the_global_generator_alone():
    gan = _fastgan()
    gan.G.eval()
    state = torch.get_rng_state()
    a = gan.sample(5, generator=torch.Generator().manual_seed(3), batch=2)
    b = gan.sample(3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a[:3], b)
    assert torch.equal(torch.get_rng_state(), state)


def _config(tmp_path, **kw):
    base = dict(
        source="builtin:shapes",
        n_builtin=32,
        model="fastgan",
        size=32,
        width=8,
        latent_dim=32,
        batch=8,
        steps=4,
        sample_every=2,
        ckpt_every=2,
        precision="fp32",
        out=str(tmp_path / "run"),
        tensorboard=False,
        progress=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_trains_through_the_trainer_and_samples(tmp_path):
    run = train(_config(tmp_path, width=None, latent_dim=None, precision="auto"))
    method = load_model(run)
    assert isinstance(method, FastGAN)
    images = method.sample(3, generator=torch.Generator().manual_seed(0))
    assert images.shape == (3, 3, 32, 32) and torch.isfinite(images).all()
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-00000002.png", "step-00000004.png"]


def test_resumed_run_ends_with_the_same_weights(tmp_path):
    augment = dict(augment="diffaugment", diffaugment="color,translation,cutout")
    full = train(_config(tmp_path / "a", **augment))
    part = train(_config(tmp_path / "b", steps=2, **augment))
    train(config_for_resume(part, {"steps": 4}), resume=part)
    a, _ = load_latest_state(full)
    b, _ = load_latest_state(part)
    assert a["step"] == b["step"] == 4
    for kind in ("nets", "ema"):
        for name in a[kind]:
            for key, value in a[kind][name].items():
                torch.testing.assert_close(b[kind][name][key], value, msg=f"{kind}.{name}.{key}")
