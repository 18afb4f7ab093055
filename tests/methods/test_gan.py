import pytest
import torch
from torch import nn

from artforge.data.augment import diff_augment, parse_policy
from artforge.methods import create_method
from artforge.models import create_model


class LinearCritic(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, so penalties have closed forms."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (x.flatten(1) * self.w).sum(1)


def _gan(loss="nsgan", **kw):
    torch.manual_seed(0)
    nets = create_model("dcgan", image_size=16, latent_dim=8, width=8, norm="layer" if loss == "wgan-gp" else "batch")
    return create_method("gan", nets, loss=loss, **kw)


@pytest.mark.parametrize("loss", ["nsgan", "hinge", "wgan-gp"])
def test_losses_are_finite_and_train_their_own_network(loss):
    gan = _gan(loss)
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    phases = gan.phases()
    assert [p.name for p in phases] == ["discriminator"] * (1 if loss != "wgan-gp" else 1) + ["generator"]
    out = phases[0].loss(real)
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    assert all(p.grad is None for p in gan.G.parameters()), "D loss must not reach G"
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in gan.D.parameters())
    g_out = phases[1].loss(real)
    g_out["loss"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in gan.G.parameters())


def test_n_critic_repeats_the_discriminator_phase():
    assert [p.name for p in _gan("wgan-gp", n_critic=5).phases()].count("discriminator") == 5


def test_gradient_penalty_and_r1_have_closed_forms_for_a_linear_critic():
    w = torch.randn(3 * 4 * 4)
    gan = create_method("gan", {"generator": None, "discriminator": LinearCritic(w)}, loss="wgan-gp")
    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    gp = gan._gradient_penalty(real, fake)
    torch.testing.assert_close(gp, (w.norm() - 1) ** 2)
    real.requires_grad_(True)
    r1 = gan._r1(real, gan.D(real))
    torch.testing.assert_close(r1, w.norm() ** 2)


def test_nsgan_discriminator_loss_matches_the_definition():
    gan = _gan("nsgan")
    gan.D = LinearCritic(torch.zeros(3 * 16 * 16))  # logits 0 -> loss 2·log 2
    out = gan.discriminator_loss(torch.rand(4, 3, 16, 16))
    torch.testing.assert_close(out["loss"], torch.tensor(2 * torch.log(torch.tensor(2.0)).item()))


def test_truncation_bounds_latents_and_is_deterministic():
    gan = _gan()
    z1 = gan.latents(64, torch.Generator().manual_seed(1), truncation=0.5)
    z2 = gan.latents(64, torch.Generator().manual_seed(1), truncation=0.5)
    assert z1.abs().max() <= 0.5 and torch.equal(z1, z2)
    assert z1.std() > 0.2  # resampled, not clamped to a constant


def test_diffaugment_keeps_shape_and_gradient():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x, parse_policy("color,translation,cutout"))
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        parse_policy("color,zoom")


def test_translation_moves_content_and_cutout_blanks_a_square():
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1
    moved = diff_augment(x, ("translation",))
    peaks = moved.flatten(1).argmax(1)
    assert len(set(peaks.tolist())) > 3  # the bright pixel lands in many places
    ones = torch.ones(8, 3, 16, 16)
    cut = diff_augment(ones, ("cutout",))
    zero_fraction = (cut == 0).float().mean().item()
    assert 0.1 < zero_fraction <= 0.25 + 1e-6  # at most a half-side square (a quarter), clipped at borders


def test_r1_is_computed_in_fp32_under_autocast():
    """R1's double backward never runs in reduced precision (fp16 gradients underflow; the loss scaler
    does not see this inner gradient).  Under bf16 autocast it must equal the fp32 value."""
    gan = _gan(r1_gamma=1.0, spectral_norm=True)
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    reference = gan.discriminator_loss(real)["r1"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = gan.discriminator_loss(real)["r1"]
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, reference, rtol=1e-5, atol=0)


def test_training_noise_is_drawn_per_sample_of_the_global_batch():
    """Rank r of W keeps rows r, r+W, ... of the draw for the global batch, as DistributedSampler deals pictures."""
    from artforge.randomness import SampleNoise

    whole = SampleNoise(torch.Generator())
    whole.reseed(seed=3, step=7)
    expected = whole.randn(6, 2)
    for rank in range(3):
        part = SampleNoise(torch.Generator(), rank=rank, world=3)
        part.reseed(seed=3, step=7)
        torch.testing.assert_close(part.randn(2, 2), expected[rank::3])
    again = SampleNoise(torch.Generator())
    again.reseed(seed=3, step=8)
    assert not torch.equal(again.randn(6, 2), expected)  # each step has its own stream
