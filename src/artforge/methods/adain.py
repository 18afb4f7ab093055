"""Training the AdaIN decoder (Huang & Belongie, ICCV 2017) on the shared trainer.

A two-domain method: domain A are content pictures, domain B style pictures, drawn
in independent orders.  Each step takes one random ``crop``² crop (random place,
random horizontal flip) of every picture — the paper trains on 256² crops of 512²
pictures — encodes both with the frozen encoder, and trains the decoder with

    L = ||f(g(t)) − t||² + λ Σ_i (||μ(φ_i(g(t))) − μ(φ_i(s))||² + ||σ(φ_i(g(t))) − σ(φ_i(s))||²)

(eqs. 11–13; squared norms, as in the authors' released code), ``t = AdaIN(f(c), f(s))``.

Departures from the paper, each measured (bench/adain_quality.py): every loss term is divided by
its target's mean square, so one λ means the same for every encoder (VGG-19, random VGG and
EfficientNet activations differ by orders of magnitude) — per picture, so the loss is a mean over
pictures and data-parallel training is exact; an optional pixel identity loss (Park & Lee 2019) lets
short CPU trainings keep the content's structure.

Example::

    from artforge.train import TrainConfig, train
    train(TrainConfig(model="adain", domain_a="photos/", domain_b="builtin:paintings", size=256, crop=128,
                      steps=20000, lr=1e-4, out="runs/adain"))     # or: artforge style train-adain ...
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artforge.methods.base import Method, Phase, register_method
from artforge.models.adain import DEFAULT_ENCODER, spec_for_decoder

PREVIEW_PAIRS = 8  # sample grids: a row of content pictures, a row of styles, a row of results


@register_method
class AdaIN(Method):
    name = "adain"
    export_parts = ("decoder",)
    domains = 2
    preview_columns = PREVIEW_PAIRS
    try_next = "artforge style PHOTO STYLE --fast --adain {run} -o out.png"

    def __init__(
        self,
        nets: dict[str, nn.Module],
        encoder: str = DEFAULT_ENCODER,
        crop: int = 128,
        style_weight: float = 10.0,
        identity_weight: float = 5.0,
        encoder_net=None,
        **_,
    ):
        super().__init__(nets, encoder=encoder, crop=crop, style_weight=style_weight, identity_weight=identity_weight)
        from artforge.style.adain import AdaINModel

        self.crop, self.style_weight, self.identity_weight = int(crop), style_weight, identity_weight
        decoder = nets["decoder"]
        if encoder_net is None:
            from artforge.backbones import create_backbone

            encoder_net = create_backbone(encoder, next(decoder.parameters()).device)
        # precision "fp32": the trainer's autocast decides the arithmetic; statistics stay fp32 anyway
        self.model = AdaINModel(
            encoder_net, decoder, encoder, precision="fp32", spec=spec_for_decoder(encoder, decoder)
        )

    def with_nets(self, nets: dict[str, nn.Module]) -> "AdaIN":
        return AdaIN(nets, encoder_net=self.model.encoder, **self.hparams)  # the frozen encoder is shared

    # -- training ---------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        return [Phase("decoder", self.loss)]

    def trainable(self) -> dict[str, list[nn.Module]]:
        return {"decoder": [self.model.decoder]}

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        content, style = (self.random_crops(x) for x in batch)
        return adain_loss(self.model, content, style, self.style_weight, self.identity_weight)

    def random_crops(self, images: torch.Tensor) -> torch.Tensor:
        """One ``crop``² crop per picture at a random place, flipped left-right half of the time."""
        n, _, h, w = images.shape
        crop = min(self.crop, h, w)
        ys = self.noise.randint(0, h - crop + 1, n).tolist()
        xs = self.noise.randint(0, w - crop + 1, n).tolist()
        flips = (self.noise.rand(n) < 0.5).tolist()
        crops = [img[:, y : y + crop, x : x + crop] for img, y, x in zip(images, ys, xs)]
        return torch.stack([c.flip(-1) if f else c for c, f in zip(crops, flips)])

    # -- sampling ---------------------------------------------------------------------------
    def preview_inputs(self, n: int, generator: torch.Generator, data=None):
        """Fixed content and style pictures (uint8) for the sample grids; pair i = content i in style i."""
        k = min(PREVIEW_PAIRS, len(data.a), len(data.b))
        pick = lambda s: s.images[torch.randperm(len(s), generator=generator)[:k]].clone()  # noqa: E731
        return pick(data.a), pick(data.b)

    @torch.no_grad()
    def preview(self, inputs) -> torch.Tensor:
        from artforge.pictures import to_unit
        from artforge.style.adain import stylize_fast

        device = self.model.device
        content, style = (to_unit(x).to(device) for x in inputs)
        was_training = self.model.decoder.training
        self.model.decoder.eval()
        out = torch.cat([stylize_fast(self.model, c[None], [s[None]]) for c, s in zip(content, style)])
        self.model.decoder.train(was_training)
        return torch.cat([content, style, out]).cpu()

    def save_export(self, directory, nets: dict[str, nn.Module], config: dict, metadata: dict | None = None):
        """The AdaIN export that ``load_adain`` and ``artforge style --fast --adain`` read."""
        from artforge.style.adain import save_adain

        model = self.with_nets(nets).model
        return save_adain(model, directory, {**config, **(metadata or {})})


def adain_loss(
    model, content: torch.Tensor, style: torch.Tensor, style_weight: float = 10.0, identity_weight: float = 0.0
) -> dict[str, torch.Tensor]:
    """Eqs. 11–13: content loss to the AdaIN target ``t`` at the tap, plus λ × the mean/std style loss
    at every style tap.  The target is a constant: the loss trains the decoder only.

    ``identity_weight`` adds a pixel loss on decoding the content's own features (AdaIN(f(c), f(c)) =
    f(c)): the identity loss of Park & Lee 2019 (SANet), not in the AdaIN paper.  It gives the decoder
    a dense signal for inverting the encoder, so short trainings keep the content's structure.
    """
    from artforge.style.adain import adain, channel_stats

    tap, style_taps, levels = model.spec.tap, model.spec.style_taps, model.spec.levels
    taps = tuple(dict.fromkeys(style_taps + levels))
    with torch.no_grad():
        fc = model.encode_levels(content)
        fs = model.encode(style, taps)
        t = {k: adain(fc[k], *channel_stats(fs[k])) for k in levels}  # the skips get their AdaIN too
    fg = model.encode(model.decode_levels(t), taps, grad=True)
    content_loss = _per_picture_mse(fg[tap], t[tap]) / _energy(t[tap])
    style_loss = sum(_stats_loss(fg[name], fs[name]) for name in style_taps) / len(style_taps)
    losses = {"content": content_loss.mean(), "style": style_loss.mean()}
    losses["loss"] = losses["content"] + style_weight * losses["style"]
    if identity_weight:
        losses["identity"] = F.mse_loss(model.decode_levels(fc), content.float())
        losses["loss"] = losses["loss"] + identity_weight * losses["identity"]
    return losses


def _per_picture_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).pow(2).flatten(1).mean(1)


def _energy(features: torch.Tensor) -> torch.Tensor:
    # Departure from the paper: every term is divided by its target's mean square (a constant), so one λ
    # means the same for VGG-19 (activations ~1), random VGG (~1e-2) and EfficientNet (~1e2).  Per picture,
    # so the loss is a mean over pictures and W processes × B/W train exactly like one process × B.
    return features.detach().pow(2).flatten(1).mean(1).clamp_min(1e-12)


def _stats_loss(output: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """||μ(out) − μ(s)||² + ||σ(out) − σ(s)||² at one tap (eq. 13) per picture, relative to the style's energy."""
    from artforge.style.adain import EPS, channel_stats

    (mo, so), (ms, ss) = channel_stats(output, EPS), channel_stats(style, EPS)
    return (_per_picture_mse(mo, ms) + _per_picture_mse(so, ss)) / _energy(style)
