import math

import pytest
import torch
from torch import nn

from artforge.errors import ArtforgeError
from artforge.methods import create_method
from artforge.methods.diffusion import TIMESTEPS, cosine_alpha_bar, sampling_timesteps
from artforge.models import create_model

SIZE = 16


class GaussianOracle(nn.Module):
    """The exact denoiser for data x_0 ~ N(mu, s²) per pixel: E[x_0 | x_t] is linear in x_t.

    With it, DDIM integrates the true probability-flow ODE of these data, so the sampler's and the
    inversion's arithmetic can be checked against closed forms.
    """

    def __init__(self, prediction: str, mu: torch.Tensor, s: float):
        super().__init__()
        self.prediction, self.mu, self.s = prediction, mu, s
        self.alpha_bar = cosine_alpha_bar()
        self.image_size, self.channels, self.latent_dim = SIZE, 3, 3 * SIZE * SIZE
        self.anchor = nn.Parameter(torch.zeros(1))  # a parameter, so the method finds the device

    def forward(self, x, t):
        a = self.alpha_bar[t].view(-1, 1, 1, 1)
        gain = a.sqrt() * self.s**2 / (a * self.s**2 + 1 - a)
        x0 = self.mu + gain * (x - a.sqrt() * self.mu)
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        return eps if self.prediction == "eps" else a.sqrt() * eps - (1 - a).sqrt() * x0


def _oracle_method(prediction="v", **kw):
    mu = torch.linspace(-0.3, 0.3, 3 * SIZE * SIZE).view(1, 3, SIZE, SIZE)
    return create_method("ddpm", {"unet": GaussianOracle(prediction, mu, 0.2)}, prediction=prediction, **kw), mu


def test_cosine_schedule_matches_its_formula():
    a = cosine_alpha_bar()
    assert a.shape == (TIMESTEPS,) and (a[1:] < a[:-1]).all()
    f = lambda t: math.cos((t / TIMESTEPS + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 250, 500, 900):
        assert a[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-4)
    assert a[-1] < 1e-4 and a[0] > 0.9999


def test_respaced_timesteps_run_from_the_last_to_the_first():
    ts = sampling_timesteps(50)
    assert len(ts) == 50 and ts[0] == TIMESTEPS - 1 and ts[-1] == 0 and ts == sorted(set(ts), reverse=True)
    assert sampling_timesteps(1) == [TIMESTEPS - 1]  # one step starts from pure noise
    assert len(sampling_timesteps(TIMESTEPS)) == TIMESTEPS
    with pytest.raises(ArtforgeError, match="sample-steps"):
        sampling_timesteps(0)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_the_loss_is_zero_for_a_network_that_predicts_its_target(prediction):
    x0 = torch.rand(4, 3, SIZE, SIZE) * 2 - 1
    method = create_method("ddpm", create_model("ddpm", image_size=SIZE, width=8), prediction=prediction)
    torch.manual_seed(0)
    drawn = {}

    def draw(kind):
        original = getattr(method.noise, kind)

        def wrapped(*a, **k):
            drawn[kind] = original(*a, **k)
            return drawn[kind]

        return wrapped

    method.noise.randint, method.noise.randn = draw("randint"), draw("randn")
    alpha = cosine_alpha_bar()

    def perfect(x_t, t):
        a = alpha[t].view(-1, 1, 1, 1)
        eps = drawn["randn"]
        assert torch.allclose(x_t, a.sqrt() * x0 + (1 - a).sqrt() * eps, atol=1e-5)
        return eps if prediction == "eps" else a.sqrt() * eps - (1 - a).sqrt() * x0

    method.unet = perfect
    assert method.denoising_loss(x0)["loss"].item() < 1e-10


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_ddim_and_ddpm_draw_the_data_distribution_with_an_exact_denoiser(prediction):
    method, mu = _oracle_method(prediction)
    z = torch.randn(256, 3 * SIZE * SIZE, generator=torch.Generator().manual_seed(0))
    for sampler in ("ddim", "eta=0.5", "ddpm"):
        method.configure_sampling(steps=50, sampler=sampler)
        x = method.decode(z)
        assert (x.mean(0) - mu[0]).abs().mean() < 0.03, sampler
        assert x.std(0).mean().item() == pytest.approx(0.2, abs=0.03), sampler


def test_ddim_inversion_then_sampling_gives_the_picture_back():
    method, mu = _oracle_method("v", sample_steps=100)
    x = mu + 0.2 * torch.randn(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    z = method.invert(x)
    assert z.shape == (3, 3 * SIZE * SIZE)
    assert z.std().item() == pytest.approx(1.0, abs=0.1)  # lands on the Gaussian the sampler starts from
    back = method.decode(z)
    assert (back - x).abs().mean() < 0.02 and (back - x).abs().max() < 0.1  # discretisation error only
    assert (method.decode(torch.randn_like(z)) - x).abs().mean() > 0.1  # while another latent is far off


def test_one_latent_gives_one_picture_with_either_sampler():
    method = create_method("ddpm", create_model("ddpm", image_size=SIZE, width=8), sample_steps=3)
    method.unet.eval()  # no dropout: sampling reads EMA/export weights, which are in eval mode
    with torch.no_grad():
        for p in method.unet.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    z = torch.randn(3, 3 * SIZE * SIZE, generator=torch.Generator().manual_seed(0))
    for sampler in ("ddim", "eta=0.5", "ddpm"):
        method.configure_sampling(sampler=sampler)
        first, again, alone = method.decode(z), method.decode(z), method.decode(z[1:2])
        torch.testing.assert_close(first, again)
        torch.testing.assert_close(first[1:2], alone)
        assert (first[0] - first[1]).abs().mean() > 1e-3
    method.configure_sampling(sampler="ddim")
    ddim = method.decode(z)
    method.configure_sampling(sampler="eta=0.5")
    half = method.decode(z)
    method.configure_sampling(sampler="ddpm")
    ancestral = method.decode(z)
    assert (ancestral - ddim).abs().mean() > 1e-4  # ancestral noise really is added
    assert 1e-5 < (half - ddim).abs().mean() < (ancestral - ddim).abs().mean()  # η = 0.5: some of it


def test_bad_sampling_options_are_user_errors():
    nets = create_model("ddpm", image_size=SIZE, width=8)
    with pytest.raises(ArtforgeError, match="prediction"):
        create_method("ddpm", nets, prediction="x0")
    with pytest.raises(ArtforgeError, match="sample-steps"):
        create_method("ddpm", nets, sample_steps=0)
    method = create_method("ddpm", nets)
    for bad in ("euler", "eta=1.5", "eta=-0.1", "eta=half"):
        with pytest.raises(ArtforgeError, match="sampler must be ddim, ddpm or eta=X"):
            method.configure_sampling(sampler=bad)
