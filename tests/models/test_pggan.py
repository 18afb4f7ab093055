"""Progressive GAN networks: every stage runs at its resolution, fades in smoothly, exports its stage."""

import pytest
import torch
import torch.nn.functional as F

from artforge.errors import ArtforgeError
from artforge.models import create_model
from artforge.models.pggan import pixel_norm

KW = dict(image_size=32, latent_dim=8, width=4, max_width=16)


def _nets():
    torch.manual_seed(0)
    return create_model("pggan", **KW)


@pytest.mark.parametrize("level,side", [(1, 4), (2, 8), (4, 32)])
def test_g_draws_at_the_stage_resolution_and_d_judges_at_it(level, side):
    nets = _nets()
    g, d = nets["generator"], nets["discriminator"]
    g.set_stage(level, 1.0)
    d.set_stage(level, 1.0)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, 3, 32, 32)
    blocks = x.unfold(2, 32 // side, 32 // side).unfold(3, 32 // side, 32 // side)
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))  # constant blocks of the stage's pixels
    assert d(x).shape == (3,)
    # D looks at the stage's resolution only: detail finer than it cannot change its verdict
    fine = torch.randn(3, 3, 32, 32)
    detail = fine - F.interpolate(F.avg_pool2d(fine, 32 // side), scale_factor=32 // side)
    if side < 32:
        torch.testing.assert_close(d(x + detail), d(x), atol=1e-5, rtol=1e-5)


def test_fade_in_goes_from_the_lower_resolution_to_the_new_one():
    g = _nets()["generator"]
    z = torch.randn(2, 8)
    g.set_stage(2, 1.0)
    high = g(z)
    g.set_stage(2, 0.0)
    start = g(z)
    g.set_stage(2, 0.25)
    quarter = g(z)
    torch.testing.assert_close(quarter, torch.lerp(start, high, 0.25), atol=1e-5, rtol=1e-5)
    g.set_stage(1, 1.0)
    torch.testing.assert_close(start, g(z), atol=1e-5, rtol=1e-5)  # alpha 0 is the previous stage's picture


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = pixel_norm(torch.randn(2, 16, 4, 4) * 7)
    torch.testing.assert_close(x.square().mean(1), torch.ones(2, 4, 4), atol=1e-4, rtol=1e-4)


def test_the_stage_is_a_buffer_that_state_dicts_carry():
    g = _nets()["generator"]
    g.set_stage(3, 0.5)
    copy = _nets()["generator"]
    copy.load_state_dict(g.state_dict())
    assert copy.current() == (3, 0.5)


def test_sizes_it_cannot_build_are_user_errors():
    with pytest.raises(ArtforgeError, match="power-of-two image size from 16 to 1024"):
        create_model("pggan", image_size=24)
