"""DCGAN networks.

``dcgan-seed`` ports the seed article's Keras listing faithfully to PyTorch at
64×64.  Keras defaults are kept where they differ from PyTorch's, because they
are part of the listing's behaviour: LeakyReLU slope 0.3, batch-norm momentum
0.99 (PyTorch 0.01) and epsilon 1e-3, Glorot-uniform kernels and zero biases.
The listing's bugs are *not* ported (``self.layers`` clashing with Keras'
property; one optimizer shared by G and D; losses applied to batch means) —
the method layer owns the objective.

``dcgan`` is the standard DCGAN of Radford, Metz & Chintala (2016) at power-of-two
sizes from 16 px (16–512 is the range it is meant for; larger sizes build but are
untested): transposed convolutions doubling resolution from 4×4, batch norm + ReLU
in G, strided convolutions + LeakyReLU(0.2) in D.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from artforge.models.layers import TEXT_BANK, FastDropout, level_widths, raw_weight, text_input, upsampling_levels
from artforge.models.registry import register_model

# ----------------------------------------------------------------------------- seed port

KERAS_LEAKY_SLOPE = 0.3  # keras.layers.LeakyReLU() default alpha
KERAS_BN = dict(momentum=0.01, eps=1e-3)  # keras momentum 0.99 == torch momentum 0.01


def _glorot_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(raw_weight(m))
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class SeedGenerator(nn.Module):
    """Dense → 8×8×256 → BN, LeakyReLU → ConvT 128 → ConvT 64 → ConvT image, tanh (64×64)."""

    def __init__(self, latent_dim: int = 100, channels: int = 3, image_size: int = 64, **_):
        super().__init__()
        if image_size != 64:
            raise ValueError("dcgan-seed is the seed article's 64×64 network; use --model dcgan for other sizes")
        self.latent_dim = latent_dim
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 256 * 8 * 8),
            nn.BatchNorm1d(256 * 8 * 8, **KERAS_BN),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
        )
        self.body = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1),
            nn.BatchNorm2d(128, **KERAS_BN),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1),
            nn.BatchNorm2d(64, **KERAS_BN),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1),
            nn.Tanh(),
        )
        _glorot_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # Keras reshapes (N, 8*8*256) to NHWC (8, 8, 256); in NCHW that is a
        # permutation of the same features, equivalent up to re-indexing the dense layer.
        x = self.project(z).view(-1, 256, 8, 8)
        return self.body(x)


class SeedDiscriminator(nn.Module):
    """Conv 64 → Conv 128 (4×4, stride 2, LeakyReLU, dropout 0.25) → dense to one logit."""

    def __init__(
        self, channels: int = 3, image_size: int = 64, dropout: float = 0.25, spectral_norm: bool = False, **_
    ):
        super().__init__()
        wrap = _sn if spectral_norm else (lambda m: m)
        self.features = nn.Sequential(
            wrap(nn.Conv2d(channels, 64, 4, stride=2, padding=1)),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            FastDropout(dropout),
            wrap(nn.Conv2d(64, 128, 4, stride=2, padding=1)),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            FastDropout(dropout),
        )
        self.logit = wrap(nn.Linear(128 * (image_size // 4) ** 2, 1))
        _glorot_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x).flatten(1)).squeeze(1)


register_model(
    "dcgan-seed",
    method="gan",
    parts={"generator": SeedGenerator, "discriminator": SeedDiscriminator},
    description="the seed article's DCGAN, ported faithfully (64×64)",
)

# ----------------------------------------------------------------------------- scalable DCGAN


def _norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        # Layer norm over (C, H, W): what Gulrajani et al. use in a WGAN-GP critic,
        # because batch norm breaks the per-sample gradient penalty.
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r} (batch, layer, none)")


def _dcgan_init(module: nn.Module) -> None:
    # N(0, 0.02) weights, BN scale N(1, 0.02) — Radford et al. §4.
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(raw_weight(m), 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """With ``text_dim`` > 0 the generator is conditioned on a caption embedding: its latent is
    ``[z | e]`` (``latent_dim`` + ``text_dim`` entries), so seeds, walks, blends and projection treat
    caption and noise alike; ``captions`` holds a bank of training-caption embeddings to draw ``e``
    from when no prompt is given (see :class:`artforge.methods.gan.GAN`)."""

    def __init__(
        self,
        latent_dim: int = 100,
        channels: int = 3,
        image_size: int = 64,
        width: int = 64,
        max_width: int = 512,
        text_dim: int = 0,
        **_,
    ):
        super().__init__()
        self.z_dim, self.text_dim = latent_dim, text_dim
        self.latent_dim = latent_dim + text_dim  # the whole latent, caption included
        if text_dim:
            self.register_buffer("captions", torch.zeros(TEXT_BANK, text_dim))
        levels = upsampling_levels(image_size, "dcgan")
        widths = level_widths(levels, width, max_width)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim + text_dim, widths[0], 4, 1, 0, bias=False),  # 1×1 → 4×4
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.text_dim:
            z = torch.cat([z[:, : self.z_dim], text_input(z[:, self.z_dim :])], 1)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    def __init__(
        self,
        channels: int = 3,
        image_size: int = 64,
        width: int = 64,
        max_width: int = 512,
        norm: str = "batch",
        spectral_norm: bool = False,
        text_dim: int = 0,
        **_,
    ):
        super().__init__()
        self.text_dim = text_dim
        levels = upsampling_levels(image_size, "dcgan")
        widths = list(reversed(level_widths(levels, width, max_width)))
        wrap = _sn if spectral_norm else (lambda m: m)
        if spectral_norm:
            norm = "none"  # SN-GAN critics use no other normalisation (Miyato et al. 2018)
        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, widths[0], 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [
                wrap(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none")),
                _norm2d(norm, c_out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        layers += [wrap(nn.Conv2d(widths[-1], 1, 4, 1, 0))]  # 4×4 → one logit
        self.net = nn.Sequential(*layers)
        if text_dim:  # the projection discriminator's class embedding, here a map of the caption embedding
            self.embed = wrap(nn.Linear(text_dim, widths[-1], bias=False))
        _dcgan_init(self)

    def forward(self, x: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        if not self.text_dim:
            return self.net(x).flatten(1).squeeze(1)
        # Projection discriminator (Miyato & Koyama 2018, eq. 3): ψ(φ(x)) + ⟨V e, φ(x)⟩, with φ(x) the
        # sum-pooled last features: a mismatched caption lowers the logit, so G must draw what it says.
        h = self.net[:-1](x)
        return self.net[-1](h).flatten(1).squeeze(1) + (self.embed(text_input(text)) * h.sum((2, 3))).sum(1)


register_model(
    "dcgan",
    method="gan",
    parts={"generator": DCGANGenerator, "discriminator": DCGANDiscriminator},
    description="standard DCGAN (Radford et al. 2016), 16–512 px, width and norm configurable",
)
