"""Generative adversarial training (Goodfellow et al. 2014) with the usual modern options.

Losses
  * ``nsgan`` — the non-saturating loss of the original paper (§3): D minimises
    softplus(-D(x)) + softplus(D(G(z))), G minimises softplus(-D(G(z))).
  * ``hinge`` — Lim & Ye 2017 / Miyato et al. 2018: D relu(1 - D(x)) + relu(1 + D(G(z))), G -D(G(z)).
  * ``wgan-gp`` — Gulrajani et al. 2017: critic D(G(z)) - D(x) + λ (‖∇D(x̂)‖ - 1)² on random
    interpolates x̂, n_critic critic steps per generator step, Adam(β1=0, β2=0.9); plus the small drift
    term ε·D(x)² of Karras et al. 2018 that keeps critic outputs from wandering.
Regularisers
  * R1 (Mescheder, Geiger & Nowozin 2018): γ/2 · E‖∇D(x)‖² on real images.  Like the gradient
    penalty it is computed in fp32 whatever the autocast precision: its double backward takes a
    gradient that the loss scaler never sees, so in fp16 small gradients would underflow to zero.
Augmentation (what D sees of real and generated pictures alike)
  * ``diffaugment`` — DiffAugment (Zhao et al. 2020), a fixed policy, see ``artforge.data.augment``;
  * ``ada`` — adaptive discriminator augmentation (Karras et al. 2020), see ``artforge.data.ada``:
    its probability p follows the overfitting heuristic r_t, is logged (``discriminator/ada_p``)
    and saved with the training state.
The seed article's listing applies its losses to batch *means* of the logits and steps
G and D with one shared optimizer; both are wrong, and neither is reproduced here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artforge.data.ada import AdaptiveAugment
from artforge.data.augment import diff_augment, parse_policy
from artforge.methods.base import Method, Phase, register_method

LOSSES = ("nsgan", "hinge", "wgan-gp")
MODE_SEEKING = 1.0  # λ of the mode-seeking term for text-conditioned G (MSGAN's value)
ADA_INTERVAL = 4  # steps between adjustments of ADA's p (the paper's 4 minibatches)


@register_method
class GAN(Method):
    name = "gan"
    export_parts = ("generator",)

    def __init__(
        self,
        nets: dict[str, nn.Module],
        loss: str = "nsgan",
        n_critic: int = 1,
        gp_weight: float = 10.0,
        drift: float = 1e-3,
        r1_gamma: float = 0.0,
        diffaugment: str = "",
        augment: str | None = None,
        ada_target: float = 0.6,
        ada_kimg: float = 100.0,
        **extra,
    ):
        # None: a model exported before --augment existed, where the DiffAugment policy said it all.
        augment = augment or ("diffaugment" if diffaugment else "none")
        super().__init__(
            nets,
            loss=loss,
            n_critic=n_critic,
            gp_weight=gp_weight,
            drift=drift,
            r1_gamma=r1_gamma,
            diffaugment=diffaugment,
            augment=augment,
            ada_target=ada_target,
            ada_kimg=ada_kimg,
            **extra,
        )
        if loss not in LOSSES:
            raise ValueError(f"unknown GAN loss {loss!r}; choose one of {', '.join(LOSSES)}")
        self.loss_name = loss
        self.n_critic = max(1, int(n_critic))
        self.gp_weight, self.drift, self.r1_gamma = gp_weight, drift, r1_gamma or 0.0
        self.augment = parse_policy(diffaugment) if augment == "diffaugment" else ()
        self.ada = AdaptiveAugment(ada_target, ada_kimg) if augment == "ada" else None
        self._steps = 0  # training steps seen (ADA adjusts every ADA_INTERVAL)
        self.G = nets["generator"]
        self.D = nets.get("discriminator")  # absent when loaded from an export for sampling
        # Text-conditioned (--text-cond): batches are (pictures, caption embeddings); the generator's latent
        # ends with the caption embedding, and D is a projection discriminator (artforge.models.dcgan).
        self.text_dim = getattr(self.G, "text_dim", 0)
        self._text: torch.Tensor | None = None  # the captions of the batch being judged

    # -- training ---------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        return [Phase("discriminator", self.discriminator_loss)] * self.n_critic + [
            Phase("generator", self.generator_loss, needs_data=False)
        ]

    def trainable(self) -> dict[str, list[nn.Module]]:
        return {"discriminator": [self.D], "generator": [self.G]}

    def _fake(self, n: int, device: torch.device) -> torch.Tensor:
        if self.text_dim:  # drawn for the batch's own captions
            return self.G(torch.cat([self.noise.randn(n, self.G.z_dim, device=device), self._text[:n]], 1))
        return self.G(self.noise.randn(n, self.G.latent_dim, device=device))

    def _unpack(self, batch) -> torch.Tensor:
        """The pictures of a batch; a text-conditioned batch's captions are kept for D and G."""
        if self.text_dim:
            real, self._text = batch
            return real
        return batch

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """What D sees of a batch (real or generated): augmented the same way for both."""
        if self.ada is not None:
            return self.ada(x, self.noise)
        return diff_augment(x, self.augment, self.noise)

    def _observe_real(self, d_real: torch.Tensor, out: dict[str, torch.Tensor]) -> None:
        """Feed ADA's heuristic with D's verdict on real pictures, and log p and sign(D(real))."""
        if self.ada is None:
            return
        self.ada.observe(d_real)
        out["ada_p"] = torch.tensor(self.ada.p)
        out["ada_rt"] = torch.sign(d_real.detach()).mean()

    def end_step(self, reduce_sum=None) -> None:
        self._steps += 1
        if self.ada is not None and self._steps % ADA_INTERVAL == 0:
            self.ada.adjust(reduce_sum)

    def state_dict(self) -> dict:
        state = {"steps": self._steps}
        if self.ada is not None:
            state["ada"] = self.ada.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self._steps = int(state.get("steps", 0))
        if self.ada is not None and "ada" in state:
            self.ada.load_state_dict(state["ada"])

    def _critic(self, x: torch.Tensor) -> torch.Tensor:
        # Logits in fp32 whatever the autocast precision: the losses below are sums of
        # softplus/relu terms that lose accuracy in bf16.
        if self.text_dim:
            return self.D(self._augment(x), self._text[: x.size(0)]).float()
        return self.D(self._augment(x)).float()

    def _judge_real(self, real: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's logits for a real batch, and any extra loss terms D earns on it (weighted; none here)."""
        return self._critic(real), {}

    def discriminator_loss(self, real) -> dict[str, torch.Tensor]:
        real = self._unpack(real)
        with torch.no_grad():
            fake = self._fake(real.size(0), real.device)
        r1_scale = self._r1_scale()
        r1 = r1_scale > 0
        real = real.detach().requires_grad_(r1)
        if r1:  # D(real) in fp32, so R1's double backward is too (see the module docstring)
            with torch.autocast(real.device.type, enabled=False):
                d_real, terms = self._judge_real(real.float())
        else:
            d_real, terms = self._judge_real(real)
        d_fake = self._critic(fake)
        out: dict[str, torch.Tensor] = {}
        if self.loss_name == "nsgan":
            loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        elif self.loss_name == "hinge":
            loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        else:
            out["wasserstein"] = (d_real.mean() - d_fake.mean()).detach()
            out["gp"] = self._gradient_penalty(real.detach(), fake)
            loss = d_fake.mean() - d_real.mean() + self.gp_weight * out["gp"] + self.drift * (d_real**2).mean()
        if r1:
            out["r1"] = self._r1(real, d_real)
            loss = loss + self.r1_gamma / 2 * r1_scale * out["r1"]
        for name, term in terms.items():
            loss = loss + term
            out[name] = term.detach()
        out["d_real"], out["d_fake"] = d_real.mean().detach(), d_fake.mean().detach()
        self._observe_real(d_real, out)
        out["loss"] = loss
        return out

    def generator_loss(self, real) -> dict[str, torch.Tensor]:
        real = self._unpack(real)
        if self.text_dim:
            return self._text_generator_loss(real.size(0), real.device)
        d_fake = self._critic(self._fake(real.size(0), real.device))
        return {"loss": self._g_adversarial(d_fake)}

    def _g_adversarial(self, d_fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-d_fake).mean() if self.loss_name == "nsgan" else -d_fake.mean()

    def _text_generator_loss(self, n: int, device: torch.device) -> dict[str, torch.Tensor]:
        """The adversarial loss plus mode seeking (Mao et al. 2019, MSGAN eq. 3): the batch's second half
        repeats the first half's captions with other z, and G is penalised when two latents of one caption
        draw the same picture.  Without it the conditional DCGAN learnt to ignore z: every latent of a
        caption gave one picture (seen on builtin:shapes, 3,000 steps)."""
        h = n // 2
        text = torch.cat([self._text[: n - h], self._text[:h]])  # row i and row n - h + i share a caption
        z = self.noise.randn(n, self.G.z_dim, device=device)
        fake = self.G(torch.cat([z, text], 1))
        self._text = text
        adversarial = self._g_adversarial(self._critic(fake))
        picture_gap = (fake[:h] - fake[n - h :]).float().abs().flatten(1).mean(1)
        latent_gap = (z[:h] - z[n - h :]).abs().mean(1)
        mode_seeking = 1 / ((picture_gap / latent_gap).mean() + 1e-5)
        return {"loss": adversarial + MODE_SEEKING * mode_seeking, "mode_seeking": mode_seeking.detach()}

    def _r1_scale(self) -> float:
        """How much of the R1 penalty this D step carries: 1 every step here (0 when off)."""
        return 1.0 if self.r1_gamma > 0 else 0.0

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        # Computed in fp32: second-order gradients in bf16 are too coarse for a penalty near 1.
        with torch.autocast(real.device.type, enabled=False):
            eps = self.noise.rand(real.size(0), 1, 1, 1, device=real.device)
            mixed = (eps * real.float() + (1 - eps) * fake.float()).requires_grad_(True)
            score = self._critic(mixed)
            (grad,) = torch.autograd.grad(score.sum(), mixed, create_graph=True)
            return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    def _r1(self, real: torch.Tensor, d_real: torch.Tensor) -> torch.Tensor:
        (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
        return grad.float().pow(2).flatten(1).sum(1).mean()

    # -- sampling ---------------------------------------------------------------------------
    def truncate(self, z: torch.Tensor, truncation: float | None, generator: torch.Generator | None) -> torch.Tensor:
        """The truncation trick of Brock et al. 2019 (BigGAN): resample every latent entry whose
        magnitude exceeds ``truncation``; smaller values trade variety for typicality."""
        if truncation is None or truncation <= 0:
            return z
        for _ in range(1000):
            outside = z.abs() > truncation
            if not outside.any():
                break
            z[outside] = torch.randn(int(outside.sum()), generator=generator)
        return z.clamp(-truncation, truncation)
