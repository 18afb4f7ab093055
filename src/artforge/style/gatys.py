"""Neural style transfer by optimisation (Gatys, Ecker & Bethge, CVPR 2016).

The output picture itself is optimised so that its deep features match the content picture's
(content loss) and the Gram matrices of its features match the style picture's (style loss),
plus a total-variation smoothness term.  The control set follows jcjohnson/neural-style:
content/style/TV weights, content and style layers, several style images with blend weights,
init content|random|PATH, L-BFGS or Adam, image size, style scale, original colours, seed,
intermediate PNGs.  Additions:

- ``alpha`` trades content for style.  ``alpha_mode="feature"`` interpolates the style
  *targets* between the content's and the style's Gram matrices (α=1 full style, α=0 the
  content is already optimal); ``alpha_mode="pixel"`` is the seed article's
  x_new = α_article·x_old + (1−α_article)·G(s), see :func:`pixel_blend`.
- ``mask``: the white region gets style 1 and the rest style 2 (or the blend of styles 2..n),
  or stays content when there is one style — Gram matrices of masked features (Gatys et al. 2017,
  "Controlling perceptual factors", spatial control).
- Backbones come from ``artforge.backbones`` under names registered here with their default
  layers; ``effnet-lite0-swag`` softens EfficientNet's peaky activations with a softmax before
  the Gram matrix and the content comparison (SWAG: Wang, Li & Vasconcelos, CVPR 2021).

Where artforge departs from the paper and neural-style: each layer's loss is divided by the
size of its target (||G−A||²/||A||², ||F−P||²/||P||²), so one set of weights works for every
backbone, whatever the scale of its activations; the default init is the fast (AdaIN) result of
the same styles, not noise or the photo: from the photo the optimisation stops near the photo, with
fine speckle and colours in neither picture; from the fast result it refines strokes that are already
in the style's colours, and cleans the decoder's speckle (measured: bench/RESULTS.md, issue 13).

Example::

    >>> result = stylize(content, [style], GatysConfig(iterations=200, image_size=256))  # doctest: +SKIP
    >>> result.image.shape                                                             # doctest: +SKIP
    torch.Size([1, 3, 192, 256])
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from artforge.backbones.builtin import VGG_STYLE_LAYERS
from artforge.errors import ArtforgeError

# --------------------------------------------------------------------------- backbone registry


@dataclass(frozen=True)
class StyleBackbone:
    """A feature network for style transfer: which backbone, which layers, whether to soften."""

    backbone: str  # name in artforge.backbones
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    soften: bool = False  # SWAG softmax smoothing of the activations
    content_weight: float = 1.0  # default loss weights for this network (measured, see RESULTS.md)
    style_weight: float = 20.0
    tv_weight: float = 10.0
    temperatures: tuple[tuple[str, float], ...] = ()  # softmax temperature T per layer ("*": the rest)
    description: str = ""

    def temperature(self, layer: str) -> float:
        table = dict(self.temperatures)
        return float(table.get(layer, table.get("*", 1.0)))


STYLE_BACKBONES: dict[str, StyleBackbone] = {}


def register_style_backbone(name: str, spec: StyleBackbone) -> StyleBackbone:
    """Make ``name`` usable as ``--backbone`` (e.g. a new network with its own default layers)."""
    STYLE_BACKBONES[name] = spec
    return spec


# Default weights per network were measured (bench/RESULTS.md, "Style transfer"): each puts the
# output at a similar point between "photo" and "painting" on the quality measures.
# Gatys et al.: style relu1_1..relu5_1, content relu4_2 (1/8 resolution).  VGG's smoothness weight
# is lower: its losses pull less per pixel, and TV 10 blurred the picture before it stylised it.
_VGG = dict(content_layers=("relu4_2",), style_layers=VGG_STYLE_LAYERS, style_weight=4.0, tv_weight=1.0)
register_style_backbone(
    "vgg19",
    StyleBackbone(
        "vgg19",
        **_VGG,  # weights not measured: no ImageNet VGG here
        description="VGG-19, ImageNet weights (you provide them)",
    ),
)
register_style_backbone(
    "vgg19-random", StyleBackbone("vgg19-random", **_VGG, description="VGG-19, fixed-seed random weights (offline)")
)
# EfficientNet-Lite0 taps at the same resolutions as VGG's: stem 1/2, stage2 1/4, stage3 1/8, stage4/5 1/16.
_EFFNET = dict(content_layers=("stage3",), style_layers=("stem", "stage2", "stage3", "stage4", "stage5"))
# SWAG's softmax needs activations of order 1: the paper's ResNet features are, EfficientNet's
# stage outputs (linear, after batch norm) have a standard deviation of 6-14 (measured on skimage
# photos and builtin:paintings, stable within ±25 %), where a softmax at T=1 is one-hot (entropy
# 0.001 of its maximum instead of 0.9).  T = that standard deviation restores the paper's regime.
_EFFNET_T = (
    ("stem", 2.0),
    ("stage1", 12.0),
    ("stage2", 12.0),
    ("stage3", 10.0),
    ("stage4", 8.0),
    ("stage5", 7.0),
    ("stage6", 6.0),
    ("*", 10.0),
)
register_style_backbone(
    "effnet-lite0", StyleBackbone("effnet-lite0", **_EFFNET, description="EfficientNet-Lite0, ImageNet (shipped)")
)
register_style_backbone(
    "effnet-lite0-swag",
    StyleBackbone(
        "effnet-lite0",
        **_EFFNET,
        soften=True,
        style_weight=80.0,
        temperatures=_EFFNET_T,
        description="EfficientNet-Lite0 + SWAG softening",
    ),
)
# Chosen by measurement (bench/RESULTS.md, "Style transfer"): on three photo/painting pairs at 256 px,
# measured on the other network, effnet-lite0 both kept more content and took more style than
# vgg19-random (whose random features paint speckle, not strokes) and effnet-lite0-swag, looked the
# most painterly, and runs ~10x faster.  With the ImageNet VGG-19 weights, try --backbone vgg19.
DEFAULT_BACKBONE = "effnet-lite0"


def get_style_backbone(name: str) -> StyleBackbone:
    if name not in STYLE_BACKBONES:
        raise ArtforgeError(f"unknown style backbone {name!r}; choose one of: {', '.join(sorted(STYLE_BACKBONES))}")
    return STYLE_BACKBONES[name]


@lru_cache(maxsize=4)
def load_backbone(name: str, device: str = "cpu"):
    """The backbone network, built once per process (loading weights is the slow part)."""
    from artforge.backbones import create_backbone

    return create_backbone(name, device=device)


# --------------------------------------------------------------------------- configuration


@dataclass
class GatysConfig:
    """Every setting of a style transfer run; the CLI and the studio only override these."""

    # fmt: off
    content_weight: float | None = None  # weight of the content loss (relative feature error); None = backbone's
    style_weight: float | None = None    # weight of the style loss (relative Gram error, mean over layers)
    tv_weight: float | None = None       # weight of the total-variation smoothness loss (mean squared step)
    content_layers: tuple[str, ...] | None = None   # None = the backbone's defaults
    style_layers: tuple[str, ...] | None = None     # None = the backbone's defaults
    style_blend_weights: tuple[float, ...] | None = None  # one per style image; None = equal
    init: str = "fast"                  # fast (the AdaIN result) | content | random | PATH to a picture
    optimizer: str = "lbfgs"            # lbfgs | adam
    learning_rate: float | None = None  # adam step (default 0.02); L-BFGS uses 1 as neural-style does
    lbfgs_history: int = 100            # L-BFGS memory; each pair costs 2 × 3·H·W floats
    iterations: int = 300               # optimiser iterations (L-BFGS: one function evaluation each)
    image_size: int = 512               # long side of the output in pixels
    style_scale: float = 1.0            # style image long side = style_scale × image_size
    original_colors: str = "none"       # none | luminance (keep content chroma) | histogram (recolour styles)
    alpha: float = 1.0                  # content (0) .. style (1) trade-off
    alpha_mode: str = "feature"         # feature (interpolate targets) | pixel (blend pictures, seed article)
    seed: int = 0                       # random init and anything random
    save_every: int = 0                 # call the callback (write a PNG) every N iterations; 0 = never
    backbone: str = DEFAULT_BACKBONE    # a name in STYLE_BACKBONES
    tile: bool | None = None            # tiled processing; None = when the image is larger than tile_size
    tile_size: int = 512                # tile side in pixels at the finest pyramid levels
    coarse_size: int = 256              # coarse-to-fine from this long side (halving), at any size; 0 = only for tiles
    fast_scale: float = 0.75            # fast path: the decoder paints at this fraction of the size (Rendering)
    fast_passes: int = 2                # fast path: AdaIN passes
    fast_colour: bool = True            # fast path: give the result the style's colour mean and covariance
    fast_clean: float = 0.015           # fast path: guided-filter ε against the decoder's mesh; 0 = off
    device: str = "cpu"
    progress: bool = True               # tqdm bar with the loss
    # fmt: on

    def validate(self) -> "GatysConfig":
        _check(self.optimizer in ("lbfgs", "adam"), f"--optimizer must be lbfgs or adam, got {self.optimizer!r}")
        _check(
            self.alpha_mode in ("feature", "pixel"), f"--alpha-mode must be feature or pixel, got {self.alpha_mode!r}"
        )
        _check(0.0 <= self.alpha <= 1.0, f"--alpha must be between 0 (content) and 1 (full style), got {self.alpha}")
        _check(self.iterations >= 0, f"--iterations must be at least 0, got {self.iterations}")
        _check(self.image_size >= 16, f"--image-size must be at least 16, got {self.image_size}")
        _check(self.style_scale > 0, f"--style-scale must be positive, got {self.style_scale}")
        _check(self.tile_size >= 64, f"--tile-size must be at least 64, got {self.tile_size}")
        _check(
            self.coarse_size == 0 or self.coarse_size >= 32,
            f"--coarse-size must be 0 (off) or at least 32 pixels, got {self.coarse_size}",
        )
        _check(
            self.original_colors in ("none", "luminance", "histogram"),
            f"--original-colors must be luminance or histogram, got {self.original_colors!r}",
        )
        _check(
            self.init in ("content", "random", "fast") or Path(self.init).is_file(),
            f"--init must be content, random, fast or a picture file; {self.init!r} is none of these",
        )
        for name in ("content_weight", "style_weight", "tv_weight"):
            _check(
                getattr(self, name) is None or getattr(self, name) >= 0,
                f"--{name.replace('_', '-')} must not be negative",
            )
        get_style_backbone(self.backbone)
        self.rendering().validate()
        return self

    def rendering(self):
        """The fast path's :class:`artforge.style.adain.Rendering` (also the Gatys ``fast`` start)."""
        from artforge.style.adain import Rendering

        return Rendering(self.fast_scale, self.fast_passes, self.fast_colour, self.fast_clean)

    def replace(self, **changes) -> "GatysConfig":
        return dataclasses.replace(self, **changes)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ArtforgeError(message)


