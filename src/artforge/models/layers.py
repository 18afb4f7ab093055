"""Small building blocks shared by the networks: layer helpers, resolution pyramids, fast dropout."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


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
