"""Fast arbitrary style transfer with adaptive instance normalisation (Huang & Belongie, ICCV 2017).

A frozen encoder ``f`` (a shared backbone cut at one tap; the paper uses VGG-19 ``relu4_1``) maps the
content ``c`` and the style ``s`` to features; AdaIN gives the content features the style's
channel-wise mean and standard deviation (eq. 8)::

    t = AdaIN(f(c), f(s)) = σ(f(s)) · (f(c) − μ(f(c))) / σ(f(c)) + μ(f(s))

and a learned decoder ``g`` turns ``t`` back into a picture.  Only the decoder is trained, with
``L = ||f(g(t)) − t||² + λ Σ_i ||μ(φ_i(g(t))) − μ(φ_i(s))||² + ||σ(φ_i(g(t))) − σ(φ_i(s))||²`` over
several encoder taps ``φ_i`` (eqs. 11–13; squared norms, as in the authors' released code).  One
forward pass stylises with any style, unseen ones included.

Departures from the paper, each measured (bench/adain_quality.py): every loss term is divided by
its target's mean square, so one λ means the same for every encoder (VGG-19, random VGG and
EfficientNet activations differ by orders of magnitude); an optional pixel identity loss (Park &
Lee 2019) lets short CPU trainings keep the content's structure; the default encoder is the
ImageNet EfficientNet-Lite0 shipped with artforge, since VGG-19's weights are not (see ENCODERS).

Inference controls (paper §7.2): content/style trade-off ``alpha``, interpolation of several
styles (``weights`` mix the AdaIN targets), colour preservation (the style's colours are matched
to the content's before encoding, Gatys et al. 2017) and spatial control (``mask``: AdaIN per
region).

Example::

    model = load_adain()                                   # the decoder shipped with artforge
    out = stylize_fast(model, content, [style], alpha=0.8) # content, style: 1×3×H×W in [-1, 1]

Training: :func:`train_adain` (``scripts/train_default_adain.py`` made the shipped decoder).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from artforge.errors import ArtforgeError, CheckpointError, TrainingDiverged

ASSET = Path(__file__).resolve().parents[1] / "assets" / "adain-decoder"
MODEL_NAME = "adain-decoder"          # the "model" field of an AdaIN export's config.json
STATE_FILE = "train-state.safetensors"
EPS = 1e-5
STYLE_MAX_SIDE = 2048  # larger style pictures are scaled down first: only their statistics are used


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
    """Where to cut a backbone: ``tap`` feeds AdaIN and the content loss; ``style_taps`` the style loss."""

    tap: str
    style_taps: tuple[str, ...]


# Both taps sit at stride 8, so every decoder upsamples 3 times.  VGG: the paper's choice.
# EfficientNet-Lite0: the stride-8 stage output feeds AdaIN; the style loss also looks one stage deeper
# (stride 16), which gave more style-specific colour and texture than stem..stage3 alone (measured).
ENCODERS = {
    "vgg19": EncoderSpec("relu4_1", ("relu1_1", "relu2_1", "relu3_1", "relu4_1")),
    "vgg19-random": EncoderSpec("relu4_1", ("relu1_1", "relu2_1", "relu3_1", "relu4_1")),
    "effnet-lite0": EncoderSpec("stage3", ("stem", "stage1", "stage2", "stage3", "stage4")),
}
# Measured (bench/adain_quality.py, equal steps): the ImageNet EfficientNet decoder keeps the content's
# structure and follows each style; the random-VGG one gave near-identical grey blobs for every style,
# and its encoder alone takes ~1 s at 512 px on 2 CPU threads (EfficientNet: ~60 ms).  vgg19 (ImageNet
# weights, not shipped) is the paper's choice and is offered for users who have its weights.
DEFAULT_ENCODER = "effnet-lite0"
PAPER_WIDTHS = (256, 128, 64)     # the paper's decoder widths at strides 8/4/2 (before the final RGB conv)
PAPER_CONVS = (1, 4, 2, 2)        # convolutions per resolution level, from stride 8 down to 1


# --------------------------------------------------------------------------- the network


def _conv(c_in: int, c_out: int, relu: bool) -> list[nn.Module]:
    # Reflection padding: zero padding leaves border artefacts in decoded pictures (paper §6.1).
    layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3)]
    return layers + [nn.ReLU()] if relu else layers


class AdaINDecoder(nn.Module):
    """The encoder mirrored: 3×3 convs + ReLU, nearest-neighbour ×2 upsampling, no normalisation.

    ``widths`` are the channels at strides 8, 4, 2 (the paper: 256, 128, 64); ``convs`` the number of
    convolutions at each level (the paper: 1, 4, 2, 2).  The last conv outputs RGB with no activation.
    No normalisation layers: they would tie every output to one style (paper §6.1).
    """

    def __init__(self, in_channels: int = 512, widths: Sequence[int] = PAPER_WIDTHS,
                 convs: Sequence[int] = PAPER_CONVS):
        super().__init__()
        if len(convs) != len(widths) + 1 or min(convs) < 1:
            raise ValueError(f"need one conv count per level: {len(widths) + 1} counts ≥ 1, got {list(convs)}")
        chans = [in_channels, *widths, 3]
        layers: list[nn.Module] = []
        for level, n in enumerate(convs):
            for i in range(n):
                last_of_level = i == n - 1
                final = last_of_level and level == len(convs) - 1
                layers += _conv(chans[level], chans[level + 1] if last_of_level else chans[level], relu=not final)
            if level < len(convs) - 1:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.layers = nn.Sequential(*layers)
        self.stride = 2 ** (len(convs) - 1)
        self.config = {"in_channels": int(in_channels), "widths": [int(w) for w in widths],
                       "convs": [int(n) for n in convs]}

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


def decoder_kwargs(in_channels: int, width: float) -> dict:
    """The paper's decoder with every width scaled by ``width`` (0.5 → a quarter of the FLOPs)."""
    return {"in_channels": in_channels, "widths": [max(8, round(w * width)) for w in PAPER_WIDTHS],
            "convs": list(PAPER_CONVS)}


