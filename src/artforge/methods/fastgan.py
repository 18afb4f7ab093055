"""FastGAN's training objective (Liu et al. 2021, "Towards Faster and Stabilized GAN Training for
High-fidelity Few-shot Image Synthesis", ICLR 2021); the networks are ``artforge.models.fastgan``.

* **Hinge loss** (the paper's, §4), always: D minimises relu(1 − D(x)) + relu(1 + D(G(z))), G
  minimises −D(G(z)).  ``loss="nsgan"`` (the trainer's default) and ``"hinge"`` both mean hinge;
  ``"wgan-gp"`` is refused.
* **Self-supervised discriminator** (§3.2): on every real batch D also rebuilds the picture from
  its 8×8 features and one quadrant from the matching part of its 16×16 features, and
  ``recon_weight`` (1, the paper's) × the reconstruction error joins D's loss.  The paper measures
  that error with LPIPS; there are no LPIPS weights offline, so this uses the mean squared error of
  both reconstructions (as lucidrains' *lightweight-gan* does).  The quadrant is chosen per picture
  from the training noise stream.
* Augmentation (DiffAugment, which the paper uses, or ADA) and R1 work as in :class:`GAN`: the
  real batch is augmented once and that one view feeds both the logits and the reconstruction
  targets; generated pictures pass through the same augmentation.
* The generator's injected noise is drawn from the training noise stream, so data-parallel runs
  and resumed runs are exact; when sampling, picture i's noise is a function of its latent
  (``artforge.models.fastgan.latent_noise``), so a seed always gives the same pictures.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artforge.methods.base import register_method
from artforge.methods.gan import GAN
from artforge.models.fastgan import latent_noise


@register_method
class FastGAN(GAN):
    name = "fastgan"
    export_parts = ("generator",)

    def __init__(self, nets: dict[str, nn.Module], loss: str = "hinge", recon_weight: float = 1.0, **kwargs):
        if loss not in ("hinge", "nsgan"):
            raise ValueError(f"fastgan trains with the paper's hinge loss; --loss {loss} does not apply")
        super().__init__(nets, loss="hinge", recon_weight=recon_weight, **kwargs)
        self.recon_weight = float(recon_weight)

    # -- training ---------------------------------------------------------------------------
    def _noise_fn(self, device: torch.device):
        """The generator's per-pixel noise, drawn from the training noise stream."""
        return lambda n, h, w: self.noise.randn(n, 1, h, w, device=device)

    def _fake(self, n: int, device: torch.device) -> torch.Tensor:
        return self.G(self.noise.randn(n, self.G.latent_dim, device=device), noise_fn=self._noise_fn(device))

    def _judge_real(self, real: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits for the augmented real batch, and the self-supervised reconstruction of that same view."""
        part = self.noise.randint(0, 4, real.size(0), device=real.device)  # which quadrant to rebuild, per picture
        seen = self.D(self._augment(real), part=part)
        recon = F.mse_loss(seen.recon_big.float(), seen.target_big.float()) + F.mse_loss(
            seen.recon_part.float(), seen.target_part.float()
        )
        return seen.logits.float(), {"recon": self.recon_weight * recon}

    # discriminator_loss: GAN's (hinge, R1, ADA), with the reconstruction term from _judge_real above.
    # generator_loss: GAN's, i.e. −D(aug(G(z))).mean() for the hinge loss, through _fake above.

    # -- sampling ---------------------------------------------------------------------------
    def render(self, z: torch.Tensor) -> torch.Tensor:
        """Pictures for latents ``z``; each picture's injected noise follows from its latent alone."""
        return self.sampler(z, noise_fn=latent_noise(z)).float().clamp(-1, 1)
