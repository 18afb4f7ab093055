"""ADA: the augmentation pipeline (exact where it should be, differentiable, the same split over
processes) and the controller that moves p after the overfitting heuristic r_t."""

import math

import pytest
import torch

from artforge.data import ada
from artforge.data.ada import AdaptiveAugment, augment
from artforge.randomness import SampleNoise


def _noise(step=1, rank=0, world=1) -> SampleNoise:
    noise = SampleNoise(torch.Generator(), rank, world)
    noise.reseed(0, step)
    return noise


def _pictures(n=8, size=16) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(3)) * 2 - 1


def _identity_draws(n: int) -> dict[str, torch.Tensor]:
    draws = ada._draw(n, 0.0, _noise())
    return draws  # p = 0: every gate closed, every scale 1


def test_p_zero_is_the_identity_and_consumes_the_same_draws_as_p_one():
    x = _pictures()
    a, b = _noise(), _noise()
    assert torch.equal(augment(x, 0.0, a), x)
    augment(x, 1.0, b)
    assert torch.equal(a.randn(2, 3), b.randn(2, 3))  # the stream does not depend on p


def test_p_one_changes_every_picture_and_keeps_shape_dtype_layout_and_gradient():
    x = _pictures().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    y = augment(x, 1.0, _noise())
    assert y.shape == x.shape and y.dtype == x.dtype and y.is_contiguous(memory_format=torch.channels_last)
    assert all(not torch.allclose(y[i], x[i]) for i in range(len(x)))
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"xflip": 1.0}, lambda x: x.flip(3)),
        ({"rot90": 2.0}, lambda x: x.flip(2).flip(3)),
        ({"int_tx": 2 / 16}, lambda x: torch.cat([x[..., 2:], x[..., -1:].flip(3), x[..., -2:-1]], dim=3)),
    ],
)
def test_pixel_blitting_is_exact(change, expected):
    x = _pictures(2)
    draws = _identity_draws(2)
    draws.update({k: torch.full((2,), v) for k, v in change.items()})
    torch.testing.assert_close(ada._geometric(x, draws), expected(x), atol=1e-5, rtol=0)


def test_hue_rotation_keeps_greys_and_zero_saturation_makes_grey():
    grey = torch.full((1, 3, 4, 4), 0.3)
    draws = _identity_draws(1)
    draws["hue"] = torch.tensor([1.0])
    torch.testing.assert_close(ada._colour(grey, draws), grey)
    colour = _pictures(1, 4)
    draws = _identity_draws(1)
    draws["saturation"] = torch.tensor([0.0])
    out = ada._colour(colour, draws)
    torch.testing.assert_close(out, colour.mean(1, keepdim=True).expand_as(out), atol=1e-6, rtol=0)


def test_two_processes_augment_their_rows_as_one_process_would():
    x = _pictures(8)
    whole = augment(x, 0.7, _noise(step=5))
    for rank in range(2):
        part = augment(x[rank::2], 0.7, _noise(step=5, rank=rank, world=2))
        torch.testing.assert_close(part, whole[rank::2])


def test_p_follows_the_overfitting_heuristic():
    ada_ = AdaptiveAugment(target=0.6, speed_kimg=1.0)
    ada_.observe(torch.tensor([3.0, 2.0, 1.0, -1.0]))  # r_t = 0.5 < 0.6: p stays at 0
    ada_.adjust()
    assert ada_.p == 0.0 and ada_.rt == 0.5
    ada_.observe(torch.ones(100))  # r_t = 1 > 0.6: p rises by 100 images / 1,000
    ada_.adjust()
    assert math.isclose(ada_.p, 0.1) and ada_.rt == 1.0
    ada_.observe(-torch.ones(50))
    ada_.adjust()
    assert math.isclose(ada_.p, 0.05)
    ada_.observe(torch.ones(10_000))
    ada_.adjust()
    assert ada_.p == 1.0  # clamped


def test_adjust_uses_the_global_sums_and_state_round_trips():
    ada_ = AdaptiveAugment(speed_kimg=1.0)
    ada_.observe(-torch.ones(10))  # this process alone: r_t = -1
    ada_.adjust(reduce_sum=lambda t: t + torch.tensor([30.0, 10.0]))  # the others: 10 pictures, all +1
    assert ada_.rt == 1.0 and math.isclose(ada_.p, 0.02)
    ada_.observe(torch.ones(3))
    copy = AdaptiveAugment()
    copy.load_state_dict(ada_.state_dict())
    assert copy.state_dict() == ada_.state_dict()


def test_the_pipeline_runs_in_fp32_under_bf16_autocast_and_keeps_the_input_dtype():
    x = _pictures(4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = augment(x, 1.0, _noise())
        z = augment(x.bfloat16(), 1.0, _noise())
    torch.testing.assert_close(y, augment(x, 1.0, _noise()))  # the same as without autocast
    assert y.dtype == torch.float32 and z.dtype == torch.bfloat16
