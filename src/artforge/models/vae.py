"""Convolutional VAE (Kingma & Welling 2014).

The encoder gives the mean and log-variance of q(z|x); the decoder gives the
mean of a Gaussian likelihood p(x|z) whose scale is one learned log-sigma per
channel — the "σ-VAE" of Rybkin, Daniilidis & Levine (2021): learning the
likelihood scale makes the ELBO a true bound and avoids hand-tuning a
reconstruction weight.  The objective lives in ``artforge.methods.vae``.
"""

from __future__ import annotations

import torch
from torch import nn

from artforge.models.layers import level_widths, upsampling_levels
from artforge.models.registry import register_model


def _block(c_in: int, c_out: int, down: bool) -> nn.Sequential:
    conv = nn.Conv2d(c_in, c_out, 4, 2, 1) if down else nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)
    # GroupNorm, not BatchNorm: a VAE's encoder must treat every image on its own.
    return nn.Sequential(conv, nn.GroupNorm(min(32, c_out // 4) or 1, c_out), nn.SiLU())


class ConvVAE(nn.Module):
    """``encode(x) -> (mu, logvar)``, ``decode(z) -> x_mean``, ``reconstruct(x)``.

    Example::

        vae = ConvVAE(image_size=32, latent_dim=64)
        mu, logvar = vae.encode(torch.rand(2, 3, 32, 32) * 2 - 1)
        x = vae.decode(mu)
    """

    def __init__(
        self, latent_dim: int = 128, channels: int = 3, image_size: int = 64, width: int = 32, max_width: int = 256, **_
    ):
        super().__init__()
        self.latent_dim = latent_dim
        levels = upsampling_levels(image_size, "vae")
        widths = list(reversed(level_widths(levels, width, max_width)))  # e.g. 32, 64, 128, 256
        down = [nn.Conv2d(channels, widths[0], 3, 1, 1), nn.SiLU()]
        down += [_block(widths[max(i - 1, 0)], widths[i], down=True) for i in range(levels)]
        self.encoder = nn.Sequential(*down)  # image_size / 2**levels == 4
        self.to_stats = nn.Linear(widths[-1] * 16, 2 * latent_dim)
        self.from_latent = nn.Linear(latent_dim, widths[-1] * 16)
        up = [_block(widths[i], widths[max(i - 1, 0)], down=False) for i in reversed(range(levels))]
        self.decoder = nn.Sequential(*up, nn.Conv2d(widths[0], channels, 3, 1, 1))
        self._top = widths[-1]
        # One learned log-sigma per channel of the Gaussian likelihood.
        self.log_sigma = nn.Parameter(torch.full((channels,), -1.0))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(self.encoder(x).flatten(1)).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_latent(z).view(-1, self._top, 4, 4)
        return self.decoder(h)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0]).clamp(-1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # forward() samples like a generator so every family can be driven the same way.
        return self.decode(z).clamp(-1, 1)


register_model(
    "vae",
    method="vae",
    parts={"vae": ConvVAE},
    description="convolutional VAE with a learned Gaussian likelihood (σ-VAE), 16–512 px",
)
