import pytest
import torch

from artforge.models.layers import FastDropout


def test_fast_dropout_drops_p_and_keeps_the_mean():
    torch.manual_seed(0)
    drop = FastDropout(0.25).train()
    x = torch.ones(200_000)
    y = drop(x)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - 0.25) < 0.005
    assert abs(y.mean().item() - 1.0) < 0.01  # kept values scaled by 1/(1-p)
    assert torch.unique(y).tolist() == pytest.approx([0.0, 4 / 3])


def test_fast_dropout_is_seeded_identity_in_eval_and_follows_memory_layout():
    x = torch.randn(4, 8, 6, 6).contiguous(memory_format=torch.channels_last)
    drop = FastDropout(0.25)
    torch.manual_seed(1)
    a = drop(x)
    torch.manual_seed(1)
    b = drop(x)
    assert torch.equal(a, b)
    assert torch.equal(drop.eval()(x), x)
    x.requires_grad_(True)
    drop.train()(x).sum().backward()
    assert ((x.grad == 0) | torch.isclose(x.grad, torch.tensor(4 / 3))).all()


def test_fast_dropout_rejects_bad_rates():
    with pytest.raises(ValueError):
        FastDropout(1.0)


def test_resolution_pyramid_helpers():
    from artforge.models.layers import level_widths, upsampling_levels

    assert [upsampling_levels(s) for s in (16, 64, 512, 1024)] == [2, 4, 7, 8]
    for bad in (8, 48, 0):
        with pytest.raises(ValueError, match="vae needs a power-of-two image size of at least 16"):
            upsampling_levels(bad, "vae")
    assert level_widths(4, 64, 512) == [512, 256, 128, 64]
    assert level_widths(4, 64, 256) == [256, 256, 128, 64]  # capped at max_width


def test_raw_weight_is_the_parameter_under_spectral_norm():
    from torch import nn
    from torch.nn.utils.parametrizations import spectral_norm

    from artforge.models.layers import raw_weight

    plain = nn.Linear(3, 2)
    assert raw_weight(plain) is plain.weight
    sn = spectral_norm(nn.Linear(3, 2))
    assert raw_weight(sn) is sn.parametrizations.weight.original
