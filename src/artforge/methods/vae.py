"""Variational autoencoder training: maximise the ELBO (Kingma & Welling 2014).

ELBO(x) = E_q(z|x)[log p(x|z)] - β · KL(q(z|x) ‖ N(0, I)),  β = 1 is the true bound
(Higgins et al. 2017 for β ≠ 1).  p(x|z) is a Gaussian whose mean is the decoder
output and whose per-channel scale is learned (see ``artforge.models.vae``).
Both terms are summed over pixels and latent dimensions and averaged over the
batch; ``bits_per_dim`` is the negative ELBO in bits per pixel channel, the
figure VAE papers report (for data in [-1, 1] scaled to 8 bits it includes the
log 127.5 change of variables).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from artforge.methods.base import Method, Phase, register_method


@register_method
class VAE(Method):
    name = "vae"
    export_parts = ("vae",)

    def __init__(self, nets: dict[str, nn.Module], beta: float = 1.0, **_):
        super().__init__(nets, beta=beta)
        self.beta = beta
        self.model = nets["vae"]

    def phases(self) -> list[Phase]:
        return [Phase("vae", self.negative_elbo)]

    def trainable(self) -> dict[str, list[nn.Module]]:
        return {"vae": [self.model]}

    def negative_elbo(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, logvar = self.model.encode(x)
        mu, logvar = mu.float(), logvar.float()
        eps = self.noise.randn(mu.size(0), mu.size(1), device=mu.device)
        z = mu + eps * torch.exp(0.5 * logvar)  # reparameterisation trick
        x_mean = self.model.decode(z).float()
        log_sigma = self.model.log_sigma.float().view(1, -1, 1, 1)
        nll = 0.5 * ((x.float() - x_mean) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi)
        nll = nll.flatten(1).sum(1).mean()
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()  # KL(N(mu, σ²) ‖ N(0, I)), closed form
        dims = x[0].numel()
        bpd = (nll + kl) / (dims * math.log(2)) + math.log2(127.5)
        return {"loss": nll + self.beta * kl, "nll": nll.detach(), "kl": kl.detach(), "bits_per_dim": bpd.detach()}

    def truncate(self, z: torch.Tensor, truncation: float | None, generator: torch.Generator | None) -> torch.Tensor:
        """Temperature sampling: scale the prior sample by ``truncation`` (< 1 gives more typical images)."""
        return z if truncation is None or truncation <= 0 else z * truncation

    def render(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z).float().clamp(-1, 1)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode(x)[0]

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.reconstruct(x)
