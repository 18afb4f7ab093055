import pytest
import torch
from torch import nn

from artforge.errors import ArtforgeError
from artforge.models import create_model, load_export, save_export
from artforge.models.fastgan import (
    FastGANDiscriminator,
    FastGANGenerator,
    NoiseInjection,
    SkipExcitation,
    latent_noise,
    quadrant,
)


def _nets(size, width=8, latent_dim=16):
    torch.manual_seed(0)
    return create_model("fastgan", image_size=size, latent_dim=latent_dim, width=width, spectral_norm=True)


def _seeded_noise(seed):
    gen = torch.Generator().manual_seed(seed)
    return lambda n, h, w: torch.randn(n, 1, h, w, generator=gen)


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_and_ranges(size):
    nets = _nets(size)
    g, d = nets["generator"], nets["discriminator"]
    assert g.latent_dim == 16
    x = g(torch.randn(3, 16))
    assert x.shape == (3, 3, size, size) and x.min() >= -1 and x.max() <= 1
    logits = d(x)
    assert logits.shape == (3,)
    out = d(x, part=torch.tensor([0, 1, 3]))
    big, half = min(size, 128), size // 2
    assert out.logits.shape == (3,)
    assert out.recon_big.shape == out.target_big.shape == (3, 3, big, big)
    assert out.recon_part.shape == out.target_part.shape == (3, 3, half, half)
    assert not out.target_big.requires_grad and not out.target_part.requires_grad
    logits.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())


def test_default_width_and_paper_widths():
    g = FastGANGenerator(image_size=64)
    assert g.latent_dim == 256
    assert [b.bn1.num_features // 2 for b in g.blocks] == [128, 64, 32, 32]  # 8, 16, 32, 64 px at width 16
    assert [b.noisy for b in g.blocks] == [True, False, True, False]  # UpBlockComp at 8 and 32 px
    assert g.sle_pairs == [(4, 64)] and FastGANGenerator(image_size=32, width=8).sle_pairs == [(4, 32)]
    assert FastGANGenerator(image_size=256, width=4).sle_pairs == [(4, 64), (8, 128), (16, 256)]


@pytest.mark.parametrize("size", [16, 48, 2048, 0])
def test_bad_sizes_are_refused(size):
    with pytest.raises(ValueError, match="power-of-two image size from 32 to 1024"):
        FastGANGenerator(image_size=size)
    with pytest.raises(ValueError, match="power-of-two image size from 32 to 1024"):
        FastGANDiscriminator(image_size=size)
    with pytest.raises(ArtforgeError, match="--model fastgan"):
        create_model("fastgan", image_size=size)


def test_skip_excitation_gates_channels_by_the_low_resolution_map():
    torch.manual_seed(0)
    se = SkipExcitation(8, 4)
    low, high = torch.randn(2, 8, 4, 4), torch.randn(2, 4, 32, 32)
    out = se(low, high)
    gate = out / high
    # one gate per picture and channel, in (0, 1)
    torch.testing.assert_close(gate, gate[:, :, :1, :1].expand_as(gate))
    assert ((gate > 0) & (gate < 1)).all()
    assert not torch.allclose(se(torch.zeros_like(low), high), out)  # the low map matters


def test_generator_applies_its_sle_gate():
    g = _nets(64)["generator"]  # training mode: batch statistics, outputs of order 1
    z = torch.randn(2, 16)
    before = g(z, noise_fn=_seeded_noise(0))
    nn.init.zeros_(g.sle["64"].gate[3].weight)  # gate -> sigmoid(0) = ½ everywhere
    after = g(z, noise_fn=_seeded_noise(0))
    assert (before - after).abs().max() > 1e-3


def test_discriminator_convolutions_are_all_spectrally_normalised():
    d = _nets(64)["discriminator"]
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) > 10
    assert all(hasattr(m, "parametrizations") and "weight" in m.parametrizations for m in convs)
    assert {"decoder_big", "decoder_part"} <= {name for name, _ in d.named_children()}


def test_initialisation_follows_the_paper():
    g = FastGANGenerator(image_size=64, width=16)
    std = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.Conv2d)]).std()
    assert 0.015 < std < 0.025
    bn = torch.cat([m.weight for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(bn.mean() - 1) < 0.01 and 0.01 < bn.std() < 0.03
    assert all(m.weight.item() == 0 for m in g.modules() if isinstance(m, NoiseInjection))


def test_quadrants_and_targets():
    x = torch.arange(4.0).view(1, 1, 2, 2).repeat(4, 1, 1, 1)  # quadrant k holds the value k
    torch.testing.assert_close(quadrant(x, torch.tensor([0, 1, 2, 3])).flatten(), torch.arange(4.0))
    d = _nets(64)["discriminator"]
    pictures = torch.rand(2, 3, 64, 64) * 2 - 1
    big, part = d.targets(pictures, torch.tensor([3, 0]))
    torch.testing.assert_close(big, pictures)
    torch.testing.assert_close(part[0], pictures[0, :, 32:, 32:])
    torch.testing.assert_close(part[1], pictures[1, :, :32, :32])
    d256 = FastGANDiscriminator(image_size=256, width=2)
    big, part = d256.targets(torch.rand(1, 3, 256, 256), torch.tensor([1]))
    assert big.shape == part.shape == (1, 3, 128, 128)


def test_injected_noise_comes_from_noise_fn_or_the_global_generator():
    g = _nets(32)["generator"]
    for m in g.modules():
        if isinstance(m, NoiseInjection):
            nn.init.ones_(m.weight)
    z = torch.randn(4, 16)
    a = g(z, noise_fn=_seeded_noise(1))
    torch.testing.assert_close(g(z, noise_fn=_seeded_noise(1)), a)
    assert not torch.allclose(g(z, noise_fn=_seeded_noise(2)), a)
    torch.manual_seed(5)
    b = g(z)
    torch.manual_seed(5)
    torch.testing.assert_close(g(z), b)
    # sampling noise follows each latent: picture i is the same in any batch
    g.eval()
    whole = g(z, noise_fn=latent_noise(z))
    torch.testing.assert_close(g(z[2:3], noise_fn=latent_noise(z[2:3])), whole[2:3])


def test_export_round_trip(tmp_path):
    kw = dict(image_size=32, latent_dim=16, width=8)
    g = _nets(32)["generator"].eval()
    z = torch.randn(2, 16)
    before = g(z, noise_fn=latent_noise(z))
    save_export(tmp_path, {"generator": g}, {"model": "fastgan", "model_kwargs": kw, "method": "fastgan"})
    loaded, _ = load_export(tmp_path)
    torch.testing.assert_close(loaded["generator"](z, noise_fn=latent_noise(z)), before)
