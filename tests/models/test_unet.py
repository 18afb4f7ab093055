import pytest
import torch

from artforge.errors import ArtforgeError
from artforge.models import create_model
from artforge.models.unet import Attention, UNet


def _perturbed(unet: UNet) -> UNet:
    """The UNet with its zero-initialised layers given small random weights (as after some training)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in unet.parameters():
            if not p.abs().sum():
                p.normal_(0, 0.05)
    return unet


def test_output_has_the_input_shape_and_starts_at_zero():
    unet = UNet(image_size=16, width=8)
    x, t = torch.randn(3, 3, 16, 16), torch.tensor([0, 500, 999])
    out = unet(x, t)
    assert out.shape == x.shape
    assert out.abs().max() == 0  # zero-initialised output: training starts from "predict 0"


def test_time_and_picture_both_change_the_prediction():
    unet = _perturbed(UNet(image_size=32, width=8)).eval()
    x = torch.randn(2, 3, 32, 32)
    same_x = x[:1].expand(2, -1, -1, -1)
    by_time = unet(same_x, torch.tensor([10, 900]))
    assert (by_time[0] - by_time[1]).abs().mean() > 1e-3
    by_picture = unet(x, torch.tensor([10, 10]))
    assert (by_picture[0] - by_picture[1]).abs().mean() > 1e-3


def test_attention_only_at_16_px_and_below():
    unet = UNet(image_size=64, width=8, blocks=1)
    with_attention = [isinstance(level.attentions[0], Attention) for level in unet.down]
    assert with_attention == [False, False, True, True]  # 64, 32, 16, 8
    assert isinstance(unet.mid_attention, Attention)


def test_gradients_reach_the_first_layer():
    unet = _perturbed(UNet(image_size=16, width=8))
    unet(torch.randn(2, 3, 16, 16), torch.tensor([3, 700])).square().mean().backward()
    assert unet.conv_in.weight.grad.abs().sum() > 0
    assert unet.time_mlp[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("size", [8, 24, 48])
def test_sizes_it_cannot_build_are_user_errors(size):
    with pytest.raises(ArtforgeError, match="power-of-two image size"):
        create_model("ddpm", image_size=size)