class AdaINModel(nn.Module):
    """Frozen encoder + trained decoder.  ``precision`` (fp32/bf16/fp16) is used for the networks only;
    statistics and AdaIN are always computed in fp32."""

    def __init__(self, encoder, decoder: AdaINDecoder, encoder_name: str, config: dict | None = None,
                 precision: str = "fp32", spec: EncoderSpec | None = None):
        super().__init__()
        if encoder_name not in ENCODERS:
            raise ArtforgeError(f"unknown AdaIN encoder {encoder_name!r}; choose one of: {', '.join(ENCODERS)}")
        self.encoder, self.decoder = encoder, decoder
        self.encoder_name, self.spec = encoder_name, spec or ENCODERS[encoder_name]
        self.config = dict(config or {})
        self.precision = precision

    @property
    def device(self) -> torch.device:
        return next(self.decoder.parameters()).device

    @property
    def stride(self) -> int:
        return self.decoder.stride

    def autocast(self):
        from artforge.train.precision import autocast

        return autocast(self.device, self.precision)

    def encode(self, images: torch.Tensor, layers: Sequence[str], grad: bool = False) -> dict[str, torch.Tensor]:
        """Encoder activations (fp32) at ``layers`` for images in [-1, 1]."""
        with self.autocast():
            feats = self.encoder.features(images, layers=tuple(layers), grad=grad)
        return {k: v.float() for k, v in feats.items()}

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return self.decoder(features).float()


def build_model(encoder: str = DEFAULT_ENCODER, width: float = 0.5, device: str | torch.device = "cpu",
                precision: str = "fp32") -> AdaINModel:
    """A fresh (untrained) decoder for ``encoder``, its input width probed from the encoder itself."""
    from artforge.backbones import create_backbone

    if encoder not in ENCODERS:
        raise ArtforgeError(f"unknown AdaIN encoder {encoder!r}; choose one of: {', '.join(ENCODERS)}")
    backbone = create_backbone(encoder, device)
    tap = ENCODERS[encoder].tap
    channels = backbone.features(torch.zeros(1, 3, 32, 32, device=device), layers=(tap,))[tap].shape[1]
    decoder = AdaINDecoder(**decoder_kwargs(channels, width)).to(device)
    return AdaINModel(backbone, decoder, encoder, {"width": width}, precision)


