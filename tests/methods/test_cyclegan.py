"""CycleGAN's objective and image pool, checked against hand-computed values."""

import pytest
import torch
from torch import nn

from artforge.data.sources import DomainPair, open_source
from artforge.errors import ArtforgeError
from artforge.methods import create_method
from artforge.methods.cyclegan import ImagePool, lsgan_loss
from artforge.models import create_model


class Affine(nn.Module):
    """x -> scale·x + shift: a 'generator' whose every output is known in closed form."""

    def __init__(self, scale=1.0, shift=0.0):
        super().__init__()
        self.scale, self.shift = nn.Parameter(torch.tensor(scale)), nn.Parameter(torch.tensor(shift))

    def forward(self, x):
        return self.scale * x + self.shift


class MeanCritic(nn.Module):
    """One patch score: the picture's mean value."""

    def forward(self, x):
        return x.mean((1, 2, 3), keepdim=True)


def _closed_form(**kw):
    nets = {"g_ab": Affine(scale=0.5), "g_ba": Affine(shift=0.25), "d_a": MeanCritic(), "d_b": MeanCritic()}
    a, b = torch.full((2, 3, 4, 4), 0.2), torch.full((2, 3, 4, 4), -0.4)
    return create_method("cyclegan", nets, **kw), (a, b)


def test_lsgan_loss_is_the_mean_squared_distance_from_the_target():
    scores = torch.tensor([[0.5, 2.0], [1.0, -1.0]])
    torch.testing.assert_close(lsgan_loss(scores, 1.0), torch.tensor((0.25 + 1 + 0 + 4) / 4))
    torch.testing.assert_close(lsgan_loss(scores, 0.0), torch.tensor((0.25 + 4 + 1 + 1) / 4))


def test_generator_loss_adds_adversarial_cycle_and_identity_terms():
    cyc, batch = _closed_form()
    out = cyc.generator_loss(batch)
    # G(a) = 0.1, F(b) = -0.15; adversarial: (0.1 - 1)² + (-0.15 - 1)²
    torch.testing.assert_close(out["adv"], torch.tensor(0.81 + 1.3225))
    # F(G(a)) = 0.35 vs 0.2; G(F(b)) = -0.075 vs -0.4
    torch.testing.assert_close(out["cycle"], torch.tensor(0.15 + 0.325))
    # G(b) = -0.2 vs -0.4; F(a) = 0.45 vs 0.2
    torch.testing.assert_close(out["identity"], torch.tensor(0.2 + 0.25))
    torch.testing.assert_close(out["loss"], torch.tensor(2.1325 + 10 * 0.475 + 0.5 * 10 * 0.45))


def test_identity_weight_is_a_fraction_of_lambda_and_zero_turns_it_off():
    cyc, batch = _closed_form(cycle_weight=4.0, identity=0.25)
    torch.testing.assert_close(cyc.generator_loss(batch)["loss"], torch.tensor(2.1325 + 4 * 0.475 + 0.25 * 4 * 0.45))
    cyc, batch = _closed_form(identity=0.0)
    out = cyc.generator_loss(batch)
    assert "identity" not in out
    torch.testing.assert_close(out["loss"], torch.tensor(2.1325 + 10 * 0.475))


def test_discriminator_loss_is_halved_lsgan_on_the_generator_phase_fakes():
    cyc, batch = _closed_form(pool_size=0)
    cyc.generator_loss(batch)
    cyc.nets["g_ab"].scale.data.fill_(9.0)  # D must use the G phase's fakes, not make new ones
    out = cyc.discriminator_loss(batch)
    torch.testing.assert_close(out["d_b"], torch.tensor(0.5 * ((-0.4 - 1) ** 2 + 0.1**2)))
    torch.testing.assert_close(out["d_a"], torch.tensor(0.5 * ((0.2 - 1) ** 2 + 0.15**2)))
    torch.testing.assert_close(out["loss"], out["d_a"] + out["d_b"])
    assert cyc._fakes is None  # used once
    again = cyc.discriminator_loss(batch)  # no G phase before it: fakes made afresh, G(a) = 9·0.2
    torch.testing.assert_close(again["d_b"], torch.tensor(0.5 * ((-0.4 - 1) ** 2 + 1.8**2)))


