"""CycleGAN: unpaired image-to-image translation (Zhu, Park, Isola & Efros 2017).

Two generators, G: A -> B (``g_ab``) and F: B -> A (``g_ba``), and two discriminators,
D_B (``d_b``, real B vs G(a)) and D_A (``d_a``, real A vs F(b)).  The objective is the
paper's eq. 3 plus the identity term of §5.2:

    L = L_GAN(G, D_B) + L_GAN(F, D_A) + λ · L_cyc + λ_id · L_identity
    L_cyc      = ‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁        (eq. 2; λ = 10)
    L_identity = ‖G(b) − b‖₁ + ‖F(a) − a‖₁              (Taigman et al. 2017; λ_id = 0.5 λ)

with ‖·‖₁ averaged over pixels, as in the authors' code.  §4 "Training details":
the adversarial terms are least squares (LSGAN, Mao et al. 2017) — G minimises
(D(G(a)) − 1)², D minimises (D(b) − 1)² + D(G(a))² — and D's objective is halved,
"which slows down the rate at which D learns relative to G".  D is shown fakes from a
pool of the 50 most recent generated images (Shrivastava et al. 2017) rather than only
the newest, which damps oscillation.  Adam, lr 2e-4, β = (0.5, 0.999); the paper's
linear decay over the second half is the trainer's ``--lr-decay``.

Example::

    nets = create_model("cyclegan", image_size=128)
    cyc = create_method("cyclegan", nets)
    g_phase, d_phase = cyc.phases()
    g_phase.loss((a, b))["loss"].backward()          # a, b: N×3×128×128 in [-1, 1]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from artforge.errors import ArtforgeError
from artforge.methods.base import Method, Phase, register_method
from artforge.pictures import to_unit

DIRECTIONS = ("a2b", "b2a")
PREVIEW_ROWS = 8  # rows in a training sample grid: A, G(A), B, F(B) each


def lsgan_loss(scores: torch.Tensor, target: float) -> torch.Tensor:
    """Mean squared distance of the patch scores from ``target`` (1 = real, 0 = fake), in fp32."""
    return (scores.float() - target).pow(2).mean()


def l1_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x.float() - y.float()).abs().mean()


class ImagePool:
    """The last ``size`` generated images, for the discriminator (Shrivastava et al. 2017, §2.3).

    Until the pool is full every new image is stored and passed on.  Then each new
    image is, with probability ½, swapped for a random stored one (which D sees
    instead), else passed on unchanged.  ``size`` 0 turns the pool off.  Draws come
    from torch's global generator, which checkpoints record, so a resumed run
    draws the same as an uninterrupted one.
    """

    def __init__(self, size: int = 50):
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = int(size)
        self.images: torch.Tensor | None = None  # count × C × H × W, fp32, count <= size

    def __len__(self) -> int:
        return 0 if self.images is None else len(self.images)

    @torch.no_grad()
    def query(self, fake: torch.Tensor) -> torch.Tensor:
        """The batch D should see in place of ``fake`` (same shape and dtype, detached)."""
        if self.size == 0:
            return fake.detach()
        if self.images is not None and self.images.device != fake.device:
            self.images = self.images.to(fake.device)  # restored from a checkpoint onto the CPU
        out = []
        for image in fake.detach().float():
            if len(self) < self.size:
                self._store(image)
                out.append(image)
            elif float(torch.rand(())) < 0.5:
                i = int(torch.randint(self.size, ()))
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.stack(out).to(fake.dtype)

    def _store(self, image: torch.Tensor) -> None:
        self.images = image[None].clone() if self.images is None else torch.cat([self.images, image[None]])

    def state_dict(self) -> dict:
        return {"images": torch.empty(0) if self.images is None else self.images.detach().cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        images = state.get("images")
        self.images = None if images is None or images.numel() == 0 else images.float().clone()


@register_method
class CycleGAN(Method):
    name = "cyclegan"
    export_parts = ("g_ab", "g_ba")
    domains = 2
    preview_columns = 4
    try_next = "artforge translate {run} --direction a2b PICTURES -o OUT"

    def __init__(
        self, nets: dict[str, nn.Module], cycle_weight: float = 10.0, identity: float = 0.5, pool_size: int = 50, **_
    ):
        super().__init__(nets, cycle_weight=cycle_weight, identity=identity, pool_size=pool_size)
        if cycle_weight < 0 or identity < 0:
            raise ValueError(f"loss weights must be >= 0, got cycle_weight={cycle_weight}, identity={identity}")
        self.cycle_weight, self.identity = float(cycle_weight), float(identity)
        self.g_ab, self.g_ba = nets["g_ab"], nets["g_ba"]
        self.d_a, self.d_b = nets.get("d_a"), nets.get("d_b")  # absent when loaded from an export
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None  # (F(b), G(a)) of the last G phase

    # -- training ---------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        # G first, then D on the fakes that very G step made, from the same batch (the authors' order).
        return [
            Phase("generator", self.generator_loss),
            Phase("discriminator", self.discriminator_loss, needs_data=False),
        ]

    def trainable(self) -> dict[str, list[nn.Module]]:
        # One optimizer for both generators and one for both discriminators, as in the authors' code.
        return {"generator": [self.g_ab, self.g_ba], "discriminator": [self.d_a, self.d_b]}

    def generator_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        a, b = batch
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        adv = lsgan_loss(self.d_b(fake_b), 1.0) + lsgan_loss(self.d_a(fake_a), 1.0)
        cycle = l1_loss(self.g_ba(fake_b), a) + l1_loss(self.g_ab(fake_a), b)
        loss = adv + self.cycle_weight * cycle
        out = {"adv": adv.detach(), "cycle": cycle.detach()}
        if self.identity > 0:  # skipped entirely at 0: saves two generator passes
            identity = l1_loss(self.g_ab(b), b) + l1_loss(self.g_ba(a), a)
            loss = loss + self.identity * self.cycle_weight * identity
            out["identity"] = identity.detach()
        self._fakes = (fake_a.detach(), fake_b.detach())
        out["loss"] = loss
        return out

    def discriminator_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        a, b = batch
        fake_a, fake_b = self._take_fakes(a, b)
        d_b = self._halved_d_loss(self.d_b, b, self.pool_b.query(fake_b))
        d_a = self._halved_d_loss(self.d_a, a, self.pool_a.query(fake_a))
        return {"loss": d_a + d_b, "d_a": d_a.detach(), "d_b": d_b.detach()}

    @staticmethod
    def _halved_d_loss(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (lsgan_loss(d(real), 1.0) + lsgan_loss(d(fake), 0.0))

    def _take_fakes(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The G phase's fakes, used once; made afresh when no G phase ran before this D phase."""
        if self._fakes is None:
            with torch.no_grad():
                self._fakes = (self.g_ba(b), self.g_ab(a))
        fakes, self._fakes = self._fakes, None
        return fakes

    def state_dict(self) -> dict:
        return {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.pool_a.load_state_dict(state["pool_a"])
            self.pool_b.load_state_dict(state["pool_b"])

    # -- translation ------------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Pictures of one domain (N×3×H×W in [-1, 1], H and W multiples of 4) in the other's style."""
        if direction not in DIRECTIONS:
            raise ArtforgeError(f"--direction must be a2b or b2a (got {direction!r})")
        net = self.g_ab if direction == "a2b" else self.g_ba
        return net(x).float().clamp(-1, 1)

    def preview_inputs(self, n: int, generator: torch.Generator, data: Any = None) -> tuple[torch.Tensor, ...]:
        """Up to 8 fixed pictures of each domain (``data`` is a :class:`~artforge.data.sources.DomainPair`)."""
        rows = min(PREVIEW_ROWS, len(data.a), len(data.b))
        device = next(self.g_ab.parameters()).device
        picked = [s.images[torch.randperm(len(s), generator=generator)[:rows]] for s in (data.a, data.b)]
        return tuple(to_unit(x.to(device)) for x in picked)

    @torch.no_grad()
    def preview(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Rows of A, G(A), B, F(B)."""
        a, b = inputs
        return torch.stack([a, self.translate(a, "a2b"), b, self.translate(b, "b2a")], dim=1).flatten(0, 1)

    # -- no latent space ----------------------------------------------------------------------
    def _no_latents(self, *_, **__):
        raise ArtforgeError(
            "a cyclegan model translates pictures and has no latent space to sample; "
            "use: artforge translate MODEL --direction a2b PICTURES... -o OUT/"
        )

    latents = sample = decode = _no_latents

    @property
    def latent_dim(self) -> int:
        self._no_latents()
