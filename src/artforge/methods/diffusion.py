"""Denoising diffusion (Ho et al. 2020, "DDPM"; Nichol & Dhariwal 2021, "Improved DDPM"; Song et al.
2021, "DDIM"; Salimans & Ho 2022 for v-prediction).

Training: pick a timestep t uniformly in [0, T), noise a real picture to
``x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε`` and regress the UNet's output on the target — ε itself
(``prediction="eps"``, Ho et al.'s simple loss) or the velocity ``v = √ᾱ_t · ε − √(1 − ᾱ_t) · x_0``
(``prediction="v"``, better conditioned at both ends of the schedule, the default).  ᾱ follows the
**cosine schedule** of Nichol & Dhariwal (eq. 17, s = 0.008, β clipped at 0.999), T = 1000.

Sampling: the generalised DDIM update on a subsequence of ``steps`` timesteps (Song et al. eq. 12),

    x_prev = √ᾱ_prev · x̂_0 + √(1 − ᾱ_prev − σ²) · ε̂ + σ · z,
    σ = η · √((1 − ᾱ_prev) / (1 − ᾱ_t)) · √(1 − ᾱ_t / ᾱ_prev)

with x̂_0 clipped to the picture range.  η = 0 is DDIM: deterministic, so the starting noise x_T is a
latent like a GAN's z — seeds, interpolation (slerp of x_T), projection (DDIM inversion) and music
videos work as for the other families.  η = 1 is ancestral DDPM sampling on the respaced schedule
(σ² is then the posterior variance β̃ of Ho et al.); its per-step noise is drawn from a generator
seeded by the latent itself, so one latent still gives one picture.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from artforge.errors import ArtforgeError
from artforge.methods.base import Method, Phase, register_method
from artforge.randomness import latent_generators

TIMESTEPS = 1000
COSINE_OFFSET = 0.008  # s of Nichol & Dhariwal: keeps β_0 from being vanishingly small
MAX_BETA = 0.999
PREDICTIONS = ("eps", "v")
GUIDANCE = 3.0  # classifier-free guidance weight for text-conditioned sampling (1 = the conditional model alone)
UNCONDITIONAL = 0.1  # share of training pictures seen without their caption (Ho & Salimans use 0.1-0.2)
SAMPLERS = {"ddim": 0.0, "ddpm": 1.0}  # name -> η; "eta=X" names the generalised sampler in between


def sampler_eta(name: str) -> float:
    """η of a sampler (Song et al. 2021): ddim 0 (deterministic), ddpm 1 (ancestral), ``eta=X`` in between.

    Some fresh noise at each step corrects an imperfect model's errors: on a half-trained 32-px preset, 50 steps
    at η = 0.5 were 29 % behind 250 ancestral steps' KID where deterministic DDIM stayed 53 % behind
    (bench/RESULTS.md).  The noise comes from generators seeded by each starting latent, so any η is repeatable
    per latent; walks and DDIM inversion want η = 0 (neighbouring latents would get unrelated noise)."""
    if name in SAMPLERS:
        return SAMPLERS[name]
    if str(name).startswith("eta="):
        try:
            eta = float(name[4:])
        except ValueError:
            eta = -1.0
        if 0.0 <= eta <= 1.0:
            return eta
    raise ArtforgeError(f"--sampler must be ddim, ddpm or eta=X with X between 0 and 1 (got {name!r})")


def cosine_alpha_bar(timesteps: int = TIMESTEPS, s: float = COSINE_OFFSET) -> torch.Tensor:
    """ᾱ_t for t = 0 … T−1 (Nichol & Dhariwal eq. 17), from β_t = 1 − ᾱ_t / ᾱ_{t−1} clipped at 0.999."""
    f = torch.cos((torch.arange(timesteps + 1, dtype=torch.float64) / timesteps + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=MAX_BETA)
    return torch.cumprod(1 - betas, dim=0).float()


def sampling_timesteps(steps: int, timesteps: int = TIMESTEPS) -> list[int]:
    """``steps`` timesteps evenly spread from T−1 down to 0 (the respaced schedule), distinct, descending."""
    if not 1 <= steps <= timesteps:
        raise ArtforgeError(f"--sample-steps must be between 1 and {timesteps} (got {steps})")
    if steps == 1:  # one jump from pure noise to a picture
        return [timesteps - 1]
    return sorted({round(i * (timesteps - 1) / (steps - 1)) for i in range(steps)}, reverse=True)


@register_method
class Diffusion(Method):
    name = "ddpm"
    differentiable_render = False  # a picture is a whole sampling chain: too costly to optimise a latent through
    export_parts = ("unet",)
    try_next = "artforge generate {run} -n 16   (--sample-steps 50; --sampler ddpm for ancestral sampling)"

    def __init__(
        self,
        nets: dict[str, nn.Module],
        prediction: str = "v",
        sample_steps: int = 50,
        sampler: str = "ddim",
        guidance: float = GUIDANCE,
        **_,
    ):
        super().__init__(nets, prediction=prediction, sample_steps=sample_steps, sampler=sampler, guidance=guidance)
        if prediction not in PREDICTIONS:
            raise ArtforgeError(f"--prediction must be {' or '.join(PREDICTIONS)} (got {prediction!r})")
        sampler_eta(sampler)
        sampling_timesteps(sample_steps)  # a clear error now, not at the first picture
        self.prediction, self.sample_steps, self.sampler_name = prediction, int(sample_steps), sampler
        self.unet = nets["unet"]
        self.text_dim, self.guidance = getattr(self.unet, "text_dim", 0), float(guidance)
        self.alpha_bar = cosine_alpha_bar()
        self._table: torch.Tensor | None = None  # [1, ᾱ_0 … ᾱ_T-1] on the sampling device

    # -- training ---------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        return [Phase("unet", self.denoising_loss)]

    def trainable(self) -> dict[str, list[nn.Module]]:
        return {"unet": [self.unet]}

    def denoising_loss(self, batch) -> dict[str, torch.Tensor]:
        x0, text = batch if self.text_dim else (batch, None)
        n = x0.size(0)
        if text is not None:  # classifier-free guidance: some pictures train without their caption
            text = text * (self.noise.rand(n, 1, device=x0.device) >= UNCONDITIONAL).to(text)
        t = self.noise.randint(0, TIMESTEPS, n, device=x0.device)
        eps = self.noise.randn(n, *x0.shape[1:], device=x0.device)
        a = self._alpha(t, x0)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
        target = eps if self.prediction == "eps" else a.sqrt() * eps - (1 - a).sqrt() * x0
        out = self.unet(x_t, t) if text is None else self.unet(x_t, t, text)
        loss = F.mse_loss(out.float(), target.float())
        return {"loss": loss, "mse": loss.detach()}

    def _alpha(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """ᾱ_t as an N×1×1×1 tensor on ``like``'s device (ᾱ = 1 for t = −1, the clean picture)."""
        if self._table is None or self._table.device != like.device:
            self._table = torch.cat([torch.ones(1), self.alpha_bar]).to(like.device)
        return self._table[t.to(like.device) + 1].view(-1, 1, 1, 1)

    # -- sampling ---------------------------------------------------------------------------
    def truncate(self, z: torch.Tensor, truncation: float | None, generator: torch.Generator | None) -> torch.Tensor:
        if truncation is not None:
            raise ArtforgeError("--truncation does not apply to ddpm: its latent is the starting noise of DDIM")
        return z

    def configure_sampling(self, steps: int | None = None, sampler: str | None = None) -> None:
        """Change how pictures are drawn from now on (``generate --sample-steps/--sampler``)."""
        if sampler is not None:
            sampler_eta(sampler)
        if steps is not None:
            sampling_timesteps(steps)
        self.sample_steps = int(steps or self.sample_steps)
        self.sampler_name = sampler or self.sampler_name
        self.hparams.update(sample_steps=self.sample_steps, sampler=self.sampler_name)

    def _shape(self) -> tuple[int, int, int]:
        size = self.sampler.image_size
        return (self.sampler.channels, size, size)

    def _predict(self, x: torch.Tensor, t: int, text: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x̂_0, ε̂) from the UNet at timestep ``t`` (x̂_0 unclipped); with a caption, classifier-free guided."""
        ts = torch.full((x.size(0),), t, device=x.device, dtype=torch.long)
        out = self._guided(x, ts, text) if text is not None else self.unet(x, ts).float()
        a = self._alpha(ts, x)
        if self.prediction == "eps":
            eps = out
            x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        else:
            x0 = a.sqrt() * x - (1 - a).sqrt() * out
            eps = (1 - a).sqrt() * x + a.sqrt() * out
        return x0, eps

    def _guided(self, x: torch.Tensor, ts: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Classifier-free guidance (Ho & Salimans 2022): u + w·(c − u) from one batched UNet call, c with the
        caption and u without; rows without a caption (all zero) get u alone."""
        both = self.unet(torch.cat([x, x]), torch.cat([ts, ts]), torch.cat([text, torch.zeros_like(text)])).float()
        cond, uncond = both.chunk(2)
        return uncond + self.guidance * (cond - uncond)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, steps: int | None = None, eta: float | None = None) -> torch.Tensor:
        """Pictures in [-1, 1] from starting noise ``z`` (N × C·H·W, then the caption for a text model) by
        ``steps`` DDIM/DDPM steps."""
        steps = steps or self.sample_steps
        eta = sampler_eta(self.sampler_name) if eta is None else eta
        text = z[:, -self.text_dim :].float() if self.text_dim else None
        x = z[:, : z.size(1) - self.text_dim].float().reshape(-1, *self._shape())
        generators = latent_generators(z) if eta > 0 else []
        ts = sampling_timesteps(steps)
        for t, t_prev in zip(ts, ts[1:] + [-1]):
            x0, eps = self._predict(x, t, text)
            x0 = x0.clamp(-1, 1)
            a = self._alpha(torch.tensor([t]), x)
            a_prev = self._alpha(torch.tensor([t_prev]), x)
            eps = (x - a.sqrt() * x0) / (1 - a).sqrt()  # consistent with the clipped x̂_0
            sigma = eta * ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).sqrt()
            x = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
            if eta > 0 and t_prev >= 0:
                noise = torch.cat([torch.randn(1, *self._shape(), generator=g) for g in generators]).to(x.device)
                x = x + sigma * noise
        return x.clamp(-1, 1)

    def render(self, z: torch.Tensor) -> torch.Tensor:
        """As :meth:`decode`: a sampling loop is not differentiated through (projection inverts instead)."""
        return self.decode(z)

    @torch.no_grad()
    def invert(self, x0: torch.Tensor, steps: int | None = None, trajectory: list | None = None) -> torch.Tensor:
        """DDIM inversion (Song et al. §4.3; Dhariwal & Nichol appendix F): run the deterministic
        sampler backwards from a picture to its starting noise x_T, returned flattened like a latent.
        ``decode(invert(x))`` gives back approximately ``x``; the fewer the steps, the rougher.
        ``trajectory``, when given, receives the noised picture after every step."""
        x = x0.float()
        ts = sampling_timesteps(steps or self.sample_steps)[::-1]  # ascending
        for t_prev, t in zip([ts[0]] + ts[:-1], ts):
            pred_x0, eps = self._predict(x, t_prev)  # x is treated as x_{t_prev} (clean at the first step)
            a = self._alpha(torch.tensor([t]), x)
            x = a.sqrt() * pred_x0 + (1 - a).sqrt() * eps
            if trajectory is not None:
                trajectory.append(x.clone())
        if self.text_dim:  # inverted without a caption; the empty caption decodes it back the same way
            return torch.cat([x.flatten(1), torch.zeros(x.size(0), self.text_dim, device=x.device)], 1)
        return x.flatten(1)
