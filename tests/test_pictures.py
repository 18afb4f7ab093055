"""The one uint8 <-> [-1, 1] conversion: exact round trip, floats untouched, shapes and devices kept."""

import numpy as np
import torch

from artforge.pictures import to_uint8, to_unit


def test_to_unit_maps_0_to_minus_1_and_255_to_1_and_round_trips_every_level():
    levels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    unit = to_unit(levels)
    assert unit.dtype == torch.float32 and unit.shape == levels.shape
    assert unit.min().item() == -1.0 and unit.max().item() == 1.0
    back = to_uint8(unit)  # grey is repeated to 3 channels, N×H×W×3
    assert back.shape == (1, 16, 16, 3) and back.dtype == np.uint8
    assert (back[..., 0] == levels[:, 0].numpy()).all()


def test_to_unit_leaves_float_values_alone():
    x = torch.rand(2, 3, 4, 4) * 2 - 1
    assert torch.equal(to_unit(x), x)
    assert to_unit(x.half()).dtype == torch.float32


def test_to_unit_is_the_conversion_the_modules_used_to_write_by_hand():
    pics = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(to_unit(pics), pics.float() / 127.5 - 1)
    assert torch.equal(to_unit(pics), pics.float().div(127.5).sub(1.0))
