"""Progressive growing (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality,
Stability, and Variation"); the networks are ``artforge.models.pggan``.

Training starts at 4×4.  Each later resolution first fades in over ``grow_kimg`` thousand images
(alpha 0 → 1) and then trains stable for as many again (§2, §A.1), up to the full size.  Real
pictures are shown at the current resolution, and while a resolution fades in they are blended
between it and the one below with the same alpha (§A.1), so D never tells real from fake by the
sharpness the generator cannot have yet.

The schedule is a function of the images seen (training steps × global batch), and the stage is
a buffer of both networks, so a run resumed mid-fade continues exactly where it stopped.  The
paper's loss is WGAN-GP with one critic step per G step and the drift term; that is the default
here (``--loss auto``), with Adam(1e-3, β = (0, 0.99)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artforge.methods.base import Phase, register_method
from artforge.methods.gan import GAN


def stage_at(images: int, levels: int, grow_kimg: float) -> tuple[int, float]:
    """(level, alpha) after ``images`` training pictures: level 1 is 4×4, ``levels`` the full size.

    Example: with 20 kimg per phase, 4×4 for the first 20k images, 8×8 fading in until 40k,
    stable until 60k, 16×16 fading in until 80k, and so on.
    """
    phase = images / (grow_kimg * 1000)
    if phase < 1:
        return 1, 1.0
    k = phase - 1  # phases since the first resolution: fade, stable, fade, stable, ...
    level = 2 + int(k // 2)
    if level > levels:
        return levels, 1.0
    within = k - 2 * int(k // 2)
    return level, min(1.0, within)


@register_method
class PGGAN(GAN):
    name = "pggan"
    export_parts = ("generator",)

    def __init__(self, nets: dict[str, nn.Module], grow_kimg: float = 10.0, batch: int = 64, **kwargs):
        super().__init__(nets, grow_kimg=grow_kimg, batch=batch, **kwargs)
        self.grow_kimg, self.batch = float(grow_kimg), int(batch)

    def phases(self) -> list[Phase]:
        self._set_stage()  # once per training step, before any phase runs
        return super().phases()

    def _set_stage(self) -> None:
        level, alpha = stage_at(self._steps * self.batch, self.G.levels, self.grow_kimg)
        for net in (self.G, self.D):
            net.set_stage(level, alpha)

    def stage(self) -> tuple[int, float]:
        return self.G.current()

    def _at_stage(self, real: torch.Tensor) -> torch.Tensor:
        """Real pictures as D should see them now: at the current resolution, blended while fading in."""
        level, alpha = self.stage()
        factor = real.size(-1) // 2 ** (level + 1)
        if factor <= 1 and alpha >= 1:
            return real
        shown = F.interpolate(F.avg_pool2d(real, factor), scale_factor=factor, mode="nearest") if factor > 1 else real
        if alpha < 1:
            low = F.interpolate(F.avg_pool2d(real, 2 * factor), scale_factor=2 * factor, mode="nearest")
            shown = torch.lerp(low, shown, alpha)
        return shown

    def discriminator_loss(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        out = super().discriminator_loss(self._at_stage(real))
        level, alpha = self.stage()
        out["resolution"], out["alpha"] = torch.tensor(float(2 ** (level + 1))), torch.tensor(alpha)
        return out

    def state_dict(self) -> dict:
        level, alpha = self.stage()
        return {**super().state_dict(), "stage": {"resolution": 2 ** (level + 1), "alpha": alpha}}