def test_each_phase_trains_only_its_own_networks():
    torch.manual_seed(0)
    nets = create_model("cyclegan", image_size=16, width=4, res_blocks=1)
    cyc = create_method("cyclegan", nets)
    g_phase, d_phase = cyc.phases()
    assert (g_phase.name, d_phase.name, d_phase.needs_data) == ("generator", "discriminator", False)
    assert cyc.trainable() == {"generator": [nets["g_ab"], nets["g_ba"]], "discriminator": [nets["d_a"], nets["d_b"]]}
    batch = (torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1)
    for net in (nets["d_a"], nets["d_b"]):
        net.requires_grad_(False)  # as the trainer does in the G phase
    g_phase.loss(batch)["loss"].backward()
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0 for k in ("g_ab", "g_ba") for p in [nets[k].net[0][1].weight]
    )
    for net in nets.values():
        net.zero_grad(set_to_none=True)
        net.requires_grad_(True)
    d_phase.loss(batch)["loss"].backward()
    assert all(p.grad is None for k in ("g_ab", "g_ba") for p in nets[k].parameters()), "D loss must not reach G"
    assert all(nets[k].net[0].weight.grad.abs().sum() > 0 for k in ("d_a", "d_b"))


def _ids(batch):
    return [int(x[0, 0, 0]) for x in batch]


def test_image_pool_fills_then_swaps_half_the_time():
    torch.manual_seed(0)
    pool = ImagePool(size=50)
    first = torch.arange(50.0).view(50, 1, 1, 1).expand(50, 3, 2, 2)
    assert _ids(pool.query(first)) == list(range(50)) and len(pool) == 50  # filling: passed on and stored
    returned_old = 0
    for i in range(50, 450):
        (got,) = _ids(pool.query(torch.full((1, 3, 2, 2), float(i))))
        stored = set(_ids(pool.images))
        if got == i:
            assert i not in stored  # passed on, pool unchanged
        else:
            returned_old += 1
            assert got < i and got not in stored and i in stored  # an older image, swapped for the new one
        assert len(pool) == 50
    assert 160 < returned_old < 240  # p = ½ over 400 draws


def test_image_pool_off_state_round_trip_and_dtype():
    fake = torch.randn(3, 3, 2, 2)
    assert torch.equal(ImagePool(0).query(fake), fake)
    pool = ImagePool(4)
    pool.query(torch.randn(6, 3, 2, 2))
    copy = ImagePool(4)
    copy.load_state_dict(pool.state_dict())
    torch.manual_seed(1)
    a = pool.query(torch.randn(5, 3, 2, 2, generator=torch.Generator().manual_seed(2)))
    torch.manual_seed(1)
    b = copy.query(torch.randn(5, 3, 2, 2, generator=torch.Generator().manual_seed(2)))
    assert torch.equal(a, b)  # same stored images + same RNG -> same draws (exact resume)
    assert pool.query(torch.randn(2, 3, 2, 2).bfloat16()).dtype == torch.bfloat16
    empty = ImagePool(4)
    empty.load_state_dict(ImagePool(4).state_dict())
    assert len(empty) == 0


def test_method_state_holds_both_pools():
    cyc, batch = _closed_form(pool_size=3)
    cyc.generator_loss(batch)
    cyc.discriminator_loss(batch)
    state = cyc.state_dict()
    assert state["pool_a"]["images"].shape == state["pool_b"]["images"].shape == (2, 3, 4, 4)
    other, _ = _closed_form(pool_size=3)
    other.load_state_dict(state)
    assert torch.equal(other.pool_b.images, cyc.pool_b.images)


def test_preview_rows_show_a_its_translation_b_its_translation():
    torch.manual_seed(0)
    nets = create_model("cyclegan", parts=("g_ab", "g_ba"), image_size=16, width=4, res_blocks=1)
    cyc = create_method("cyclegan", nets)
    data = DomainPair(open_source("builtin:shapes", 16, n_builtin=5), open_source("builtin:glyphs", 16, n_builtin=12))
    a, b = cyc.preview_inputs(64, torch.Generator().manual_seed(0), data)
    assert a.shape == b.shape == (5, 3, 16, 16)  # up to 8 rows, no more than the smaller domain has
    grid = cyc.preview((a, b))
    assert grid.shape == (20, 3, 16, 16) and cyc.preview_columns == 4
    assert torch.equal(grid[0::4], a) and torch.equal(grid[2::4], b)
    torch.testing.assert_close(grid[1::4], cyc.translate(a, "a2b"))
    torch.testing.assert_close(grid[3::4], cyc.translate(b, "b2a"))


def test_translator_has_no_latent_space_and_checks_direction():
    cyc, (a, _) = _closed_form()
    with pytest.raises(ArtforgeError, match="no latent space.*artforge translate"):
        cyc.sample(4)
    with pytest.raises(ArtforgeError, match="a2b or b2a"):
        cyc.translate(a, "sideways")
    torch.testing.assert_close(cyc.translate(a, "a2b"), torch.full_like(a, 0.1))
