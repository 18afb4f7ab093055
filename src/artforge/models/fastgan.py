"""FastGAN networks (Liu, Zhu, Song & Elgammal, "Towards Faster and Stabilized GAN Training for
High-fidelity Few-shot Image Synthesis", ICLR 2021), written from the paper for 32–1024 px.

Generator (paper §3.1, fig. 3)
  * z → 4×4 by a 4×4 transposed convolution + batch norm + GLU;
  * one up-block per ×2: nearest upsampling, 3×3 convolution to twice the channels, batch norm,
    GLU.  At every other resolution (8, 32, 128, 512, as in the paper's 1024-px network) the block
    has a second 3×3 conv and per-pixel noise injection after each conv ("UpBlockComp"); the noise
    weights start at 0;
  * skip-layer excitation (SLE, §3.1): a low-resolution map gates the channels of a
    high-resolution one — adaptive average pool to 4×4, 4×4 conv to 1×1, LeakyReLU(0.1), 1×1 conv,
    sigmoid, multiply.  The paper's 1024-px network gates 128, 256 and 512 px by the maps 16 times
    smaller (8→128, 16→256, 32→512; the authors' code also 4→64; 1024 px is not gated).  Here every
    resolution from 64 to 512 px is gated by the one 16 times smaller, and at 32 px, where that rule
    names no pair, 32 by 4: so 32 px has 4→32, 64 px 4→64, 128 px 4→64 and 8→128, and so on;
  * a 3×3 conv to RGB and tanh.
Discriminator (paper §3.2, fig. 4)
  * spectral norm on every convolution (always; the ``spectral_norm`` option is ignored);
  * a 4×4 stride-2 conv + LeakyReLU(0.2), then down-blocks to 8×8: a 4×4 stride-2 conv, BN,
    LeakyReLU(0.2), 3×3 conv, BN, LeakyReLU, averaged with a skip path (2×2 average pool, 1×1 conv,
    BN, LeakyReLU) — the paper's "DownBlockComp";
  * SLE in D: a map gates the one 8 times smaller (the paper's 256→32, 128→16, 64→8, for sources of
    64–256 px).  Where no such pair exists (32 and 64 px pictures) the 8×8 map is gated by the first
    one (16 or 32 px);
  * logits as in the paper: 1×1 conv, BN, LeakyReLU, 4×4 conv on the 8×8 map → a 5×5 map of logits,
    averaged to one logit per picture, shape (N,);
  * self-supervision: two small decoders (up-blocks without noise, then a 3×3 conv to RGB + tanh).
    ``decoder_big`` rebuilds the whole picture from the 8×8 map at ``min(image_size, 128)`` px;
    ``decoder_part`` rebuilds one quadrant of the picture from the matching 8×8 quadrant of the
    16×16 map, at ``min(image_size // 2, 128)`` px.  Unlike the paper (128 px for both) the part
    decoder is one level smaller below 256 px, so a target is never upsampled.  The targets are
    the input picture (and its quadrant) shrunk by area averaging.  There is one logit head only:
    the second, small one on a downscaled copy of the input in the authors' code is left out.

Widths.  The paper's channel counts are a multiplier per resolution (4: 16, 8: 8, 16: 4, 32: 2,
64: 2, 128: 1, 256: ½, 512: ¼, 1024: ⅛) times ngf = ndf = 64; its decoders use half.  Here
``width`` plays ngf and ndf (at least 8 channels anywhere).  The default, :data:`DEFAULT_WIDTH` =
16, is a quarter of the paper's, chosen so that FastGAN costs at most about twice DCGAN's time per
step on a CPU: at 64 px G has 256, 128, 64, 32, 32 channels at 4…64 px (DCGAN's default: 512…64
at 4…32 px) and D 32, 64, 128 at 32…8 px.  Measured on a 2-core CPU (one D step + one G step,
batch 64, channels-last as the trainer runs it): ``dcgan`` (width 64, spectral norm) 1.0 s in fp32,
0.65 s in bf16; FastGAN at width 16 1.7–1.9 s and 0.95 s (186 vs 159 GFLOP per step; the rest is
memory traffic of its full-resolution 3×3 convs and GLUs); width 12 matches DCGAN's time; width 32
has 4× the arithmetic of width 16, the paper's 64 16×.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from artforge.models.layers import raw_weight
from artforge.models.registry import register_model
from artforge.randomness import latent_generators

DEFAULT_WIDTH = 16  # the paper's ngf/ndf is 64; see the module docstring
MIN_SIZE, MAX_SIZE = 32, 1024
# The paper's channel multipliers per resolution (times ngf / ndf; decoders use half).
MULTIPLIERS = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}
MIN_CHANNELS = 8
NOISY_RESOLUTIONS = (8, 32, 128, 512)  # up-blocks with a second conv and noise injection (UpBlockComp)

NoiseFn = Callable[[int, int, int], torch.Tensor]  # (n, h, w) -> noise of shape (n, 1, h, w)


def check_size(image_size: int) -> int:
    """log2 of ``image_size``, which must be a power of two from 32 to 1024."""
    levels = int(math.log2(image_size)) if image_size >= 1 else 0
    if not MIN_SIZE <= image_size <= MAX_SIZE or 2**levels != image_size:
        raise ValueError(f"fastgan needs a power-of-two image size from 32 to 1024 (32, 64, 128, …), got {image_size}")
    return levels


def channels_at(resolution: int, width: int, scale: float = 1.0) -> int:
    """Channels of the feature map at ``resolution`` px for base width ``width`` (the paper's ngf)."""
    return max(MIN_CHANNELS, int(MULTIPLIERS[resolution] * width * scale))


def generator_sle_pairs(image_size: int) -> list[tuple[int, int]]:
    """(low, high) resolutions whose SLE lets ``low`` gate ``high`` in the generator."""
    pairs = [(r // 16, r) for r in (64, 128, 256, 512) if r <= image_size]
    return pairs or [(4, 32)]


def discriminator_sle_pairs(image_size: int) -> list[tuple[int, int]]:
    """(source, target) resolutions whose SLE lets ``source`` gate the 8× smaller ``target`` in D."""
    pairs = [(r, r // 8) for r in (256, 128, 64) if r <= image_size // 2]
    return pairs or [(image_size // 2, 8)]


def _init(module: nn.Module) -> None:
    # The paper's initialisation: N(0, 0.02) convolution weights, batch-norm scale N(1, 0.02).
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(raw_weight(m), 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _plain(m: nn.Module) -> nn.Module:
    return m


def glu(x: torch.Tensor) -> torch.Tensor:
    """Gated linear unit over channels: first half × sigmoid(second half).

    Written out rather than ``F.glu``: on CPU, ``F.glu``'s backward hands a channels-last input its
    gradient in the contiguous layout, which sends the batch norm before it down a slow path
    (measured 3.5× slower for the 64-px maps at 64 px, a quarter of a training step).
    """
    a, b = x.chunk(2, dim=1)
    return a * torch.sigmoid(b)


class GLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return glu(x)


# ----------------------------------------------------------------------------- shared blocks


class NoiseInjection(nn.Module):
    """x + w·noise with one learned scalar w (starts at 0) and one noise value per pixel."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise_fn: NoiseFn | None = None) -> torch.Tensor:
        n, _, h, w = x.shape
        if noise_fn is None:
            noise = torch.randn(n, 1, h, w, device=x.device, dtype=x.dtype)
        else:
            noise = noise_fn(n, h, w).to(device=x.device, dtype=x.dtype)
        return x + self.weight.to(x.dtype) * noise


class UpBlock(nn.Module):
    """Nearest ×2, 3×3 conv, BN, GLU; with ``noisy`` a second conv, and noise after each conv."""

    def __init__(self, c_in: int, c_out: int, noisy: bool = False, wrap=_plain):
        super().__init__()
        self.noisy = noisy
        self.conv1 = wrap(nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(2 * c_out)
        if noisy:
            self.noise1 = NoiseInjection()
            self.conv2 = wrap(nn.Conv2d(c_out, 2 * c_out, 3, 1, 1, bias=False))
            self.noise2 = NoiseInjection()
            self.bn2 = nn.BatchNorm2d(2 * c_out)

    def forward(self, x: torch.Tensor, noise_fn: NoiseFn | None = None) -> torch.Tensor:
        x = self.conv1(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        if not self.noisy:
            return glu(self.bn1(x))
        x = glu(self.bn1(self.noise1(x, noise_fn)))
        return glu(self.bn2(self.noise2(self.conv2(x), noise_fn)))


class SkipExcitation(nn.Module):
    """Skip-layer excitation: ``target`` × sigmoid(f(``source``)), one gate per channel and picture."""

    def __init__(self, c_source: int, c_target: int, wrap=_plain):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            wrap(nn.Conv2d(c_source, c_target, 4, 1, 0, bias=False)),  # 4×4 → 1×1
            nn.LeakyReLU(0.1),
            wrap(nn.Conv2d(c_target, c_target, 1, 1, 0, bias=False)),
            nn.Sigmoid(),
        )

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return target * self.gate(source)


# ----------------------------------------------------------------------------- generator


class FastGANGenerator(nn.Module):
    """z (N, latent_dim) → pictures (N, channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, image_size: int = 64, channels: int = 3, latent_dim: int = 256, width: int | None = None, **_):
        super().__init__()
        levels = check_size(image_size)
        width = DEFAULT_WIDTH if width is None else int(width)
        if width < 1:
            raise ValueError(f"fastgan needs a positive width, got {width}")
        self.latent_dim, self.image_size = latent_dim, image_size
        self.resolutions = [2**k for k in range(2, levels + 1)]  # 4 … image_size
        c = {r: channels_at(r, width) for r in self.resolutions}
        self.init = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 2 * c[4], 4, 1, 0, bias=False),  # 1×1 → 4×4
            nn.BatchNorm2d(2 * c[4]),
            GLU(),
        )
        self.blocks = nn.ModuleList(
            UpBlock(c[r // 2], c[r], noisy=r in NOISY_RESOLUTIONS) for r in self.resolutions[1:]
        )
        self.sle_pairs = generator_sle_pairs(image_size)
        self.sle = nn.ModuleDict({str(high): SkipExcitation(c[low], c[high]) for low, high in self.sle_pairs})
        self.to_rgb = nn.Conv2d(c[image_size], channels, 3, 1, 1)
        _init(self)

    def forward(self, z: torch.Tensor, noise_fn: NoiseFn | None = None) -> torch.Tensor:
        """``noise_fn(n, h, w)`` gives the injected noise, shape (n, 1, h, w); None: ``torch.randn``."""
        sources = {low for low, _ in self.sle_pairs}
        gates = dict((high, low) for low, high in self.sle_pairs)
        x = self.init(z[:, :, None, None])
        kept = {4: x} if 4 in sources else {}
        for r, block in zip(self.resolutions[1:], self.blocks):
            x = block(x, noise_fn)
            if r in gates:
                x = self.sle[str(r)](kept[gates[r]], x)
            if r in sources:
                kept[r] = x
        return torch.tanh(self.to_rgb(x))


def latent_noise(z: torch.Tensor) -> NoiseFn:
    """A ``noise_fn`` whose noise for picture i depends on latent row i alone.

    Sampling then gives picture i of a seed whatever the batch it is drawn in, and never touches
    torch's global random state.  Each row seeds its own generator from a hash of its values.
    """
    generators = latent_generators(z)

    def noise_fn(n: int, h: int, w: int) -> torch.Tensor:
        if n != len(generators):
            raise ValueError(f"noise for {n} pictures asked of latents for {len(generators)}")
        return torch.stack([torch.randn(1, h, w, generator=g) for g in generators]).to(z.device)

    return noise_fn


# ----------------------------------------------------------------------------- discriminator


class DownBlock(nn.Module):
    """The paper's DownBlockComp: the mean of (4×4 stride-2 conv, BN, LReLU, 3×3 conv, BN, LReLU)
    and a skip path (2×2 average pool, 1×1 conv, BN, LReLU)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.main = nn.Sequential(
            _sn(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.2, inplace=True),
            _sn(nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.skip = nn.Sequential(
            nn.AvgPool2d(2),
            _sn(nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False)),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.2, inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) / 2


class Decoder(nn.Module):
    """8×8 features → a picture of ``out_size`` px: up-blocks (no noise), 3×3 conv to RGB, tanh."""

    def __init__(self, c_in: int, out_size: int, width: int, channels: int = 3):
        super().__init__()
        resolutions = [2**k for k in range(4, int(math.log2(out_size)) + 1)]  # 16 … out_size
        widths = [c_in] + [channels_at(r, width, 0.5) for r in resolutions]
        self.blocks = nn.Sequential(*(UpBlock(a, b, wrap=_sn) for a, b in zip(widths[:-1], widths[1:])))
        self.to_rgb = _sn(nn.Conv2d(widths[-1], channels, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.to_rgb(self.blocks(x)))


class Reconstruction(NamedTuple):
    """What D returns when asked to reconstruct: logits and both reconstructions with their targets."""

    logits: torch.Tensor  # (N,)
    recon_big: torch.Tensor  # (N, C, S, S), S = min(image_size, 128)
    recon_part: torch.Tensor  # (N, C, P, P), P = min(image_size // 2, 128)
    target_big: torch.Tensor  # the input, shrunk to S (no gradient)
    target_part: torch.Tensor  # the chosen quadrant of the input, shrunk to P (no gradient)


def quadrant(x: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """Quadrant ``part[i]`` of map i (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right)."""
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, 2, h // 2, 2, w // 2)
    return blocks[torch.arange(n, device=x.device), :, part // 2, :, part % 2, :]


class FastGANDiscriminator(nn.Module):
    """Pictures (N, channels, image_size, image_size) → logits (N,); with ``part``, also reconstructions."""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int | None = None, **_):
        super().__init__()
        levels = check_size(image_size)
        width = DEFAULT_WIDTH if width is None else int(width)
        if width < 1:
            raise ValueError(f"fastgan needs a positive width, got {width}")
        self.image_size = image_size
        self.resolutions = [2**k for k in range(levels - 1, 2, -1)]  # image_size/2 … 8
        c = {r: channels_at(r, width) for r in [*self.resolutions, 4]}
        self.stem = nn.Sequential(
            _sn(nn.Conv2d(channels, c[image_size // 2], 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, inplace=True)
        )
        self.down = nn.ModuleList(DownBlock(c[r * 2], c[r]) for r in self.resolutions[1:])
        self.sle_pairs = discriminator_sle_pairs(image_size)
        self.sle = nn.ModuleDict({str(dst): SkipExcitation(c[src], c[dst], wrap=_sn) for src, dst in self.sle_pairs})
        self.head = nn.Sequential(
            _sn(nn.Conv2d(c[8], c[4], 1, 1, 0, bias=False)),
            nn.BatchNorm2d(c[4]),
            nn.LeakyReLU(0.2, inplace=True),
            _sn(nn.Conv2d(c[4], 1, 4, 1, 0, bias=False)),  # 8×8 → a 5×5 map of logits
        )
        self.big_size, self.part_size = min(image_size, 128), min(image_size // 2, 128)
        self.decoder_big = Decoder(c[8], self.big_size, width, channels)
        self.decoder_part = Decoder(c[16], self.part_size, width, channels)
        _init(self)

    def features(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """Feature maps by resolution (image_size/2 … 8), after their SLE gates."""
        sources = {src for src, _ in self.sle_pairs}
        gates = dict((dst, src) for src, dst in self.sle_pairs)
        h = self.stem(x)
        feats = {self.resolutions[0]: h}
        for r, block in zip(self.resolutions[1:], self.down):
            h = block(h)
            if r in gates:
                h = self.sle[str(r)](feats[gates[r]], h)
            feats[r] = h
        keep = sources | {8, 16}
        return {r: f for r, f in feats.items() if r in keep}

    def targets(self, x: torch.Tensor, part: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the decoders should rebuild: ``x`` and its quadrants ``part``, shrunk (no gradient)."""
        x = x.detach()
        big = F.interpolate(x, size=self.big_size, mode="area") if x.size(-1) != self.big_size else x
        q = quadrant(x, part)
        small = F.interpolate(q, size=self.part_size, mode="area") if q.size(-1) != self.part_size else q
        return big, small

    def forward(self, x: torch.Tensor, part: torch.Tensor | int | None = None):
        """Logits (N,); with ``part`` (an int or an int64 tensor (N,) of quadrants 0–3, chosen by the
        caller) a :class:`Reconstruction` for the self-supervised loss."""
        feats = self.features(x)
        logits = self.head(feats[8]).flatten(1).mean(1)
        if part is None:
            return logits
        if not torch.is_tensor(part):
            part = torch.full((x.size(0),), int(part), dtype=torch.int64)
        part = part.to(x.device)
        recon_big = self.decoder_big(feats[8])
        recon_part = self.decoder_part(quadrant(feats[16], part))
        target_big, target_part = self.targets(x, part)
        return Reconstruction(logits, recon_big, recon_part, target_big, target_part)


register_model(
    "fastgan",
    method="fastgan",
    parts={"generator": FastGANGenerator, "discriminator": FastGANDiscriminator},
    description="FastGAN (Liu et al. 2021): skip-layer excitation, self-supervised D, 32–1024 px",
)
