import math

import torch

from artforge.methods import create_method
from artforge.models import create_model


def _vae(beta=1.0):
    torch.manual_seed(0)
    return create_method("vae", create_model("vae", image_size=16, latent_dim=8, width=8), beta=beta)


def test_elbo_terms_match_their_definitions():
    vae = _vae()
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    model = vae.model
    model.encode = lambda x: (torch.zeros(x.size(0), 8), torch.zeros(x.size(0), 8))  # q = prior -> KL 0
    model.decode = lambda z: torch.zeros(z.size(0), 3, 16, 16)
    with torch.no_grad():
        model.log_sigma.fill_(0.0)
    out = vae.negative_elbo(x)
    assert out["kl"].item() == 0.0
    expected = (0.5 * x**2 + 0.5 * math.log(2 * math.pi)).flatten(1).sum(1).mean()
    torch.testing.assert_close(out["nll"], expected)
    torch.testing.assert_close(out["loss"], expected)


def test_kl_is_the_closed_form():
    vae = _vae(beta=0.5)
    mu, logvar = torch.full((2, 8), 0.3), torch.full((2, 8), -0.2)
    vae.model.encode = lambda x: (mu, logvar)
    out = vae.negative_elbo(torch.zeros(2, 3, 16, 16))
    per_dim = 0.5 * (0.3**2 + math.exp(-0.2) - 1 + 0.2)
    torch.testing.assert_close(out["kl"], torch.tensor(8 * per_dim))
    torch.testing.assert_close(out["loss"], out["nll"] + 0.5 * out["kl"])


def test_a_few_steps_lower_the_negative_elbo():
    vae = _vae()
    opt = torch.optim.Adam(vae.model.parameters(), lr=2e-3)
    x = (torch.rand(8, 3, 1, 1) * 2 - 1).expand(8, 3, 16, 16).contiguous()  # flat colours: easy to fit
    torch.manual_seed(1)
    first = vae.negative_elbo(x)["loss"].item()
    for _ in range(30):
        opt.zero_grad()
        vae.negative_elbo(x)["loss"].backward()
        opt.step()
    assert vae.negative_elbo(x)["loss"].item() < first - 100


def test_sampling_and_reconstruction_shapes():
    vae = _vae()
    imgs = vae.sample(5, generator=torch.Generator().manual_seed(0), truncation=0.8)
    assert imgs.shape == (5, 3, 16, 16) and imgs.abs().max() <= 1
    assert vae.reconstruct(imgs).shape == imgs.shape
