"""StyleGAN2's objective: style-mixing regularisation, lazy R1 and path-length terms, their state."""

import torch

from artforge.methods import create_method
from artforge.methods.stylegan import PL_INTERVAL, R1_INTERVAL
from artforge.models import create_model
from artforge.randomness import SampleNoise


def _method(**kw):
    torch.manual_seed(0)
    nets = create_model("stylegan", image_size=32, latent_dim=16, width=4, max_width=8, mapping_layers=1)
    method = create_method("stylegan", nets, r1_gamma=1.0, **kw)
    method.noise = SampleNoise(torch.Generator())
    return method


def _real(n=4):
    return torch.rand(n, 3, 32, 32) * 2 - 1


def test_r1_and_path_length_are_lazy():
    method = _method()
    seen = []
    for step in range(2 * R1_INTERVAL):
        method.noise.reseed(0, step)
        d = method.discriminator_loss(_real())
        g = method.generator_loss(_real())
        seen.append(("r1" in d, "pl" in g))
        method.end_step()
    assert [i for i, (r1, _) in enumerate(seen) if r1] == [0, R1_INTERVAL]
    assert [i for i, (_, pl) in enumerate(seen) if pl] == list(range(0, 2 * R1_INTERVAL, PL_INTERVAL))
    assert method.pl_mean > 0
    state = method.state_dict()
    fresh = _method()
    fresh.load_state_dict(state)
    assert fresh.pl_mean == method.pl_mean and fresh._steps == 2 * R1_INTERVAL


def test_style_mixing_switches_styles_at_one_layer_per_picture():
    method = _method(style_mixing=1.0)
    method.noise.reseed(0, 0)
    ws = method._ws(8, torch.device("cpu"), update_w_avg=False)
    for w in ws:
        changes = (w[1:] != w[:-1]).any(-1).nonzero().flatten().tolist()
        assert len(changes) == 1  # one cutoff: w1 before it, w2 from it on
    never = _method(style_mixing=0.0)
    never.noise.reseed(0, 0)
    ws = never._ws(8, torch.device("cpu"), update_w_avg=False)
    assert torch.equal(ws, ws[:, :1].expand_as(ws))


def test_path_length_penalty_trains_the_generator_and_mapping():
    method = _method()
    method.noise.reseed(0, 0)
    out = method.generator_loss(_real())
    out["loss"].backward()
    g = method.G
    assert g.mapping.net[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in method.D.parameters() if not p.requires_grad)
