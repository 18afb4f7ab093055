"""Fast arbitrary style transfer with adaptive instance normalisation (Huang & Belongie, ICCV 2017).

A frozen encoder ``f`` (a shared backbone cut at one tap; the paper uses VGG-19 ``relu4_1``) maps the
content ``c`` and the style ``s`` to features; AdaIN gives the content features the style's
channel-wise mean and standard deviation (eq. 8)::

    t = AdaIN(f(c), f(s)) = σ(f(s)) · (f(c) − μ(f(c))) / σ(f(c)) + μ(f(s))

and a learned decoder ``g`` turns ``t`` back into a picture.  Only the decoder is trained, with
``L = ||f(g(t)) − t||² + λ Σ_i ||μ(φ_i(g(t))) − μ(φ_i(s))||² + ||σ(φ_i(g(t))) − σ(φ_i(s))||²`` over
several encoder taps ``φ_i`` (eqs. 11–13; squared norms, as in the authors' released code).  One
forward pass stylises with any style, unseen ones included.

The network is ``artforge.models.adain``, its training objective ``artforge.methods.adain`` (on the
shared trainer, like every model artforge trains); this module is inference and the export format.
The default encoder is the ImageNet EfficientNet-Lite0 shipped with artforge, since VGG-19's weights
are not (see ``artforge.models.adain.ENCODERS``).

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
import math
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from artforge.errors import ArtforgeError, CheckpointError
from artforge.models.adain import (
    DEFAULT_ENCODER,
    ENCODERS,
    PAPER_WIDTH,
    AdaINDecoder,
    EncoderSpec,
    decoder_kwargs,
    spec_for_decoder,
)

ASSET = Path(__file__).resolve().parents[1] / "assets" / "adain-decoder"
MODEL_NAME = "adain-decoder"  # the "model" field of an AdaIN export's config.json
LEGACY_STATE_FILE = "train-state.safetensors"  # what artforge 0.1's own AdaIN training loop wrote
EPS = 1e-5
STYLE_MAX_SIDE = 2048  # larger style pictures are scaled down first: only their statistics are used
COLOUR = "rgb"  # the key of a style's RGB colour moments beside its per-tap feature statistics


@dataclasses.dataclass(frozen=True)
class Rendering:
    """How the fast path turns AdaIN targets into the picture.  Each default was chosen on
    ``bench/style_anchor.py`` (8 real photo × painting pairs, 512 px; figures in bench/RESULTS.md).

    - ``scale``: the decoder paints at this fraction of the output size, then a bicubic resample
      brings it to size: the decoder's finest-octave mesh lies above what survives the resample;
    - ``passes``: AdaIN is applied again to the features of the first result (content features for
      ``alpha`` stay the photo's): strokes grow into the style's texture instead of a tint;
    - ``colour``: the result gets the style's RGB mean and covariance (the encoder's statistics carry
      the palette only partly; Gatys et al. 2017's colour matching, applied to the output);
    - ``clean``: guided-filter ε (0 = off) at the decoder's resolution, radius ``clean_radius``:
      flattens the low-contrast mesh the decoder leaves in flat areas, keeps edges and strokes.

    ``Rendering(scale=1, passes=1, colour=False, clean=0)`` is the plain paper pipeline.
    """

    scale: float = 0.75
    passes: int = 2
    colour: bool = True
    clean: float = 0.015
    clean_radius: int = 2

    def validate(self) -> "Rendering":
        if not 0.25 <= self.scale <= 1:
            raise ArtforgeError(f"--fast-scale must be between 0.25 and 1, got {self.scale}")
        if not 1 <= self.passes <= 4:
            raise ArtforgeError(f"--fast-passes must be between 1 and 4, got {self.passes}")
        if not 0 <= self.clean <= 1:
            raise ArtforgeError(f"--fast-clean must be between 0 (off) and 1, got {self.clean}")
        return self


class AdaINModel(nn.Module):
    """Frozen encoder + trained decoder.  ``precision`` (fp32/bf16/fp16) is used for the networks only;
    statistics and AdaIN are always computed in fp32."""

    def __init__(
        self,
        encoder,
        decoder: AdaINDecoder,
        encoder_name: str,
        config: dict | None = None,
        precision: str = "fp32",
        spec: EncoderSpec | None = None,
    ):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.encoder_name, self.spec = encoder_name, spec or spec_for_decoder(encoder_name, decoder)
        self.config = dict(config or {})
        self.precision = precision
        self.frozen = False  # load_adain sets it: an inference model may keep low-precision copies of its weights
        self._lowp_copy: tuple | None = None
        # Channels-last convolutions are 2-4x faster on CPU (oneDNN) with identical results; the reflection
        # padding of the decoder otherwise spends more time in layout copies than in its convolutions.
        self.to(memory_format=torch.channels_last)

    @property
    def device(self) -> torch.device:
        return next(self.decoder.parameters()).device

    @property
    def stride(self) -> int:
        return self.decoder.stride

    def autocast(self):
        from artforge.train.precision import autocast

        return autocast(self.device, self.precision)

    def _lowp(self) -> tuple | None:
        """(dtype, encoder net, decoder) in bf16/fp16 for a frozen model's inference: under autocast every weight
        is cast again on every call, a sixth of a 512-px stylisation on CPU (profiled).  The encoder's batch
        norms are folded into its convolutions first, so the copy computes what autocast does."""
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        if dtype is None or not self.frozen or torch.is_grad_enabled():
            return None
        if self._lowp_copy is None or self._lowp_copy[0] != dtype:
            import copy

            net = self.encoder.net.folded() if hasattr(self.encoder.net, "folded") else copy.deepcopy(self.encoder.net)
            net, decoder = net.to(dtype), copy.deepcopy(self.decoder).to(dtype)
            self._lowp_copy = (dtype, net, decoder)
        return self._lowp_copy

    def encode(self, images: torch.Tensor, layers: Sequence[str], grad: bool = False) -> dict[str, torch.Tensor]:
        """Encoder activations (fp32) at ``layers`` for images in [-1, 1]."""
        lowp = None if grad else self._lowp()
        if lowp is not None:
            x = self.encoder.normalize(images).to(lowp[0]).contiguous(memory_format=torch.channels_last)
            return {k: v.float() for k, v in lowp[1].taps(x, tuple(layers)).items()}
        images = images.contiguous(memory_format=torch.channels_last)
        with self.autocast():
            feats = self.encoder.features(images, layers=tuple(layers), grad=grad)
        return {k: v.float() for k, v in feats.items()}

    def decode(self, features: torch.Tensor, skips: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        lowp = self._lowp()
        if lowp is not None:
            as_lowp = lambda f: f.to(lowp[0]).contiguous(memory_format=torch.channels_last)  # noqa: E731
            return lowp[2](as_lowp(features), [as_lowp(f) for f in skips]).float().contiguous()
        features = features.contiguous(memory_format=torch.channels_last)
        skips = [f.contiguous(memory_format=torch.channels_last) for f in skips]
        with self.autocast():
            return self.decoder(features, skips).float().contiguous()

    def encode_levels(self, images: torch.Tensor, grad: bool = False) -> dict[str, torch.Tensor]:
        """Features at every tap AdaIN works on (the deep tap and the decoder's skips)."""
        return self.encode(images, self.spec.levels, grad)

    def decode_levels(self, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """Decode the AdaIN targets of every level (:meth:`encode_levels`' keys)."""
        return self.decode(targets[self.spec.tap], [targets[name] for name in self.spec.skips])


def build_model(
    encoder: str = DEFAULT_ENCODER, width: float = 0.5, device: str | torch.device = "cpu", precision: str = "fp32"
) -> AdaINModel:
    """A fresh (untrained) model for ``encoder``; ``width`` scales the paper's decoder widths (0.5: half)."""
    from artforge.backbones import create_backbone

    decoder = AdaINDecoder(**decoder_kwargs(encoder, decoder_width(width))).to(device)
    return AdaINModel(create_backbone(encoder, device), decoder, encoder, {"width": width}, precision)


def decoder_width(scale: float) -> int:
    """The decoder's base width for a fraction of the paper's (1 → 64 channels at stride 2)."""
    if not 0 < scale <= 8:
        raise ArtforgeError(f"the decoder width is a fraction of the paper's, between 0 and 8; got {scale}")
    return max(2, round(PAPER_WIDTH * scale))


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


def adain(
    content: torch.Tensor,
    style_mean: torch.Tensor,
    style_std: torch.Tensor,
    content_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
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


def _region_masks(
    mask: torch.Tensor, n_styles: int, size: tuple[int, int], padded: tuple[int, int], device
) -> torch.Tensor:
    """The user's mask (H×W, 1×H×W, 1×1×H×W, or K×H×W with K = #styles) -> K×1×h×w soft weights
    at feature size, summing to 1.  A single mask means: style 1 inside; style 2 (or, with one style,
    the unstyled content) outside."""
    m = _as_maps(mask, size)[:, 0].to(device)
    if m.shape[0] == 1:
        if n_styles > 2:
            raise ArtforgeError(
                f"a single mask splits the picture in two; with {n_styles} styles give one mask per style (K×H×W)"
            )
        m = torch.cat([m, 1 - m.clamp(0, 1)])
    elif m.shape[0] != n_styles:
        raise ArtforgeError(f"got {m.shape[0]} masks for {n_styles} styles; give one mask per style")
    # Padded like the content (bottom/right), so regions stay aligned with the features.
    return F.pad(m.clamp(0, 1)[:, None], [0, padded[1] - size[1], 0, padded[0] - size[0]], mode="replicate")


def _masked_targets(
    fc: torch.Tensor,
    stats: list[tuple[torch.Tensor, torch.Tensor]],
    masks: torch.Tensor,
    with_content: bool,
    unstyled: torch.Tensor | None = None,
) -> torch.Tensor:
    """AdaIN separately in each region (paper §7.2, spatial control): region statistics of the content,
    whole-picture statistics of its style; regions are blended with the area-downsampled soft masks.
    The unstyled outside of a single mask with one style gets ``unstyled`` (default ``fc``): the photo's
    own features, also on a second pass over a stylised picture."""
    soft = F.interpolate(masks, size=fc.shape[-2:], mode="area")  # K×1×h×w
    soft = soft / soft.sum(0, keepdim=True).clamp_min(1e-6)
    hard = F.one_hot(soft.argmax(0)[0], soft.shape[0]).permute(2, 0, 1)[:, None].float()  # K×1×h×w
    t = torch.zeros_like(fc)
    for k in range(soft.shape[0]):
        if with_content and k == len(stats):  # the outside of a single mask with one style: keep the content
            t = t + soft[k] * (fc if unstyled is None else unstyled)
            continue
        region = hard[k : k + 1] if hard[k].any() else soft[k : k + 1]
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
        return F.interpolate(
            style,
            size=(max(min_side, round(h * scale)), max(min_side, round(w * scale))),
            mode="bilinear",
            align_corners=False,
        )
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        return F.interpolate(style, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="area")
    return style


def _check_image(x: torch.Tensor, what: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ArtforgeError(f"{what} must be a 1×3×H×W tensor in [-1, 1], got {shape}")


def stylize_fast(
    model: AdaINModel,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    weights: Sequence[float] | None = None,
    alpha: float = 1.0,
    preserve_color: bool = False,
    mask: torch.Tensor | None = None,
    rendering: Rendering = Rendering(),
) -> torch.Tensor:
    """Stylise ``content`` (1×3×H×W in [-1, 1], any size) with ``styles`` in one forward pass.

    ``weights`` interpolate several styles (their AdaIN targets are mixed), ``alpha`` trades content
    (0) for style (1), ``preserve_color`` keeps the content's colours, ``mask`` (H×W, 1 = first style)
    gives a region its own style, ``rendering`` how the picture is painted (:class:`Rendering`).
    Returns 1×3×H×W in [-1, 1] on the content's device.

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
    rendering.validate()
    with torch.no_grad():
        content = content.to(model.device).float()
        stats = style_statistics(model, styles, colour_of=content if preserve_color else None)
        out = render(model, content, stats, weights, float(alpha), mask, rendering)
    return out.to(content.device)


def render(
    model: AdaINModel,
    content: torch.Tensor,
    stats: Sequence["Stats"],
    weights: Sequence[float] | None,
    alpha: float,
    mask: torch.Tensor | None,
    rendering: Rendering,
) -> torch.Tensor:
    """The fast path from the styles' statistics to the picture, as :class:`Rendering` describes."""
    size = tuple(content.shape[-2:])
    work = working_size(size, rendering.scale)
    padded = _pad_to_multiple(resize_to(content, work), model.stride)
    regions = None
    if mask is not None:
        maps = resize_to(_as_maps(mask, size).to(model.device), work)[:, 0]
        regions = _region_masks(maps, len(stats), work, tuple(padded.shape[-2:]), model.device)
    fcs = features = model.encode_levels(padded)
    for step in range(rendering.passes):  # later passes: AdaIN on the picture so far; fcs stay α's content side
        out = model.decode_levels(with_content(_targets(features, stats, weights, regions, fcs), fcs, alpha))
        out = out.clamp(-1, 1)
        if step + 1 < rendering.passes:
            features = model.encode_levels(out)
    return finish_rendering(out[..., : work[0], : work[1]], stats, weights, alpha, rendering, size, regions)


def with_content(targets: dict, fcs: dict, alpha: float) -> dict:
    """Eq. 14 at every level: ``alpha`` of the AdaIN targets, the rest the photo's own features."""
    return {k: alpha * t + (1 - alpha) * fcs[k] for k, t in targets.items()}


def finish_rendering(
    out: torch.Tensor,
    stats,
    weights,
    alpha: float,
    rendering: Rendering,
    size: tuple[int, int],
    regions=None,
    moments=None,
) -> torch.Tensor:
    """After the decoder: the style's colours, the clean-up, the resample to ``size``.  ``moments`` replaces
    the picture's own colour moments as the colour map's source (a video smooths them over frames)."""
    if rendering.colour and alpha > 0:
        matched = _match_style_colours(out, stats, weights, regions, moments)
        out = alpha * matched + (1 - alpha) * out
    if rendering.clean > 0:
        from artforge.style.filters import guided_filter

        out = guided_filter(out, rendering.clean_radius, rendering.clean)
    if tuple(out.shape[-2:]) != tuple(size):
        out = F.interpolate(out, size=size, mode="bicubic", align_corners=False)
    return out.clamp(-1, 1)


def working_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return (max(1, round(size[0] * scale)), max(1, round(size[1] * scale))) if scale < 1 else size


def resize_to(images: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    from artforge.style.io import resize

    return resize(images.float(), hw)


def _as_maps(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A user's mask as K×1×H×W (it may come as H×W, 1×H×W, 1×1×H×W or K×H×W), for resizing."""
    m = torch.as_tensor(mask).float()
    while m.dim() > 3 and m.shape[0] == 1:
        m = m[0]
    if m.dim() == 2:
        m = m[None]
    if m.dim() != 3 or tuple(m.shape[-2:]) != tuple(size):
        raise ArtforgeError(
            f"mask must be H×W (or K×H×W) with the content's size {tuple(size)}, got shape {tuple(m.shape)}"
        )
    return m[:, None]


def _targets(features, stats, weights, regions, content_features) -> dict[str, torch.Tensor]:
    if regions is None:
        return adain_targets(features, stats, weights)
    with_content = regions.shape[0] > len(stats)
    return {
        k: _masked_targets(f, [st[k] for st in stats], regions, with_content, content_features[k])
        for k, f in features.items()
    }


def _match_style_colours(out, stats, weights, regions, moments=None) -> torch.Tensor:
    """Give the picture its style's RGB mean and covariance: the blend's (mixture) moments, or in each
    region of a mask its own style's (the unstyled outside of a single mask keeps its colours)."""
    from artforge.style.color import apply_moments, colour_moments, mix_moments

    if regions is None:
        target = mix_moments([st[COLOUR] for st in stats], _normalised_weights(weights, len(stats)))
        return apply_moments(out, moments or colour_moments(out[0]), target)
    soft = regions[..., : out.shape[-2], : out.shape[-1]].to(out.device)
    soft = soft / soft.sum(0, keepdim=True).clamp_min(1e-6)
    result = torch.zeros_like(out)
    for k in range(soft.shape[0]):
        if k >= len(stats) or float(soft[k].sum()) < 1:  # the unstyled outside, or an empty region
            result = result + soft[k] * out
            continue
        result = result + soft[k] * apply_moments(out, colour_moments(out[0], weight=soft[k, 0]), stats[k][COLOUR])
    return result


Stats = dict[str, tuple[torch.Tensor, torch.Tensor]]  # channel mean and std per tap


def style_statistics(
    model: AdaINModel, styles: Sequence[torch.Tensor], colour_of: torch.Tensor | None = None
) -> list[Stats]:
    """Each style's channel mean and std at every AdaIN tap, and its RGB colour moments (key ``COLOUR``),
    recoloured to ``colour_of`` first if given: all the fast path needs of a style, so a video computes
    them once."""
    from artforge.style.color import colour_moments

    styles = [_fit_style(s.to(model.device).float(), 2 * model.stride, STYLE_MAX_SIDE) for s in styles]
    if colour_of is not None:
        styles = [_match_color(s, colour_of.to(model.device).float()) for s in styles]
    with torch.no_grad():
        return [
            {**{k: channel_stats(f) for k, f in model.encode_levels(s).items()}, COLOUR: colour_moments(s[0])}
            for s in styles
        ]


def adain_targets(
    fcs: dict[str, torch.Tensor],
    stats: Sequence[Stats],
    weights: Sequence[float] | None = None,
    content_stats: Stats | None = None,
) -> dict[str, torch.Tensor]:
    """The (interpolated, §7.2) AdaIN target at every tap of content features ``fcs`` for styles with ``stats``."""
    w = _normalised_weights(weights, len(stats))
    return {
        k: sum(
            wk * adain(fc, *st[k], content_stats=None if content_stats is None else content_stats[k])
            for wk, st in zip(w, stats)
        )
        for k, fc in fcs.items()
    }


# --------------------------------------------------------------------------- export: safetensors + config.json


def load_adain(path: str | Path | None = None, device: str | torch.device = "cpu") -> AdaINModel:
    """The AdaIN model in ``path`` — a run folder of :func:`train_adain` / ``artforge style train-adain``,
    or its ``model/`` export; None = the shipped decoder.

    Example::

        model = load_adain("runs/adain-mine", device="cuda")
    """
    directory = Path(path) if path is not None else ASSET
    if not directory.is_dir():
        raise CheckpointError(
            f"no AdaIN decoder at {directory}: pass the run folder train-adain wrote "
            "(or its model/ folder, which holds config.json and model.safetensors)"
        )
    if not (directory / "config.json").is_file() and (directory / "model" / "config.json").is_file():
        directory = directory / "model"  # a run folder: its export
    from artforge.models.registry import read_export_config

    config = read_export_config(directory)  # CheckpointError when a file is missing or the JSON is damaged
    if config.get("model") != MODEL_NAME or config.get("encoder") not in ENCODERS:
        raise CheckpointError(
            f"{directory} holds a {config.get('model')!r} model, not an AdaIN decoder "
            f"(encoder {config.get('encoder')!r}); pass a folder written by train_adain"
        )
    try:  # the taps a decoder was trained with are part of it: read them, not today's defaults
        decoder = AdaINDecoder(**config["decoder"])
        spec = EncoderSpec(
            str(config["tap"]),
            tuple(config["style_taps"]),
            int(config["decoder"]["in_channels"]),
            tuple(config.get("skips", ())),
            tuple(config["decoder"].get("skip_channels", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{directory / 'config.json'} has no usable decoder/tap entry ({exc!r}); "
            "the export is damaged or from another program"
        ) from exc
    _load_weights(decoder, _read_safetensors(directory / "model.safetensors"), "decoder.", directory)
    from artforge.backbones import create_backbone
    from artforge.train.precision import resolve_precision

    encoder = create_backbone(config["encoder"], device)
    precision = resolve_precision("auto", torch.device(device))
    model = AdaINModel(encoder, decoder.to(device).eval(), config["encoder"], config, precision, spec)
    model.frozen = True
    return model


_SHARED: dict[tuple, AdaINModel] = {}


def shared_adain(path: str | Path | None = None, device: str | torch.device = "cpu") -> AdaINModel:
    """:func:`load_adain`, kept for the life of the process: repeated fast stylisations (the studio, Gatys's
    start, a benchmark) load the decoder once.  Keyed by folder, device and the weights' modification time,
    so a retrained decoder is read again.  Callers must not modify the returned model."""
    directory = Path(path) if path is not None else ASSET
    weights = directory / "model.safetensors"
    if not weights.is_file():
        weights = directory / "model" / "model.safetensors"
    key = (str(directory.resolve()), str(device), weights.stat().st_mtime_ns if weights.is_file() else None)
    if key not in _SHARED:
        _SHARED.clear()  # one decoder at a time: a studio switching decoders does not accumulate them
        _SHARED[key] = load_adain(path, device)
    return _SHARED[key]


def _read_safetensors(file: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except Exception as exc:  # safetensors has its own error types for truncated or foreign files
        raise CheckpointError(
            f"{file} cannot be read ({str(exc).splitlines()[0]}); the file is damaged — retrain, or copy it again"
        ) from exc


def _load_weights(module: nn.Module, read: tuple[dict, dict], prefix: str, where: Path) -> None:
    tensors, _ = read
    state = {k[len(prefix) :]: v.float() for k, v in tensors.items() if k.startswith(prefix)}
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
    config = {
        "model": MODEL_NAME,
        "encoder": model.encoder_name,
        "tap": model.spec.tap,
        "style_taps": list(model.spec.style_taps),
        "skips": list(model.spec.skips),
        "decoder": model.decoder.config,
        "dtype": str(dtype).replace("torch.", ""),
        "paper": "Huang & Belongie, ICCV 2017",
        "training": training,
    }
    return save_export(Path(directory), {"decoder": half.to(dtype)}, config)


# --------------------------------------------------------------------------- training (a thin front end)


def train_adain(
    content: str | Path,
    style: str | Path,
    out: str | Path,
    steps: int,
    batch: int = 8,
    size: int = 256,
    crop: int | None = None,
    lr: float = 1e-4,
    style_weight: float = 10.0,
    identity_weight: float = 5.0,
    encoder: str = DEFAULT_ENCODER,
    width: float = 0.5,
    device: str = "auto",
    precision: str = "auto",
    seed: int = 0,
    n_builtin: int = 1000,
    save_every: int = 200,
    note: str = "",
    progress: bool = True,
    init_weights: str | Path | None = None,
    skips: bool = False,
) -> Path:
    """Train an AdaIN decoder on the shared trainer; returns the run folder ``out``, which
    :func:`load_adain` (and ``artforge style --fast --adain OUT``) reads.

    ``content`` / ``style``: a folder or a ``builtin:NAME`` set each, loaded at ``size`` (square,
    centre crop); each step takes random ``crop``-pixel crops (default ``size // 2``, as the paper's
    256 of 512) with random horizontal flips (:mod:`artforge.methods.adain`).  ``width`` scales the
    paper's decoder widths; ``skips`` adds the encoder's stride-4/2 stages as AdaIN'd decoder inputs;
    ``init_weights`` (an AdaIN export) starts the decoder from its weights (fine-tuning; layers it
    lacks, e.g. the skip inputs, start at zero).  The run folder is like every artforge run
    (config.yaml, checkpoints/, model/, samples/, stats.jsonl, tb/): Ctrl-C saves, a NaN stops with
    the last good state kept, and the same call again on ``out`` continues it (a larger ``steps`` trains further).

    Example::

        train_adain("my_photos/", "builtin:paintings", "runs/adain", steps=20000, device="auto")
    """
    from artforge.train import TrainConfig, train
    from artforge.train.checkpoint import list_states
    from artforge.train.trainer import config_for_resume

    out = Path(out)
    cfg = TrainConfig(
        model="adain",
        domain_a=_source(content),
        domain_b=_source(style),
        size=size,
        crop=crop,
        batch=batch,
        steps=steps,
        lr=lr,
        style_weight=style_weight,
        identity_weight=identity_weight,
        encoder=encoder,
        width=decoder_width(width),
        device=device,
        precision=precision,
        seed=seed,
        n_builtin=n_builtin,
        ckpt_every=save_every,
        sample_every=save_every,
        note=note,
        progress=progress,
        out=str(out),
        init_weights=None if init_weights is None else str(Path(init_weights).resolve()),
        skips=skips,
    )
    if list_states(out):  # continue the run there; a changed setting that fixes it is refused
        given = {k: v for k, v in dataclasses.asdict(cfg).items() if v is not None and k != "source"}
        return train(config_for_resume(out, given), resume=out)
    if (out / LEGACY_STATE_FILE).is_file():
        raise ArtforgeError(
            f"{out} holds an AdaIN run of an earlier artforge that this version cannot continue; "
            "start a new --out (the decoder in it still works with --fast --adain)"
        )
    return train(cfg)


def _source(source: str | Path) -> str:
    # Folders are recorded absolute, so the same call from another directory continues the same run.
    if isinstance(source, (list, tuple)):
        if len(source) != 1:
            raise ArtforgeError(
                "give one content source and one style source (a folder or builtin:NAME); "
                "put several folders' pictures in one folder (symbolic links work)"
            )
        source = source[0]
    text = str(source)
    return text if text.startswith("builtin:") else str(Path(text).expanduser().resolve())
