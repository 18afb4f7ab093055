"""How good is a stylised picture?  Content kept and style taken, measured by another network.

An optimisation that matches a backbone's Gram matrices always "succeeds" on that backbone, so
the figures here come from a *different* backbone (``measuring_backbone``): a picture that only
fooled the network it was optimised on does not score.

- **content distance**: relative feature error to the content picture,
  mean over the measuring backbone's content layers of ||F(x) − F(c)||² / ||F(c)||²;
- **style distance (Gram)**: mean over its style layers of ||G(x) − G(s)||² / ||G(s)||²;
- **style distance (mean/std)**: the same with per-channel means and standard deviations (the
  statistics AdaIN matches), ||μx − μs||² + ||σx − σs||² over ||μs||² + ||σs||².

:func:`score_with_baselines` also scores the two trivial answers — the content picture unchanged
and the style picture itself, resized — so the numbers have a scale: ``style_progress`` is 0 for
the unchanged photo and 1 for the painting itself, ``content_kept`` is 1 for the unchanged photo
and 0 for the painting.

Example::

    >>> table = score_with_baselines(result, content, [style], optimised_on="vgg19-random")  # doctest: +SKIP
    >>> print(format_scores(table))                                                       # doctest: +SKIP
"""

from __future__ import annotations

from typing import Sequence

import torch

from artforge.style.gatys import blend_weights, get_style_backbone, gram, load_backbone, relative_error
from artforge.style.io import fit_long_side, resize

# Measure on a network of another family than the one optimised (VGG <-> EfficientNet).
MEASURED_ON = {
    "vgg19": "effnet-lite0",
    "vgg19-random": "effnet-lite0",
    "effnet-lite0": "vgg19-random",
    "effnet-lite0-swag": "vgg19-random",
}
MEASURE_SIZE = 256  # long side the pictures are compared at: fast, and brush strokes are still visible


def measuring_backbone(optimised_on: str) -> str:
    """The style backbone the figures are computed with, for a picture optimised on ``optimised_on``."""
    return MEASURED_ON.get(optimised_on, "effnet-lite0" if "vgg" in optimised_on else "vgg19-random")


class Judge:
    """Features of one measuring backbone at its default style-transfer layers (never softened)."""

    def __init__(self, name: str, device: str = "cpu"):
        spec = get_style_backbone(name)
        self.name, self.net = name, load_backbone(spec.backbone, device)
        self.content_layers, self.style_layers = spec.content_layers, spec.style_layers

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return self.net.features(
                image.to(self.net.mean.device).float(), tuple(dict.fromkeys(self.content_layers + self.style_layers))
            )

    def style_stats(self, image: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """(Gram, mean, std) per style layer."""
        feats = self.features(image)
        return {k: (gram(f), f.mean(dim=(2, 3)), f.std(dim=(2, 3))) for k, f in feats.items() if k in self.style_layers}


def content_distance(judge: Judge, image: torch.Tensor, content: torch.Tensor) -> float:
    """Mean relative feature error to the content picture (same size as ``image``)."""
    fx, fc = judge.features(image), judge.features(content)
    return sum(float(relative_error(fx[k], fc[k])) for k in judge.content_layers) / len(judge.content_layers)


def style_distances(judge: Judge, image: torch.Tensor, target: dict) -> tuple[float, float]:
    """(Gram distance, mean/std distance) of ``image`` to the target statistics of :meth:`Judge.style_stats`."""
    stats = judge.style_stats(image)
    grams = [float(relative_error(stats[k][0], target[k][0])) for k in judge.style_layers]
    moments = [
        float(
            ((stats[k][1] - target[k][1]).square().sum() + (stats[k][2] - target[k][2]).square().sum())
            / (target[k][1].square().sum() + target[k][2].square().sum()).clamp_min(1e-12)
        )
        for k in judge.style_layers
    ]
    return sum(grams) / len(grams), sum(moments) / len(moments)


def blended_style_stats(judge: Judge, styles: Sequence[torch.Tensor], weights, long_side: int) -> dict:
    """The style statistics the picture aimed at: the blend of every style's (Gram, mean, std)."""
    w = blend_weights(weights, len(styles))
    per = [judge.style_stats(resize(s.float(), fit_long_side(s.shape[-2:], long_side))) for s in styles]
    return {k: tuple(sum(wi * p[k][j] for wi, p in zip(w, per)) for j in range(3)) for k in judge.style_layers}


def cover_resize(image: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Resize to cover (H, W) and centre-crop: the style picture in the content's frame."""
    h, w = hw
    ih, iw = image.shape[-2:]
    scale = max(h / ih, w / iw)
    big = resize(image.float(), (max(h, round(ih * scale)), max(w, round(iw * scale))))
    top, left = (big.shape[-2] - h) // 2, (big.shape[-1] - w) // 2
    return big[..., top : top + h, left : left + w]


def score(judge: Judge, image: torch.Tensor, content: torch.Tensor, target: dict) -> dict[str, float]:
    gram_d, moment_d = style_distances(judge, image, target)
    return {"content": content_distance(judge, image, content), "style_gram": gram_d, "style_meanstd": moment_d}


def score_with_baselines(
    output: torch.Tensor,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    optimised_on: str,
    weights: Sequence[float] | None = None,
    size: int = MEASURE_SIZE,
    device: str = "cpu",
) -> dict:
    """Scores of ``output``, of the unchanged content and of the (first) style picture resized.

    Returns ``{"measured_on", "output": {...}, "content_unchanged": {...}, "style_resized": {...},
    "style_progress", "content_kept"}``; each ``{...}`` holds ``content``, ``style_gram`` and
    ``style_meanstd`` distances (lower is closer).  All pictures are compared at ``size`` px.
    """
    judge = Judge(measuring_backbone(optimised_on), device)
    hw = fit_long_side(content.shape[-2:], size)
    content_s, output_s = resize(content.float(), hw), resize(output.float(), hw)
    target = blended_style_stats(judge, styles, weights, size)
    first = max(range(len(styles)), key=lambda i: blend_weights(weights, len(styles))[i])
    table = {
        "measured_on": judge.name,
        "output": score(judge, output_s, content_s, target),
        "content_unchanged": score(judge, content_s, content_s, target),
        "style_resized": score(judge, cover_resize(styles[first], hw), content_s, target),
    }
    base, paint, out = table["content_unchanged"], table["style_resized"], table["output"]
    table["style_progress"] = (base["style_gram"] - out["style_gram"]) / max(
        base["style_gram"] - paint["style_gram"], 1e-12
    )
    table["content_kept"] = 1 - out["content"] / max(paint["content"], 1e-12)
    return table


def format_scores(table: dict) -> str:
    """A small text table for the terminal (``artforge style --report``)."""
    rows = [
        f"quality, measured on {table['measured_on']} (lower distance = closer):",
        f"  {'':22s} {'content dist':>12s} {'style Gram':>11s} {'style mean/std':>14s}",
    ]
    for key, label in (
        ("output", "stylised output"),
        ("content_unchanged", "content unchanged"),
        ("style_resized", "style image resized"),
    ):
        r = table[key]
        rows.append(f"  {label:22s} {r['content']:12.4g} {r['style_gram']:11.4g} {r['style_meanstd']:14.4g}")
    rows.append(
        f"  style progress {table['style_progress']:.2f} (0 = photo, 1 = painting); "
        f"content kept {table['content_kept']:.2f} (1 = photo, 0 = painting)"
    )
    return "\n".join(rows)