# --------------------------------------------------------------------------- features, Gram matrices, SWAG


def soften(features: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """SWAG (Wang, Li & Vasconcelos 2021): softmax over all C·H·W activations of a map.

    Residual networks produce a few huge activations (low entropy); the softmax spreads them.
    artforge multiplies by C·H·W (softmax × N = exp(x/T) / mean(exp(x/T))) so the softened map
    does not shrink with the picture's size: style and output pictures of different sizes, and
    tiles, then compare on one scale.  For one size this is the paper's transform up to a
    constant, which the per-layer loss normalisation cancels.
    """
    n, c, h, w = features.shape
    flat = torch.softmax(features.reshape(n, -1) / temperature, dim=1) * (c * h * w)
    return flat.reshape(n, c, h, w)


def gram(features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Gram matrix F Fᵀ / (C · Σmask²) of N×C×H×W features, optionally of masked features.

    With ``mask`` (N×1×H×W in [0, 1], at the features' resolution) the features are multiplied
    by it first (Gatys et al. 2017, spatial control); without, it is neural-style's F Fᵀ / (C·H·W).
    """
    n, c, h, w = features.shape
    if mask is not None:
        features = features * mask
        norm = c * mask.square().sum(dim=(1, 2, 3)).clamp_min(1e-8).view(n, 1, 1)
    else:
        norm = c * h * w
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / norm


def layer_mask(mask: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """A picture-resolution mask (N×1×H×W) averaged down to a feature map's resolution."""
    return F.adaptive_avg_pool2d(mask, features.shape[-2:])


@dataclass
class Region:
    """Where a style applies (``mask`` at the picture's resolution, None = everywhere) and its targets."""

    mask: torch.Tensor | None
    grams: dict[str, torch.Tensor]


@dataclass
class Targets:
    """What the optimisation matches: content features per layer and one or more style regions."""

    content: dict[str, torch.Tensor]
    regions: list[Region]


class StyleObjective:
    """Content, style and TV losses of one backbone and layer set (Gatys et al. 2016, eqs. 1-7)."""

    def __init__(self, config: GatysConfig):
        spec = get_style_backbone(config.backbone)
        self.net = load_backbone(spec.backbone, str(config.device))
        self.content_layers = tuple(config.content_layers or spec.content_layers)
        self.style_layers = tuple(config.style_layers or spec.style_layers)
        self.spec, self.config = spec, config
        pick = lambda given, default: default if given is None else given  # noqa: E731
        self.weights = (
            pick(config.content_weight, spec.content_weight),
            pick(config.style_weight, spec.style_weight),
            pick(config.tv_weight, spec.tv_weight),
        )
        self.layers = tuple(dict.fromkeys(self.content_layers + self.style_layers))
        self._check_layers()

    def _check_layers(self) -> None:
        """Bad layer names fail here, in one line, before any long computation."""
        if not self.content_layers and not self.style_layers:
            raise ArtforgeError("give at least one content or style layer")
        try:
            self.net.features(torch.zeros(1, 3, 64, 64, device=self.net.mean.device), self.layers)
        except KeyError as exc:
            raise ArtforgeError(f"bad layer name for backbone {self.config.backbone}: {exc.args[0]}") from None

    def features(self, images: torch.Tensor, grad: bool = False) -> dict[str, torch.Tensor]:
        """Activations at every layer used, softened when the backbone asks for it."""
        feats = self.net.features(images, self.layers, grad=grad)
        if self.spec.soften:
            feats = {k: soften(v, self.spec.temperature(k)) for k, v in feats.items()}
        return feats

    def grams(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Style-layer Gram matrices of a picture (no gradient; tiled for pictures above tile_size)."""
        from artforge.style.tiling import tiled_grams

        if max(image.shape[-2:]) > self.config.tile_size:
            return tiled_grams(self, image, mask, self.config.tile_size)
        feats = self.features(image)
        return {k: gram(feats[k], None if mask is None else layer_mask(mask, feats[k])) for k in self.style_layers}

    def loss(self, x: torch.Tensor, targets: Targets) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted total loss and its parts, for the picture being optimised."""
        feats = self.features(x, grad=True)
        c = _mean([relative_error(feats[k], targets.content[k]) for k in self.content_layers])
        s = _mean(
            [
                relative_error(gram(feats[k], _region_mask(r, feats[k])), r.grams[k])
                for r in targets.regions
                for k in self.style_layers
            ]
        )
        tv = tv_loss(x)
        wc, ws, wtv = self.weights
        total = wc * c + ws * s + wtv * tv
        parts = {"loss": total, "content": c, "style": s, "tv": tv}
        return total, {k: float(v.detach()) for k, v in parts.items()}


def _region_mask(region: Region, features: torch.Tensor) -> torch.Tensor | None:
    return None if region.mask is None else layer_mask(region.mask, features)


def relative_error(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """||value − target||² / ||target||²: scale-free, so weights carry over between backbones."""
    return (value - target).square().sum() / target.square().sum().clamp_min(1e-12)


def _mean(values: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(values).mean() if values else torch.zeros(())


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels (neural-style's TV term, squared form)."""
    return (x[..., 1:, :] - x[..., :-1, :]).square().mean() + (x[..., :, 1:] - x[..., :, :-1]).square().mean()


# --------------------------------------------------------------------------- targets


def blend_weights(weights: Sequence[float] | None, n: int) -> list[float]:
    """Normalised style blend weights (neural-style's -style_blend_weights), one per style image."""
    if weights is None:
        return [1.0 / n] * n
    if len(weights) != n or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ArtforgeError(
            f"--style-blend-weights needs {n} non-negative numbers (one per style image) "
            f"that do not all equal 0, got {list(weights)}"
        )
    total = float(sum(weights))
    return [float(w) / total for w in weights]


def region_masks(mask: torch.Tensor | None, n_styles: int) -> list[torch.Tensor | None]:
    """The mask picture (white = 1) -> one mask per style region: white, then the rest (if 2+ styles)."""
    if mask is None:
        return [None]
    return [mask, 1 - mask] if n_styles > 1 else [mask]


def style_regions(
    objective: StyleObjective,
    style_grams: list[dict[str, torch.Tensor]],
    config: GatysConfig,
    mask: torch.Tensor | None = None,
    content: torch.Tensor | None = None,
) -> list[Region]:
    """The blended, α-interpolated Gram targets of each mask region.

    Without a mask: one region, the blend of every style.  With a mask: style 1 in the white
    region and the blend of styles 2..n in the rest (nothing there with one style, so it stays
    content).  Feature-mode α: target = α·G(style) + (1−α)·G(content in that region).
    """
    weights = blend_weights(config.style_blend_weights, len(style_grams))
    alpha = config.alpha if config.alpha_mode == "feature" else 1.0
    regions = []
    for i, region in enumerate(region_masks(mask, len(style_grams))):
        members = [0] if mask is not None and i == 0 else list(range(1 if mask is not None else 0, len(style_grams)))
        total = sum(weights[m] for m in members)
        if total <= 0:  # this region's styles all have weight 0: it keeps the content
            continue
        target = {k: sum(weights[m] / total * style_grams[m][k] for m in members) for k in objective.style_layers}
        if alpha < 1:
            own = objective.grams(content, region)
            target = {k: alpha * target[k] + (1 - alpha) * own[k] for k in target}
        regions.append(Region(region, target))
    return regions


def make_targets(
    objective: StyleObjective,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: GatysConfig,
    mask: torch.Tensor | None = None,
) -> Targets:
    """Content features of ``content`` and the style regions of ``styles`` (see :func:`style_regions`)."""
    with torch.no_grad():
        feats = objective.features(content)
        grams = [objective.grams(s) for s in styles]
        return Targets(
            {k: feats[k] for k in objective.content_layers}, style_regions(objective, grams, config, mask, content)
        )


# --------------------------------------------------------------------------- optimisation


@dataclass
class StyleResult:
    """The stylised picture (1×3×H×W in [-1, 1]) and how the optimisation went."""

    image: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: str = ""


def initial_image(
    content: torch.Tensor, config: GatysConfig, styles: Sequence[torch.Tensor] = (), mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Where the optimisation starts (neural-style's -init): ``fast`` (the default) is the content stylised by
    the shipped AdaIN decoder, with the same styles, weights, α, mask and colour choice; ``content`` the photo;
    ``random`` seeded noise; a path, that picture resized to the content.

    Starting from the fast result puts the optimisation among strokes in the style's colours, which it then
    refines and cleans; from the photo, it stops near the photo (bench/RESULTS.md, issue 13)."""
    alpha = config.alpha if config.alpha_mode == "feature" else 1.0
    if config.init == "content" or (config.init == "fast" and alpha == 0):
        return content.clone()
    if config.init == "fast":
        from artforge.style.adain import shared_adain, stylize_fast

        return stylize_fast(
            shared_adain(device=content.device),
            content,
            list(styles),
            weights=None if mask is not None else config.style_blend_weights,
            alpha=alpha,
            preserve_color=config.original_colors == "histogram",
            mask=None if mask is None else mask[0, 0],
            rendering=config.rendering(),
        )
    if config.init == "random":
        gen = torch.Generator().manual_seed(config.seed)
        return (torch.randn(content.shape, generator=gen) * 0.25).to(content.device)
    from artforge.style.io import read_image

    return read_image(config.init, size=tuple(content.shape[-2:])).to(content.device)


MAX_RESTARTS = 20


def optimize(
    x0: torch.Tensor,
    objective: StyleObjective,
    targets: Targets,
    config: GatysConfig,
    callback: Callable[[int, torch.Tensor], None] | None = None,
    desc: str = "style",
) -> StyleResult:
    """Run the optimiser on the pixels of ``x0``; keep the best picture seen.

    A diverging step (NaN/Inf, or a loss three times the best) restarts the optimiser from the
    best picture so far; after MAX_RESTARTS the run stops and returns that picture.
    """
    from tqdm import tqdm

    x = x0.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)  # L-BFGS views .grad
    opt = _optimizer(x, config)
    best, best_loss, history, stop, restarts = x0.detach().clone(), math.inf, [], "", 0
    bar = tqdm(total=config.iterations, desc=desc, disable=not config.progress, leave=False, dynamic_ncols=True)
    for step in range(1, config.iterations + 1):
        parts, before = {}, x.detach().clone()  # the closure's loss belongs to x *before* the step

        def closure():
            opt.zero_grad(set_to_none=True)
            loss, found = objective.loss(x, targets)
            loss.backward()
            parts.update(found)
            return loss

        opt.step(closure)
        if not math.isfinite(parts["loss"]) or not torch.isfinite(x).all() or parts["loss"] > 3 * best_loss:
            # L-BFGS without a line search can overshoot (seen with strong style weights): go back to
            # the best picture and start a fresh history rather than lose the run.
            restarts += 1
            if restarts > MAX_RESTARTS:
                stop = f"the optimisation kept diverging (iteration {step}); kept the best picture so far"
                break
            with torch.no_grad():
                x.copy_(best)
            opt = _optimizer(x, config)
            continue
        if parts["loss"] < best_loss:
            best, best_loss = before, parts["loss"]
        history.append(parts)
        bar.update(1)
        bar.set_postfix(loss=f"{parts['loss']:.4g}", style=f"{parts['style']:.3g}", content=f"{parts['content']:.3g}")
        if callback and config.save_every and step % config.save_every == 0:
            callback(step, x.detach().clamp(-1, 1))
    bar.close()
    if not stop and config.iterations:
        with torch.no_grad():  # the last step's result was never scored: keep it if it is the best
            final = float(objective.loss(x.detach(), targets)[0]) if torch.isfinite(x).all() else math.inf
        if final <= best_loss:
            best = x.detach().clone()
    return StyleResult(best.clamp(-1, 1), history, stop)


def _optimizer(x: torch.Tensor, config: GatysConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam([x], lr=config.learning_rate or 0.02)
    # One L-BFGS iteration per step() so the bar, the callback and the NaN check run every
    # iteration; tolerances off so it never stops early, as neural-style runs it.
    return torch.optim.LBFGS(
        [x],
        lr=config.learning_rate or 1.0,
        max_iter=1,
        history_size=config.lbfgs_history,
        tolerance_grad=-1,
        tolerance_change=-1,
    )


# --------------------------------------------------------------------------- the whole transfer


def pixel_blend(x_old: torch.Tensor, stylized: torch.Tensor, article_alpha: float) -> torch.Tensor:
    """The seed article's x_new = α·x_old + (1−α)·G(s), literally.

    ``x_old`` is the original (content) picture, ``G(s)`` is the fully stylised picture the
    optimisation produced from the style, and ``article_alpha`` is the article's α (1 keeps the
    original).  ``stylize`` calls it with article_alpha = 1 − alpha so that ``alpha`` means the
    same in both modes (1 = full style).
    """
    return article_alpha * x_old + (1 - article_alpha) * stylized


def prepare_styles(content: torch.Tensor, styles: Sequence[torch.Tensor], config: GatysConfig) -> list[torch.Tensor]:
    """Style pictures at style_scale × the content's long side, recoloured for ``histogram``."""
    from artforge.style.color import match_color
    from artforge.style.io import fit_long_side, resize

    long_side = max(16, round(config.style_scale * max(content.shape[-2:])))
    out = [resize(s.to(content.device).float(), fit_long_side(s.shape[-2:], long_side)) for s in styles]
    if config.original_colors == "histogram":  # Gatys et al. 2017 §5.1: the style in the photo's colours
        out = [match_color(s, content) for s in out]
    return out


def finish(image: torch.Tensor, content: torch.Tensor, config: GatysConfig) -> torch.Tensor:
    """Post-processing shared by every path: luminance-only colours, then the pixel-mode α blend."""
    from artforge.style.color import keep_luminance

    if config.original_colors == "luminance":
        image = keep_luminance(image, content)
    if config.alpha_mode == "pixel":
        image = pixel_blend(content, image, 1 - config.alpha)
    return image.clamp(-1, 1)


def keep_unstyled_region(
    image: torch.Tensor, content: torch.Tensor, mask: torch.Tensor | None, n_styles: int
) -> torch.Tensor:
    """One style and a mask: the black region stays the content picture, exactly.

    Masked Gram matrices only steer the statistics; deep layers see across the mask's edge,
    so without this the unstyled side still drifts (about a quarter as much as the styled
    side, measured at 96 px).  The mask is feathered over ~1.5 % of the picture so the
    border shows no seam.
    """
    if mask is None or n_styles != 1:
        return image
    sigma = max(1.0, 0.015 * max(image.shape[-2:]))
    radius = int(3 * sigma)
    t = torch.arange(-radius, radius + 1, dtype=torch.float32, device=image.device)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = (g / g.sum()).view(1, 1, 1, -1)
    soft = F.interpolate(mask.to(image), size=image.shape[-2:], mode="bilinear", align_corners=False)
    soft = F.pad(soft, (radius, radius, radius, radius), mode="replicate")
    soft = F.conv2d(F.conv2d(soft, g), g.transpose(-1, -2)).clamp(0, 1)
    return soft * image + (1 - soft) * content.to(image)


def stylize(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: GatysConfig | None = None,
    mask: torch.Tensor | None = None,
    callback: Callable[[int, torch.Tensor], None] | None = None,
) -> StyleResult:
    """Gatys style transfer of ``content`` (1×3×H×W, [-1, 1], already at the working size).

    ``styles``: 1×3×h×w pictures (any size; rescaled by ``style_scale``).  ``mask``: 1×1×H×W in
    [0, 1] (white = style 1).  ``callback(step, image)`` runs every ``save_every`` iterations.
    Pictures larger than ``tile_size`` (or any, with ``tile=True``) go through
    :func:`artforge.style.tiling.stylize_large` (coarse-to-fine pyramid + tiles); ``tile=False``
    optimises the whole picture at once, as the paper does.
    """
    config = (config or GatysConfig()).validate()
    if not styles:
        raise ArtforgeError("give at least one style image")
    content = content.to(config.device).float()
    if mask is not None:
        mask = mask.to(content.device).float()
    if (
        config.tile
        or (config.tile is None and max(content.shape[-2:]) > config.tile_size)
        or 0 < config.coarse_size < max(content.shape[-2:])
    ):
        from artforge.style.tiling import stylize_large

        result = stylize_large(content, styles, config, mask, callback)
        result.image = keep_unstyled_region(result.image, content, mask, len(styles))
        return result
    objective = StyleObjective(config)
    styles = prepare_styles(content, styles, config)
    targets = make_targets(objective, content, styles, config, mask)
    post = (lambda step, img: callback(step, finish(img, content, config))) if callback else None
    result = optimize(initial_image(content, config, styles, mask), objective, targets, config, post)
    result.image = keep_unstyled_region(finish(result.image, content, config), content, mask, len(styles))
    return result
