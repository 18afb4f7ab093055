"""StyleGAN2's training objective and sampling (Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN"; the small-data settings of Karras et al. 2020, "Training GANs with
Limited Data").

* Non-saturating logistic loss (the GAN method's ``nsgan``).
* **Style-mixing regularisation** (StyleGAN §3.1): for a fraction ``style_mixing`` of the generated
  pictures, two latents are mapped and the styles switch from the first w to the second at a random
  layer, so neighbouring layers cannot rely on sharing one style.
* **Lazy R1** (StyleGAN2 §3.1): the R1 penalty on reals only every ``R1_INTERVAL`` D steps, scaled
  up by the interval.
* **Lazy path-length regularisation** (StyleGAN2 §3.2): every ``PL_INTERVAL`` G steps, on half a
  batch, ``(‖J_wᵀ y‖ − a)²`` with y a random picture-space direction and ``a`` the running mean of
  the lengths, so a fixed-size step in W changes the picture by a fixed amount.
* Sampling works in **W**: :meth:`latents` maps z and applies truncation ψ around the tracked mean w;
  :meth:`mix` builds pictures whose coarse layers come from one w and the rest from another.

Not done (said plainly): the paper also rescales Adam's learning rate and betas for the lazy
terms (c = interval / (interval + 1)); here the rates are the same for every step.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from artforge.methods.base import register_method
from artforge.methods.gan import GAN

R1_INTERVAL = 16
PL_INTERVAL = 4
PL_DECAY = 0.01  # the running mean of path lengths moves this much per measurement


@register_method
class StyleGAN(GAN):
    name = "stylegan"
    export_parts = ("generator",)
    try_next = "artforge generate {run} -n 16   (style mixing: --mix 1,2 --mix-layers 0-3; --truncation 0.7)"

    def __init__(self, nets: dict[str, nn.Module], style_mixing: float = 0.9, pl_weight: float = 2.0, **kwargs):
        super().__init__(nets, style_mixing=style_mixing, pl_weight=pl_weight, **kwargs)
        self.style_mixing, self.pl_weight = float(style_mixing), float(pl_weight)
        self.pl_mean = 0.0

    # -- training ---------------------------------------------------------------------------
    def _noise_fn(self, device: torch.device):
        """The synthesis network's per-pixel noise, drawn from the training noise stream."""
        return lambda n, res: self.noise.randn(n, 1, res, res, device=device)

    def _ws(self, n: int, device: torch.device, update_w_avg: bool) -> torch.Tensor:
        """Styles for ``n`` training pictures, with style mixing for a fraction of them."""
        g = self.G
        w1 = g.mapping(self.noise.randn(n, g.latent_dim, device=device), update_w_avg)
        w2 = g.mapping(self.noise.randn(n, g.latent_dim, device=device))
        # Per picture (not per batch, as the paper's code does) so that each picture's draw is
        # independent of how the batch is split over processes.
        mixed = self.noise.rand(n, device=device) < self.style_mixing
        cutoff = self.noise.randint(1, g.num_ws, n, device=device)
        cutoff = torch.where(mixed, cutoff, torch.full_like(cutoff, g.num_ws))
        layer = torch.arange(g.num_ws, device=device)
        second = (layer[None, :] >= cutoff[:, None]).unsqueeze(-1)
        return torch.where(second, w2.unsqueeze(1), w1.unsqueeze(1))

    def _fake(self, n: int, device: torch.device) -> torch.Tensor:
        return self.G.synthesis(self._ws(n, device, update_w_avg=torch.is_grad_enabled()), self._noise_fn(device))

    def _r1_scale(self) -> float:
        return float(R1_INTERVAL) if self.r1_gamma > 0 and self._steps % R1_INTERVAL == 0 else 0.0

    def generator_loss(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        out = super().generator_loss(real)
        if self.pl_weight > 0 and self._steps % PL_INTERVAL == 0:
            out["pl"] = self._path_length_penalty(max(1, real.size(0) // 2), real.device)
            out["loss"] = out["loss"] + self.pl_weight * PL_INTERVAL * out["pl"]
        return out

    def _path_length_penalty(self, n: int, device: torch.device) -> torch.Tensor:
        # fp32 whatever the autocast precision: a double backward (like R1 in GAN).
        with torch.autocast(device.type, enabled=False):
            ws = self._ws(n, device, update_w_avg=False)
            images = self.G.synthesis(ws, self._noise_fn(device)).float()
            y = self.noise.randn(n, *images.shape[1:], device=device) / math.sqrt(images.shape[2] * images.shape[3])
            (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
            lengths = grad.square().sum(2).mean(1).sqrt()
            self.pl_mean += PL_DECAY * (float(lengths.mean().detach()) - self.pl_mean)
            return (lengths - self.pl_mean).square().mean()

    def state_dict(self) -> dict:
        return {**super().state_dict(), "pl_mean": self.pl_mean}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.pl_mean = float(state.get("pl_mean", 0.0))

    # -- sampling in W ------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.sampler.w_dim

    @property
    def num_ws(self) -> int:
        return self.sampler.num_ws

    def latent_shapes(self) -> list[tuple[int, ...]]:
        return [(self.latent_dim,), (self.num_ws, self.latent_dim)]  # w, and w+ (one style per layer)

    @torch.no_grad()
    def latents(
        self, n: int, generator: torch.Generator | None = None, truncation: float | None = None
    ) -> torch.Tensor:
        """w for ``n`` pictures: z drawn row by row (as every method does), mapped, truncated towards mean w."""
        g = self.sampler
        device = next(g.parameters()).device
        z = torch.cat([torch.randn(1, g.latent_dim, generator=generator) for _ in range(n)]).to(device)
        # mapped one at a time too: a batched matmul rounds differently with the batch size (1e-6 apart)
        return torch.cat([g.truncate(g.mapping(row), truncation) for row in z.split(1)])

    def render(self, w: torch.Tensor) -> torch.Tensor:
        """Pictures for styles ``w``: N × w_dim (one style for every layer) or N × num_ws × w_dim (w+)."""
        if w.dim() == 2:
            w = w.unsqueeze(1).expand(-1, self.num_ws, -1)
        return self.sampler.synthesis(w).float().clamp(-1, 1)

    def preview_inputs(self, n: int, generator: torch.Generator, data=None) -> torch.Tensor:
        # Fixed z, not w: the mapping network keeps learning, so w must be recomputed at each grid.
        return torch.cat([torch.randn(1, self.G.latent_dim, generator=generator) for _ in range(n)])

    @torch.no_grad()
    def preview(self, z: torch.Tensor) -> torch.Tensor:
        g = self.sampler
        return self.decode(g.mapping(z.to(next(g.parameters()).device)))

    def latent_path(self, a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
        """Walks in W are straight lines (W is not a Gaussian shell)."""
        return torch.lerp(a, b, t)

    def latent_blend(self, keys: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Mixes in W are convex combinations (weights scaled to sum to 1), as walks in W are straight lines."""
        w = weights.clamp_min(0)
        w = w / w.sum(dim=1, keepdim=True).clamp_min(1e-8)
        return torch.einsum("fk,k...->f...", w.to(keys), keys)

    def per_layer(self, w: torch.Tensor) -> torch.Tensor:
        """w (N × w_dim) as w+ (N × num_ws × w_dim); w+ as it is."""
        return w.unsqueeze(1).repeat(1, self.num_ws, 1) if w.dim() == 2 else w.clone()

    def mix(self, w_coarse: torch.Tensor, w_fine: torch.Tensor, layers) -> torch.Tensor:
        """Styles taking ``layers`` (indices into the num_ws) from ``w_coarse`` and the rest from ``w_fine``
        (either may be w or a projected w+)."""
        ws = self.per_layer(w_fine)
        index = torch.tensor(sorted(layers), dtype=torch.long)
        ws[:, index] = self.per_layer(w_coarse).expand(ws.size(0), -1, -1)[:, index]
        return ws
