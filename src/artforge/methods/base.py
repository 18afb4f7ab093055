"""What every method gives the trainer.

A method wraps networks and owns their objective and their sampling.  It
describes one training step as a list of *phases*; each phase names the
networks it updates (one optimizer per phase name) and a loss function of a
real batch.  A GAN has ``[discriminator × n_critic, generator]``, a VAE one
phase, CycleGAN ``[generator, discriminator]``, the AdaIN decoder ``[decoder]``.  A method with ``domains = 2``
trains on two unaligned picture sets and gets each batch as a pair ``(a, b)``.
The trainer does the rest — devices, precision, gradient sync, EMA,
checkpoints — the same way for every method.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable

import torch
from torch import nn

from artforge.errors import ArtforgeError
from artforge.randomness import SampleNoise


@dataclasses.dataclass
class Phase:
    name: str  # optimizer and trainable nets of this phase
    loss: Callable[[Any], dict[str, torch.Tensor]]  # real batch (a pair for 2 domains) -> {"loss": ...}
    needs_data: bool = True  # False: the trainer may pass the previous batch


class Method(abc.ABC):
    """Base class: subclasses set ``name`` and ``export_parts`` and implement the hooks."""

    name = "method"
    export_parts: tuple[str, ...] = ()  # nets kept (as EMA) in the export used for sampling
    domains: int = 1  # 2: batches are (a, b) pairs from two unaligned picture sets
    preview_columns: int = 8  # sample grids during training have this many columns
    differentiable_render = True  # render(z) is cheap enough to optimise latents through (prompts, projection)
    # > 0 for a text-conditioned model (--text-cond): its latents end with a caption embedding this long, and its
    # sampling network keeps a bank of training-caption embeddings (``captions``) to draw from without a prompt
    text_dim = 0
    try_next = "artforge generate {run} -n 16"  # what to run on a finished run (printed by the trainer)

    def __init__(self, nets: dict[str, nn.Module], **hparams):
        self.nets = nets
        self.hparams = hparams
        # Training noise (latents, augmentation, penalty mixes): the trainer replaces this with a stream
        # shared by all processes, so data-parallel runs draw what one process would (artforge.randomness).
        self.noise = SampleNoise()

    # -- training ---------------------------------------------------------------------------
    @abc.abstractmethod
    def phases(self) -> list[Phase]:
        """The phases of one training step, in order."""

    @abc.abstractmethod
    def trainable(self) -> dict[str, list[nn.Module]]:
        """Phase name -> networks that phase's optimizer updates."""

    def with_nets(self, nets: dict[str, nn.Module]) -> "Method":
        """The same method around other networks (the trainer samples with the EMA copies)."""
        return create_method(self.name, nets, **self.hparams)

    def save_export(self, directory, nets: dict[str, nn.Module], config: dict, metadata: dict | None = None):
        """Write the export that sampling reads (default: ``artforge.models.save_export``'s format)."""
        from artforge.models import save_export

        return save_export(directory, nets, config, metadata=metadata)

    def end_step(self, reduce_sum=None) -> None:
        """Called by the trainer after every training step (e.g. ADA adjusts its probability here).

        ``reduce_sum(tensor)`` sums a CPU tensor over the data-parallel processes (None on one
        process), so a statistic gathered per process can set the same value on all of them.
        """

    def state_dict(self) -> dict:
        """Method state that is not in a network (e.g. augmentation strength) for exact resume."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    # -- sampling ---------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.sampler.latent_dim

    def latent_shapes(self) -> list[tuple[int, ...]]:
        """Shapes (without the batch) of the latents :meth:`decode` takes, the sampled one first."""
        return [(self.latent_dim,)]

    @property
    def sampler(self) -> nn.Module:
        return self.nets[self.export_parts[0]]

    def latents(
        self, n: int, generator: torch.Generator | None = None, truncation: float | None = None
    ) -> torch.Tensor:
        """Latent codes for ``n`` images, on the sampler's device.

        Drawn one row at a time (truncation included) so that image ``i`` of a seed
        is the same picture whatever ``n`` is: torch's CPU ``randn`` takes a
        different (vectorised) path for larger tensors, so one big draw would not be.
        """
        device = next(self.sampler.parameters()).device
        if self.text_dim:
            return self._caption_latents(n, generator, truncation).to(device)
        rows = [
            self.truncate(torch.randn(1, self.latent_dim, generator=generator), truncation, generator) for _ in range(n)
        ]
        return torch.cat(rows).to(device)

    def _caption_latents(self, n: int, generator, truncation) -> torch.Tensor:
        """Text-conditioned latents ``[noise | caption]``, the caption drawn from the bank of training captions;
        row by row as above, caption included (replace it with :meth:`with_text` to follow a prompt)."""
        bank = self.sampler.captions.cpu()
        rows = []
        for _ in range(n):
            noise = torch.randn(1, self.latent_dim - self.text_dim, generator=generator)
            pick = torch.randint(len(bank), (1,), generator=generator)
            rows.append(torch.cat([self.truncate(noise, truncation, generator), bank[pick]], 1))
        return torch.cat(rows)

    def with_text(self, latents: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """``latents`` with their caption part replaced by ``text`` (one 384-d embedding, or one per row)."""
        if not self.text_dim:
            raise ArtforgeError("this model was trained without text (--text-cond)")
        text = text.to(latents).reshape(-1, self.text_dim).expand(latents.size(0), -1)
        return torch.cat([latents[:, : latents.size(1) - self.text_dim], text], 1)

    def truncate(self, z: torch.Tensor, truncation: float | None, generator: torch.Generator | None) -> torch.Tensor:
        return z

    def latent_path(self, a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
        """The point at ``t`` on the way from latent ``a`` to ``b`` (walks, morphs): a slerp, which stays
        on the shell where Gaussian latents live (White 2016); methods with other spaces override it."""
        return slerp(a, b, t)

    def latent_blend(self, keys: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """One latent per row of ``weights`` (F × K), mixing the K ``keys``: Σ w_k z_k / ‖w‖₂, so a mix of
        independent standard-normal keys is standard normal again (it stays where Gaussian latents live,
        as slerp does for two); methods with other spaces override it."""
        w = weights / weights.norm(dim=1, keepdim=True).clamp_min(1e-8)
        return torch.einsum("fk,k...->f...", w.to(keys), keys)

    def render(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for latent codes ``z``, differentiable in ``z`` (projection optimises through it).

        A plain clamp: an overshooting pixel passes no gradient.  A straight-through clamp (the gradient of
        the unclamped output) was tried for projection and did worse — on an untrained StyleGAN, whose pixels
        mostly overshoot, perceptual distance 4.6 vs 1.3 after 60 steps — so the visible pixels lead."""
        return self.sampler(z).float().clamp(-1, 1)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for latent codes ``z``."""
        return self.render(z)

    def preview_inputs(self, n: int, generator: torch.Generator, data: Any = None) -> Any:
        """Fixed inputs for the sample grids written while training (default: ``n`` latents).  Text-conditioned:
        the first training pictures' captions, one per row, so each row shows one caption with several latents."""
        latents = self.latents(n, generator)
        text = getattr(data, "text_embeddings", None)
        if not self.text_dim or text is None:
            return latents
        rows = (n + self.preview_columns - 1) // self.preview_columns
        return self.with_text(latents, text[:rows].repeat_interleave(self.preview_columns, 0)[:n])

    @torch.no_grad()
    def preview(self, inputs: Any) -> torch.Tensor:
        """The pictures of one sample grid, row by row, in [-1, 1]."""
        return self.decode(inputs)

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, truncation: float | None = None, batch: int = 64
    ) -> torch.Tensor:
        z = self.latents(n, generator, truncation)
        return torch.cat([self.decode(chunk) for chunk in z.split(batch)])


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents): stays on the shell
    where Gaussian latents live, unlike a straight line through the low-density centre."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


_METHODS: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    _METHODS[cls.name] = cls
    return cls


def method_class(name: str) -> type[Method]:
    from artforge.methods import adain, cyclegan, diffusion, fastgan, gan, pggan, stylegan, vae  # noqa: F401  (registers the built-in methods)

    if name not in _METHODS:
        raise ArtforgeError(f"unknown method {name!r}; choose one of: {', '.join(sorted(_METHODS))}")
    return _METHODS[name]


def create_method(name: str, nets: dict[str, nn.Module], **hparams) -> Method:
    return method_class(name)(nets, **hparams)
