"""Progressive growing's schedule and what D is shown while a resolution fades in."""

import torch
import torch.nn.functional as F

from artforge.methods import create_method
from artforge.methods.pggan import stage_at
from artforge.models import create_model


def test_schedule_stable_then_fade_and_stable_per_resolution():
    kimg = 10.0
    assert stage_at(0, 4, kimg) == (1, 1.0)
    assert stage_at(9_999, 4, kimg) == (1, 1.0)
    assert stage_at(10_000, 4, kimg) == (2, 0.0)
    assert stage_at(15_000, 4, kimg) == (2, 0.5)
    assert stage_at(25_000, 4, kimg) == (2, 1.0)
    assert stage_at(30_000, 4, kimg) == (3, 0.0)
    assert stage_at(10**9, 4, kimg) == (4, 1.0)


def test_reals_are_shown_at_the_stage_and_blended_while_fading():
    torch.manual_seed(0)
    nets = create_model("pggan", image_size=16, latent_dim=8, width=4, max_width=8)
    method = create_method("pggan", nets, loss="wgan-gp", grow_kimg=0.01, batch=5)
    real = torch.rand(2, 3, 16, 16) * 2 - 1
    method._steps = 3  # 15 images: 8×8 fading in, alpha 0.5
    method._set_stage()
    assert method.stage() == (2, 0.5)
    at8 = F.interpolate(F.avg_pool2d(real, 2), scale_factor=2)
    at4 = F.interpolate(F.avg_pool2d(real, 4), scale_factor=4)
    torch.testing.assert_close(method._at_stage(real), torch.lerp(at4, at8, 0.5))
    method._steps = 100
    method._set_stage()
    assert method.stage() == (3, 1.0)
    assert torch.equal(method._at_stage(real), real)
    out = method.discriminator_loss(real)
    assert torch.isfinite(out["loss"]) and float(out["resolution"]) == 16
