"""CycleGAN networks: the paper's layouts, sizes, receptive field, init, registry and export."""

import pytest
import torch
from torch import nn

from artforge.models import create_model, get_family, load_export, save_export
from artforge.models.cyclegan import PatchDiscriminator, ResidualBlock, ResnetGenerator, patch_depth, receptive_field

TINY = dict(image_size=16, width=8, res_blocks=1)


def _convs(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


def test_generator_keeps_size_and_range():
    torch.manual_seed(0)
    g = ResnetGenerator(**TINY)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    y = g(x)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert g(torch.rand(1, 3, 24, 40) * 2 - 1).shape == (1, 3, 24, 40)  # fully convolutional, any multiple of 4
    with pytest.raises(ValueError, match="multiples of 4"):
        g(torch.rand(1, 3, 18, 18))


def test_generator_follows_the_paper_layout():
    # c7s1-k, d2k, d4k, R4k × n, u2k, uk, c7s1-3 (appendix 7.2), here with k = 4 and n = 2
    g = ResnetGenerator(width=4, res_blocks=2)
    convs = _convs(g)
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (3, 4, 7, 1),
        (4, 8, 3, 2),
        (8, 16, 3, 2),
    ] + [(16, 16, 3, 1)] * 4 + [(16, 8, 3, 2), (8, 4, 3, 2), (4, 3, 7, 1)]
    assert [isinstance(c, nn.ConvTranspose2d) for c in convs] == [False] * 7 + [True, True, False]
    norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == len(convs) - 1  # every conv but the output layer
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in g.modules()) == 2 + 2 * 2
    assert isinstance(g.net[-1], nn.Tanh)


@pytest.mark.parametrize("size,blocks", [(256, 9), (512, 9), (128, 6), (32, 6)])
def test_default_residual_blocks_follow_the_paper(size, blocks):
    g = ResnetGenerator(width=1, image_size=size)
    assert sum(isinstance(m, ResidualBlock) for m in g.modules()) == blocks == g.res_blocks


def test_patchgan_layout_and_output_grid_at_256():
    d = PatchDiscriminator(width=64, image_size=256)
    convs = _convs(d)
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (64, 4, 2),
        (128, 4, 2),
        (256, 4, 2),
        (512, 4, 1),
        (1, 4, 1),
    ]
    assert not isinstance(d.net[1], nn.InstanceNorm2d)  # no norm on C64
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in d.modules()) == 3
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    assert d(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_patchgan_sees_70x70_patches():
    # Instance norm couples every pixel; without it, one score's input gradient marks its receptive field.
    torch.manual_seed(0)
    d = PatchDiscriminator(width=4, image_size=128)
    for i, m in enumerate(d.net):
        if isinstance(m, nn.InstanceNorm2d):
            d.net[i] = nn.Identity()
    x = torch.randn(1, 3, 128, 128, requires_grad=True)
    scores = d(x)
    scores[0, 0, scores.size(2) // 2, scores.size(3) // 2].backward()
    rows, cols = x.grad[0].abs().sum(0).nonzero(as_tuple=True)
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70 == receptive_field(3)


@pytest.mark.parametrize("size,depth,grid", [(16, 2, 2), (24, 2, 4), (32, 3, 2), (64, 3, 6)])
def test_patchgan_depth_shrinks_for_small_images(size, depth, grid):
    assert patch_depth(size) == depth
    d = PatchDiscriminator(width=4, image_size=size)
    assert d.depth == depth and d(torch.zeros(2, 3, size, size)).shape == (2, 1, grid, grid)


def test_weights_start_from_n_0_002():
    torch.manual_seed(0)
    big = _convs(PatchDiscriminator(width=64, image_size=256))[3]  # 256 -> 512, 2M weights
    assert abs(big.weight.std().item() - 0.02) < 5e-4 and abs(big.weight.mean().item()) < 5e-4
    norm = next(m for m in ResnetGenerator(width=64, res_blocks=0).modules() if isinstance(m, nn.InstanceNorm2d))
    assert abs(norm.weight.mean().item() - 1) < 0.01 and norm.bias.abs().max() == 0


def test_registered_with_four_parts_and_round_trips(tmp_path):
    family = get_family("cyclegan")
    assert family.method == "cyclegan" and set(family.parts) == {"g_ab", "g_ba", "d_a", "d_b"}
    torch.manual_seed(0)
    nets = create_model("cyclegan", latent_dim=None, **TINY)  # the trainer passes latent_dim to every family
    assert not torch.equal(nets["g_ab"].net[0][1].weight, nets["g_ba"].net[0][1].weight)  # two separate nets
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    before = {k: nets[k].eval()(x) for k in ("g_ab", "g_ba")}
    save_export(
        tmp_path, {k: nets[k] for k in before}, {"model": "cyclegan", "model_kwargs": TINY, "method": "cyclegan"}
    )
    loaded, config = load_export(tmp_path)
    assert sorted(loaded) == ["g_ab", "g_ba"] and config["parts"] == ["g_ab", "g_ba"]
    for k, y in before.items():
        torch.testing.assert_close(loaded[k](x), y)


def test_spectral_norm_discriminator_trains_and_round_trips(tmp_path):
    kw = dict(TINY, spectral_norm=True)
    d = create_model("cyclegan", parts=("d_a",), **kw)["d_a"]
    d(torch.randn(2, 3, 16, 16)).mean().backward()
    d.eval()
    x = torch.randn(2, 3, 16, 16)
    save_export(tmp_path, {"d_a": d}, {"model": "cyclegan", "model_kwargs": kw, "method": "cyclegan"})
    torch.testing.assert_close(load_export(tmp_path)[0]["d_a"](x), d(x))