# --------------------------------------------------------------------------- AdaIN


def channel_stats(features: torch.Tensor, eps: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and standard deviation over space: (N×C×1×1, N×C×1×1).

    ``eps`` is added to the variance; the loss uses it so that the gradient of √· stays finite
    on channels a ReLU switched off.
    """
    var, mean = torch.var_mean(features.float(), dim=(2, 3), keepdim=True, correction=0)
    return mean, (var + eps).sqrt()


def masked_stats(features: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std over the positions where ``region`` (N×1×h×w, 0/1) is 1."""
    count = region.sum(dim=(2, 3), keepdim=True).clamp_min(1)
    mean = (features * region).sum(dim=(2, 3), keepdim=True) / count
    var = ((features - mean) ** 2 * region).sum(dim=(2, 3), keepdim=True) / count
    return mean, var.sqrt()


def adain(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor,
          content_stats: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Eq. 8: normalise each channel of ``content`` and give it the style's mean and std.

    The result has exactly the style's statistics (no ε in the normalisation: a channel whose
    std is below 1e-5 — dead after a ReLU — is only shifted to the style's mean).
    """
    mean, std = content_stats if content_stats is not None else channel_stats(content)
    return (content - mean) / std.clamp_min(EPS) * style_std + style_mean


# --------------------------------------------------------------------------- inference


def _pad_to_multiple(images: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad bottom/right to a multiple of the decoder stride, and to at least two feature cells (the
    decoder's reflection padding needs 2); reflection where the picture is big enough, else replicate."""
    h, w = images.shape[-2:]
    pad = [0, max(-(-w // multiple), 2) * multiple - w, 0, max(-(-h // multiple), 2) * multiple - h]
    if not any(pad):
        return images
    mode = "reflect" if pad[1] < w and pad[3] < h else "replicate"
    return F.pad(images, pad, mode=mode)


def _normalised_weights(weights: Sequence[float] | None, n: int) -> list[float]:
    """Convex weights for style interpolation (paper §7.2); None means equal weights."""
    if weights is None:
        return [1.0 / n] * n
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise ArtforgeError(f"got {len(weights)} style weights for {n} style images; give one weight per style")
    if min(weights) < 0 or sum(weights) <= 0 or not all(math.isfinite(w) for w in weights):
        raise ArtforgeError(f"style weights must be ≥ 0 with a positive sum, got {weights}")
    total = sum(weights)
    return [w / total for w in weights]


def _region_masks(mask: torch.Tensor, n_styles: int, size: tuple[int, int], padded: tuple[int, int],
                  device) -> torch.Tensor:
    """The user's mask (H×W, 1×H×W, 1×1×H×W, or K×H×W with K = #styles) -> K×1×h×w soft weights
    at feature size, summing to 1.  A single mask means: style 1 inside; style 2 (or, with one style,
    the unstyled content) outside."""
    m = torch.as_tensor(mask, device=device).float()
    while m.dim() > 3 and m.shape[0] == 1:
        m = m[0]
    if m.dim() == 2:
        m = m[None]
    if m.dim() != 3 or tuple(m.shape[-2:]) != tuple(size):
        raise ArtforgeError(f"mask must be H×W (or K×H×W) with the content's size {tuple(size)}, "
                            f"got shape {tuple(torch.as_tensor(mask).shape)}")
    if m.shape[0] == 1:
        if n_styles > 2:
            raise ArtforgeError(f"a single mask splits the picture in two; with {n_styles} styles "
                                "give one mask per style (K×H×W)")
        m = torch.cat([m, 1 - m.clamp(0, 1)])
    elif m.shape[0] != n_styles:
        raise ArtforgeError(f"got {m.shape[0]} masks for {n_styles} styles; give one mask per style")
    # Padded like the content (bottom/right), so regions stay aligned with the features.
    return F.pad(m.clamp(0, 1)[:, None], [0, padded[1] - size[1], 0, padded[0] - size[0]], mode="replicate")


def _masked_targets(fc: torch.Tensor, stats: list[tuple[torch.Tensor, torch.Tensor]], masks: torch.Tensor,
                    with_content: bool) -> torch.Tensor:
    """AdaIN separately in each region (paper §7.2, spatial control): region statistics of the content,
    whole-picture statistics of its style; regions are blended with the area-downsampled soft masks."""
    soft = F.interpolate(masks, size=fc.shape[-2:], mode="area")        # K×1×h×w
    soft = soft / soft.sum(0, keepdim=True).clamp_min(1e-6)
    hard = F.one_hot(soft.argmax(0)[0], soft.shape[0]).permute(2, 0, 1)[:, None].float()  # K×1×h×w
    t = torch.zeros_like(fc)
    for k in range(soft.shape[0]):
        if with_content and k == len(stats):   # the outside of a single mask with one style: keep the content
            t = t + soft[k] * fc
            continue
        region = hard[k:k + 1] if hard[k].any() else soft[k:k + 1]
        t = t + soft[k] * adain(fc, *stats[k], content_stats=masked_stats(fc, region))
    return t


def _match_color(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style recoloured with the content's colour mean and covariance (Gatys et al. 2017, §5.1), as
    the paper's §7.2 does before encoding, so the brushwork arrives in the photo's colours."""
    from artforge.style.color import match_color

    return match_color(style, content)


def _fit_style(style: torch.Tensor, min_side: int, max_side: int) -> torch.Tensor:
    """Scale a style picture up to ``min_side`` (VGG's pooling needs it) or down to ``max_side`` (memory:
    its statistics are all that is used); sizes in between are kept, since they set the stroke scale."""
    h, w = style.shape[-2:]
    if min(h, w) < min_side:
        scale = min_side / min(h, w)
        return F.interpolate(style, size=(max(min_side, round(h * scale)), max(min_side, round(w * scale))),
                             mode="bilinear", align_corners=False)
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        return F.interpolate(style, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="area")
    return style


def _check_image(x: torch.Tensor, what: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ArtforgeError(f"{what} must be a 1×3×H×W tensor in [-1, 1], got {shape}")


def stylize_fast(model: AdaINModel, content: torch.Tensor, styles: Sequence[torch.Tensor],
                 weights: Sequence[float] | None = None, alpha: float = 1.0, preserve_color: bool = False,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
    """Stylise ``content`` (1×3×H×W in [-1, 1], any size) with ``styles`` in one forward pass.

    ``weights`` interpolate several styles (their AdaIN targets are mixed), ``alpha`` trades content
    (0) for style (1), ``preserve_color`` keeps the content's colours, ``mask`` (H×W, 1 = first style)
    gives a region its own style.  Returns 1×3×H×W in [-1, 1] on the content's device.

    Example::

        out = stylize_fast(load_adain(), content, [style_a, style_b], weights=[0.7, 0.3], alpha=0.9)
    """
    styles = list(styles) if not isinstance(styles, torch.Tensor) else [styles]
    _check_image(content, "content")
    if not styles:
        raise ArtforgeError("give at least one style image")
    for i, s in enumerate(styles):
        _check_image(s, f"style image {i + 1}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ArtforgeError(f"alpha must be between 0 (content only) and 1 (full style), got {alpha}")
    if mask is not None and weights is not None:
        raise ArtforgeError("use either style weights (interpolation) or a mask (regions), not both")
    with torch.no_grad():
        out = _stylize(model, content, styles, weights, float(alpha), preserve_color, mask)
    return out.to(content.device)


def _stylize(model, content, styles, weights, alpha, preserve_color, mask) -> torch.Tensor:
    device, tap = model.device, model.spec.tap
    content = content.to(device).float()
    styles = [_fit_style(s.to(device).float(), 2 * model.stride, STYLE_MAX_SIDE) for s in styles]
    if preserve_color:
        styles = [_match_color(s, content) for s in styles]
    size = tuple(content.shape[-2:])
    padded = _pad_to_multiple(content, model.stride)
    fc = model.encode(padded, (tap,))[tap]
    stats = [channel_stats(model.encode(s, (tap,))[tap]) for s in styles]
    if mask is None:
        w = _normalised_weights(weights, len(styles))
        t = sum(wk * adain(fc, *st) for wk, st in zip(w, stats))
    else:
        masks = _region_masks(mask, len(styles), size, tuple(padded.shape[-2:]), device)
        t = _masked_targets(fc, stats, masks, with_content=masks.shape[0] > len(styles))
    t = alpha * t + (1 - alpha) * fc                       # eq. 14: the content/style trade-off
    return model.decode(t)[..., :size[0], :size[1]].clamp(-1, 1)


# --------------------------------------------------------------------------- export: safetensors + config.json


def load_adain(path: str | Path | None = None, device: str | torch.device = "cpu") -> AdaINModel:
    """The AdaIN model saved in ``path`` (a :func:`train_adain` output folder); None = the shipped decoder.

    Example::

        model = load_adain("runs/adain-mine", device="cuda")
    """
    directory = Path(path) if path is not None else ASSET
    if not directory.is_dir():
        raise CheckpointError(f"no AdaIN decoder at {directory}: pass the folder train_adain wrote "
                              "(it holds config.json and model.safetensors)")
    from artforge.models.registry import read_export_config

    config = read_export_config(directory)     # CheckpointError when a file is missing or the JSON is damaged
    if config.get("model") != MODEL_NAME or config.get("encoder") not in ENCODERS:
        raise CheckpointError(f"{directory} holds a {config.get('model')!r} model, not an AdaIN decoder "
                              f"(encoder {config.get('encoder')!r}); pass a folder written by train_adain")
    try:   # the taps a decoder was trained with are part of it: read them, not today's defaults
        decoder = AdaINDecoder(**config["decoder"])
        spec = EncoderSpec(str(config["tap"]), tuple(config["style_taps"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{directory / 'config.json'} has no usable decoder/tap entry ({exc!r}); "
                              "the export is damaged or from another program") from exc
    _load_weights(decoder, _read_safetensors(directory / "model.safetensors"), "decoder.", directory)
    from artforge.backbones import create_backbone
    from artforge.train.precision import resolve_precision

    encoder = create_backbone(config["encoder"], device)
    precision = resolve_precision("auto", torch.device(device))
    return AdaINModel(encoder, decoder.to(device).eval(), config["encoder"], config, precision, spec)


def _read_safetensors(file: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except Exception as exc:  # safetensors has its own error types for truncated or foreign files
        raise CheckpointError(f"{file} cannot be read ({str(exc).splitlines()[0]}); the file is damaged — "
                              "retrain, or copy it again") from exc


def _load_weights(module: nn.Module, read: tuple[dict, dict], prefix: str, where: Path) -> None:
    tensors, _ = read
    state = {k[len(prefix):]: v.float() for k, v in tensors.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{where} does not match its config.json ({str(exc).splitlines()[0]})") from exc


def save_adain(model: AdaINModel, directory: Path, training: dict, dtype: torch.dtype = torch.float16) -> Path:
    """Write the decoder as ``model.safetensors`` (fp16 by default: half the size, no visible change) +
    ``config.json`` (encoder, taps, decoder shape, how it was trained), each file atomically."""
    from artforge.models.registry import save_export

    half = AdaINDecoder(**model.decoder.config)
    half.load_state_dict(model.decoder.state_dict())
    config = {"model": MODEL_NAME, "encoder": model.encoder_name, "tap": model.spec.tap,
              "style_taps": list(model.spec.style_taps), "decoder": model.decoder.config,
              "dtype": str(dtype).replace("torch.", ""), "paper": "Huang & Belongie, ICCV 2017",
              "training": training}
    return save_export(Path(directory), {"decoder": half.to(dtype)}, config)


# --------------------------------------------------------------------------- training


def adain_loss(model: AdaINModel, content: torch.Tensor, style: torch.Tensor, style_weight: float = 10.0,
               identity_weight: float = 0.0) -> dict[str, torch.Tensor]:
    """Eqs. 11–13: content loss to the AdaIN target ``t`` at the tap, plus λ × the mean/std style loss
    at every style tap.  The target is a constant: the loss trains the decoder only.

    ``identity_weight`` adds a pixel loss on decoding the content's own features (AdaIN(f(c), f(c)) =
    f(c)): the identity loss of Park & Lee 2019 (SANet), not in the AdaIN paper.  It gives the decoder
    a dense signal for inverting the encoder, so short trainings keep the content's structure.
    """
    tap, style_taps = model.spec.tap, model.spec.style_taps
    taps = tuple(dict.fromkeys(style_taps + (tap,)))
    with torch.no_grad():
        fc = model.encode(content, (tap,))[tap]
        fs = model.encode(style, taps)
        t = adain(fc, *channel_stats(fs[tap]))
    fg = model.encode(model.decode(t), taps, grad=True)
    losses = {"content": F.mse_loss(fg[tap], t) / _energy(t),
              "style": sum(_stats_loss(fg[name], fs[name]) for name in style_taps) / len(style_taps)}
    losses["loss"] = losses["content"] + style_weight * losses["style"]
    if identity_weight:
        losses["identity"] = F.mse_loss(model.decode(fc), content.float())
        losses["loss"] = losses["loss"] + identity_weight * losses["identity"]
    return losses


def _energy(features: torch.Tensor) -> torch.Tensor:
    # Departure from the paper: every term is divided by its target's mean square (a constant), so one λ
    # means the same for VGG-19 (activations ~1), random VGG (~1e-2) and EfficientNet (~1e2).
    return features.detach().pow(2).mean().clamp_min(1e-12)


def _stats_loss(output: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """||μ(out) − μ(s)||² + ||σ(out) − σ(s)||² at one tap (eq. 13), relative to the style's energy."""
    (mo, so), (ms, ss) = channel_stats(output, EPS), channel_stats(style, EPS)
    return (F.mse_loss(mo, ms) + F.mse_loss(so, ss)) / _energy(style)


def train_adain(content: str | Path | Sequence[str | Path], style: str | Path | Sequence[str | Path],
                out: str | Path, steps: int, batch: int = 8, size: int = 256, crop: int | None = None,
                lr: float = 1e-4, style_weight: float = 10.0, identity_weight: float = 5.0,
                encoder: str = DEFAULT_ENCODER,
                width: float = 0.5, device: str = "auto", precision: str = "auto", seed: int = 0,
                n_builtin: int = 1000, save_every: int = 200, note: str = "", progress: bool = True) -> Path:
    """Train an AdaIN decoder; returns ``out``, which :func:`load_adain` reads.

    ``content`` / ``style``: folders or ``builtin:NAME`` sources (or lists of them), loaded at ``size``
    (square, centre crop); each step takes random ``crop``-pixel crops (default ``size // 2``, as the
    paper's 256 of 512) with random horizontal flips, so a 20-picture folder works.  ``width`` scales
    the paper's decoder widths; ``identity_weight`` > 0 adds the pixel identity loss (:func:`adain_loss`).
    ``out`` gets the export (``model.safetensors`` in fp16 + ``config.json``) and, every ``save_every``
    steps and on Ctrl-C / SIGTERM, ``train-state.safetensors``; the same call again continues from the
    saved step (a larger ``steps`` trains further).

    Example::

        train_adain("my_photos/", "builtin:paintings", "runs/adain", steps=20000, device="auto")
    """
    from artforge.train.precision import resolve_device, resolve_precision

    settings = _settings(content, style, batch, size, crop, lr, style_weight, identity_weight, encoder, width, seed,
                         n_builtin)
    out, dev = Path(out), resolve_device(device)
    prec = resolve_precision(precision, dev)
    if steps < 1:
        raise ArtforgeError(f"steps must be at least 1, got {steps}")
    start, seconds, saved = _read_state(out, settings)
    if start >= steps:   # before the (possibly slow) data loading
        print(f"{out}: already trained {start} steps (asked for {steps}); nothing to do", file=sys.stderr)
        return out
    with torch.random.fork_rng(devices=[]):                # the decoder's initial weights, without
        torch.manual_seed(seed)                            # touching the caller's random state
        model = build_model(encoder, width, dev, prec)
    model.decoder.train()
    opt = torch.optim.Adam(model.decoder.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)              # crops, flips and picture order
    if saved is not None:
        _restore(saved, model.decoder, opt, gen, out / STATE_FILE)
    data = {role: _load_pictures(settings[role], size, n_builtin, seed, role, progress)
            for role in ("content", "style")}
    run = _Run(out, model, opt, gen, settings, data, prec, note, seconds, steps)
    return run.train(start, save_every, progress)


def _settings(content, style, batch, size, crop, lr, style_weight, identity_weight, encoder, width, seed,
              n_builtin) -> dict:
    """Everything a resumed run must share with the run it continues (``steps`` may grow)."""
    crop = crop or size // 2
    if encoder not in ENCODERS:
        raise ArtforgeError(f"unknown AdaIN encoder {encoder!r}; choose one of: {', '.join(ENCODERS)}")
    if not 8 <= crop <= size:
        raise ArtforgeError(f"crop must be between 8 and size ({size}), got {crop}")
    if batch < 1 or lr <= 0 or style_weight < 0 or identity_weight < 0 or width <= 0:
        raise ArtforgeError("batch must be ≥ 1, lr and width > 0, style_weight and identity_weight ≥ 0")
    return {"content": _source_list(content), "style": _source_list(style), "batch": batch, "size": size,
            "crop": crop, "lr": lr, "style_weight": style_weight, "identity_weight": identity_weight,
            "encoder": encoder, "width": width,
            "seed": seed, "n_builtin": n_builtin}


def _source_list(sources) -> list[str]:
    # Folders are recorded absolute so that a rerun from another directory still matches.
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if not items:
        raise ArtforgeError("give at least one content and one style source (a folder or builtin:NAME)")
    return [s if str(s).startswith("builtin:") else str(Path(s).resolve()) for s in map(str, items)]


def _load_pictures(sources: list[str], size: int, n_builtin: int, seed: int, role: str,
                   progress: bool) -> torch.Tensor:
    """All pictures of ``sources`` as one uint8 N×3×size×size tensor."""
    from artforge.data.sources import open_source

    parts = []
    for src in sources:
        found = open_source(src, size, n_builtin=n_builtin, seed=seed, progress=progress)
        print(f"{role}: {src}: {found.summary()}", file=sys.stderr)
        parts.append(found.images)
    return torch.cat(parts)


def _random_crops(images: torch.Tensor, n: int, crop: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` random ``crop``² crops (random picture, place, horizontal flip) -> float in [-1, 1]."""
    idx = torch.randint(len(images), (n,), generator=gen).tolist()
    ys = torch.randint(images.shape[-2] - crop + 1, (n,), generator=gen).tolist()
    xs = torch.randint(images.shape[-1] - crop + 1, (n,), generator=gen).tolist()
    flips = (torch.rand(n, generator=gen) < 0.5).tolist()
    crops = [images[i, :, y:y + crop, x:x + crop] for i, y, x in zip(idx, ys, xs)]
    crops = [c.flip(-1) if f else c for c, f in zip(crops, flips)]
    return torch.stack(crops).float() / 127.5 - 1


class _Run:
    """One training run's loop, saving and stopping (kept together so each piece stays short)."""

    def __init__(self, out, model, opt, gen, settings, data, precision, note, seconds, steps):
        self.out, self.model, self.opt, self.gen = out, model, opt, gen
        self.settings, self.data, self.precision, self.note = settings, data, precision, note
        self.seconds, self.steps = seconds, steps
        self.scaler = torch.amp.GradScaler(model.device.type, enabled=precision == "fp16")
        self.sums: dict[str, float] = {}

    def train(self, step: int, save_every: int, progress: bool) -> Path:
        from tqdm import tqdm

        from artforge.train.trainer import StopFlag

        bar = tqdm(total=self.steps, initial=step, disable=not progress, unit="step", dynamic_ncols=True)
        with StopFlag() as stop:
            while step < self.steps and not stop.requested:
                started = time.perf_counter()
                losses = self.step()
                step += 1
                self.seconds += time.perf_counter() - started
                self._check(losses, step)
                bar.update(1)
                bar.set_postfix(loss=f"{losses['loss']:.3g}", refresh=False)
                if step % save_every == 0 or step == self.steps or stop.requested:
                    self.save(step)
        bar.close()
        return self.out

    def step(self) -> dict[str, float]:
        crop, batch, dev = self.settings["crop"], self.settings["batch"], self.model.device
        content = _random_crops(self.data["content"], batch, crop, self.gen).to(dev)
        style = _random_crops(self.data["style"], batch, crop, self.gen).to(dev)
        losses = adain_loss(self.model, content, style, self.settings["style_weight"],
                            self.settings["identity_weight"])
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(losses["loss"]).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        values = {k: v.item() for k, v in losses.items()}
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.sums["n"] = self.sums.get("n", 0.0) + 1
        return values

    def _check(self, losses: dict[str, float], step: int) -> None:
        if not math.isfinite(losses["loss"]):
            raise TrainingDiverged(f"the AdaIN loss became {losses['loss']} at step {step}; the last saved state "
                                   f"in {self.out} is kept — rerun with a lower lr to continue")

    def save(self, step: int) -> None:
        """Export first, then the state: a kill between the two leaves an export at least as new."""
        n = max(self.sums.pop("n", 1.0), 1.0)
        losses = {k: round(v / n, 6) for k, v in self.sums.items()}
        self.sums = {}
        save_adain(self.model, self.out, self.facts(step, losses))
        _write_state(self.out / STATE_FILE, self.model.decoder, self.opt, self.gen, step, self.settings,
                     self.seconds)

    def facts(self, step: int, losses: dict) -> dict:
        from artforge import __version__

        return {**self.settings, "steps": step, "steps_planned": self.steps, "finished": step >= self.steps,
                "n_content": len(self.data["content"]), "n_style": len(self.data["style"]),
                "device": str(self.model.device), "precision": self.precision,
                "seconds": round(self.seconds, 1), "recent_losses": losses, "note": self.note,
                "torch": torch.__version__, "artforge_version": __version__,
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def _write_state(file: Path, decoder: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator, step: int,
                 settings: dict, seconds: float) -> None:
    """Decoder + Adam moments + data RNG in one safetensors file (one atomic rename; nothing pickled)."""
    from safetensors.torch import save_file

    from artforge.fileio import atomic_write

    tensors = {f"decoder.{k}": v.detach().cpu().contiguous() for k, v in decoder.state_dict().items()}
    opt_state = opt.state_dict()
    for idx, slots in opt_state["state"].items():
        for name, value in slots.items():
            tensors[f"adam.{idx}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng.data"] = gen.get_state()
    meta = {"format": "artforge-adain-state", "step": str(step), "seconds": repr(seconds),
            "settings": json.dumps(settings), "param_groups": json.dumps(opt_state["param_groups"])}
    atomic_write(file, lambda tmp: save_file(tensors, tmp, metadata=meta))


def _read_state(out: Path, settings: dict) -> tuple[int, float, tuple | None]:
    """(step, seconds, saved tensors) to continue from; (0, 0, None) for a new run."""
    file = out / STATE_FILE
    if not file.is_file():
        if (out / "config.json").is_file():
            raise ArtforgeError(f"{out} already holds a model but no training state to continue; "
                                "choose a new output folder")
        return 0, 0.0, None
    tensors, meta = _read_safetensors(file)
    old = json.loads(meta.get("settings", "{}"))
    changed = [f"{k}: {old.get(k)!r} -> {v!r}" for k, v in settings.items() if old.get(k) != v]
    if changed:
        raise ArtforgeError(f"{out} holds a run with other settings ({'; '.join(changed)}); "
                            "use a new output folder, or the same settings to continue it")
    return int(meta["step"]), float(meta["seconds"]), (tensors, meta)


def _restore(saved: tuple, decoder: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator,
             file: Path) -> None:
    tensors, meta = saved
    _load_weights(decoder, saved, "decoder.", file)
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("adam."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    gen.set_state(tensors["rng.data"])
