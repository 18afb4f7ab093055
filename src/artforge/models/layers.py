"""Small building blocks shared by the networks: layer helpers, resolution pyramids, fast dropout, and the
equalised-learning-rate layers and minibatch standard deviation of the Karras et al. networks (pggan, stylegan)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

TEXT_BANK = 256  # training-caption embeddings a text-conditioned network keeps, to draw from without a prompt


def text_input(e: torch.Tensor) -> torch.Tensor:
    """A caption embedding as the networks take it: unit length, then scaled so each entry has about the
    spread of a latent entry (a 384-d unit vector's entries are ~0.05; z's are ~1).  Normalising here also
    makes any blend or walk of captions a valid input; the all-zero "no caption" stays zero."""
    return F.normalize(e.float(), dim=1) * e.size(1) ** 0.5


def raw_weight(module: nn.Module) -> torch.Tensor:
    """The weight parameter to initialise: under spectral norm that is ``parametrizations.weight.original``
    (``module.weight`` is then a computed tensor, and initialising it would change nothing)."""
    if hasattr(module, "parametrizations") and "weight" in module.parametrizations:
        return module.parametrizations.weight.original
    return module.weight


def upsampling_levels(image_size: int, model: str = "this model") -> int:
    """How many ×2 steps lead from 4×4 to ``image_size`` (a power of two, at least 16); e.g. 64 -> 4.

    ``model`` names the network in the error for other sizes.
    """
    levels = int(math.log2(image_size)) - 2 if image_size >= 1 else 0
    if image_size < 16 or 2 ** (levels + 2) != image_size:
        raise ValueError(f"{model} needs a power-of-two image size of at least 16 (16, 32, 64, …), got {image_size}")
    return levels


def level_widths(levels: int, width: int, max_width: int) -> list[int]:
    """Channels per level, coarsest (4×4) first: ``width`` at the finest level, doubling towards the coarsest,
    capped at ``max_width`` — channel count halves with every doubling of resolution (Radford et al. 2016, fig. 1).

    Example::

        >>> level_widths(4, 64, 512)
        [512, 256, 128, 64]
    """
    return [min(width * 2 ** (levels - 1 - i), max_width) for i in range(levels)]


class FastDropout(nn.Module):
    """Dropout (Srivastava et al. 2014) whose CPU mask is cut from 64-bit random words.

    On CPU, ``F.dropout`` draws one Mersenne-Twister number per element through
    ``bernoulli_``; in the seed discriminator that was 35 % of a bf16 training step
    (bench/RESULTS.md).  Here four 16-bit draws come from every 64-bit word: element i
    is kept when its draw u_i >= round(p·65536) - 32768, so P(drop) = round(p·65536)/65536
    — exactly p for p = 0.25.  Kept elements are scaled by 1/(1-p) as usual.  It draws
    from torch's global generator, so seeded runs and exact resume stay exact.  Off CPU
    it is plain ``F.dropout``.  No parameters: state dicts match ``nn.Dropout``.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.device.type != "cpu":
            return F.dropout(x, self.p, self.training)
        if not (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
            x = x.contiguous()
        n = x.numel()
        words = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
        draws = torch.as_strided(words.view(torch.int16)[:n], x.shape, x.stride())  # same memory order as x
        keep = draws >= round(self.p * 65536) - 32768
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ----------------------------------------------------------------------------- Karras et al. layers

SQRT2 = math.sqrt(2.0)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (0.2) times √2, which keeps the variance of a He-initialised layer's output."""
    return F.leaky_relu(x, 0.2) * SQRT2


class EqualLinear(nn.Module):
    """Dense layer with the equalised learning rate; ``lr_mul`` slows it further (the mapping's 0.01)."""

    def __init__(self, c_in: int, c_out: int, bias_init: float = 0.0, lr_mul: float = 1.0, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((c_out,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(c_in), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return lrelu(x) if self.activate else x


class EqualConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True, activate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale, self.activate = 1 / math.sqrt(c_in * kernel * kernel), activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.size(-1) // 2)
        return lrelu(x) if self.activate else x


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append the mean std over groups of samples as one channel (Karras et al. 2018, §3)."""
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:  # a batch that groups of 4 do not divide: the largest group size that does
        g -= 1
    y = x.float().reshape(g, n // g, c, h, w)
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # std over the group
    y = y.mean(dim=(1, 2, 3)).reshape(n // g, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """The last 4×4 block of the Karras et al. discriminators: the minibatch standard deviation as
    an extra channel, a 3×3 conv, a dense layer and one logit per picture."""

    def __init__(self, channels: int, mbstd_group: int = 4):
        super().__init__()
        self.mbstd_group = mbstd_group
        self.conv = EqualConv2d(channels + 1, channels, 3)
        self.fc = EqualLinear(channels * 16, channels, activate=True)
        self.out = EqualLinear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(minibatch_stddev(x, self.mbstd_group))
        return self.out(self.fc(x.flatten(1))).squeeze(1)
