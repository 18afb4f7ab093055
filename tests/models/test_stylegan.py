"""StyleGAN2 networks: shapes and sizes, demodulation, the tracked mean w, truncation, style mixing."""

import pytest
import torch
import torch.nn.functional as F

from artforge.errors import ArtforgeError
from artforge.methods import create_method
from artforge.models import create_model
from artforge.models.layers import minibatch_stddev
from artforge.models.stylegan import ModulatedConv2d

TINY = dict(latent_dim=16, width=8, max_width=16, mapping_layers=2)


def _nets(size=32, seed=0):
    torch.manual_seed(seed)
    return create_model("stylegan", image_size=size, **TINY)


@pytest.mark.parametrize("size,num_ws", [(32, 8), (64, 10)])
def test_shapes_and_one_style_per_layer(size, num_ws):
    nets = _nets(size)
    g, d = nets["generator"], nets["discriminator"]
    assert g.num_ws == num_ws and len(g.layer_resolutions()) == num_ws
    assert g.layer_resolutions()[:3] == [4, 8, 8] and g.layer_resolutions()[-1] == size
    x = g(torch.randn(4, 16))
    assert x.shape == (4, 3, size, size)
    assert d(x).shape == (4,)


@pytest.mark.parametrize("size", [16, 48, 2048])
def test_sizes_it_cannot_build_are_user_errors(size):
    with pytest.raises(ArtforgeError, match="power-of-two image size from 32 to 1024"):
        create_model("stylegan", image_size=size)


def test_demodulation_keeps_unit_variance_whatever_the_style():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 64, 3, w_dim=8)
    x = torch.randn(4, 64, 16, 16)
    for scale in (0.1, 1.0, 10.0):
        with torch.no_grad():
            conv.affine.bias.fill_(scale)
            y = conv(x, torch.zeros(4, 8))
        assert 0.8 < y[:, :, 1:-1, 1:-1].std() < 1.2  # away from the zero-padded border


def test_mean_w_moves_only_when_asked_and_truncation_pulls_towards_it():
    g = _nets()["generator"]
    z = torch.randn(64, 16)
    g.mapping(z)
    assert torch.equal(g.mapping.w_avg, torch.zeros(16))
    g.mapping(z, update_w_avg=True)
    w = g.mapping(z)
    torch.testing.assert_close(g.mapping.w_avg, w.mean(0) * 0.005)
    torch.testing.assert_close(g.truncate(w, 0.0), g.mapping.w_avg.expand_as(w))
    torch.testing.assert_close(g.truncate(w, 1.0), w)
    half = g.truncate(w, 0.5)
    assert (half - g.mapping.w_avg).norm() < (w - g.mapping.w_avg).norm()


def test_minibatch_stddev_adds_the_group_spread():
    x = torch.zeros(6, 2, 4, 4)
    assert minibatch_stddev(x)[:, -1].abs().max() < 1e-3  # identical samples: no spread
    y = minibatch_stddev(torch.randn(6, 2, 4, 4))  # 6 is not a multiple of 4: groups of 3
    assert y.shape == (6, 3, 4, 4) and y[:, -1].min() > 0.1


def _low(x):
    return F.avg_pool2d(x, 8)


def _corr(a, b):
    a, b = a.flatten(1) - a.flatten(1).mean(1, keepdim=True), b.flatten(1) - b.flatten(1).mean(1, keepdim=True)
    return float(((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).mean())


def test_style_mixing_takes_the_layout_from_the_coarse_layers():
    nets = _nets()
    method = create_method("stylegan", {k: v.eval() for k, v in nets.items()})
    generator = torch.Generator().manual_seed(1)
    w_a, w_b = method.latents(16, generator), method.latents(16, generator)
    a, b = method.decode(w_a), method.decode(w_b)
    coarse_from_a = method.decode(method.mix(w_a, w_b, range(0, 4)))
    fine_from_a = method.decode(method.mix(w_a, w_b, range(4, method.num_ws)))
    assert _corr(_low(coarse_from_a), _low(a)) > _corr(_low(coarse_from_a), _low(b)) + 0.2
    assert _corr(_low(fine_from_a), _low(b)) > _corr(_low(fine_from_a), _low(a)) + 0.2
    all_from_a = method.decode(method.mix(w_a, w_b, range(method.num_ws)))
    torch.testing.assert_close(all_from_a, a)


def test_sampling_is_deterministic_in_w_and_walks_are_straight():
    method = create_method("stylegan", {k: v.eval() for k, v in _nets().items()})
    one = method.sample(3, generator=torch.Generator().manual_seed(5))
    two = method.sample(5, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(one, two[:3])
    a, b = torch.zeros(2, 16), torch.ones(2, 16)
    torch.testing.assert_close(method.latent_path(a, b, 0.25), torch.full((2, 16), 0.25))
