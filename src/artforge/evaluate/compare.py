"""Measure generated pictures against real ones: FID, KID, precision/recall and a memorisation check.

Every figure is labelled with the feature space it was measured in (backbone, layer, dimension,
input size): figures from other feature spaces, or from other tools, are not comparable.

FID needs care with small sets: the covariance of N pictures has rank at most N − 1, so with no
more pictures than feature dimensions (EfficientNet-Lite0's pooled vector is 1280-d) it is
rank-deficient; and FID is biased upward, more so the smaller N, by an amount that depends on the
model (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them").
Such results carry a warning, and :func:`selection_metric` tells a caller choosing a best model
to go by KID, whose estimate is unbiased at any N (Bińkowski et al. 2018).

Example::

    result = measure_against_real(samples, training_pictures, metrics=("fid", "kid"))
    print("\\n".join(format_result(result)))
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from artforge.errors import ArtforgeError
from artforge.evaluate.features import DEFAULT_BACKBONE, DEFAULT_LAYER, DEFAULT_SIZE, extract_features, nearest
from artforge.evaluate.metrics import fid, kid, precision_recall
from artforge.pictures import make_grid, save_png, to_unit

METRIC_NAMES = ("fid", "kid", "pr", "memorization")


def selection_metric(n: int, dim: int) -> Literal["fid", "kid"]:
    """The metric to pick a best model by when each side has ``n`` pictures in a ``dim``-d feature space.

    "kid" when ``n <= dim`` (FID's covariance, of rank at most n − 1, is rank-deficient there, and
    its upward bias, which depends on N and on the model, can decide the choice), else "fid".

    Example::

        >>> selection_metric(500, 1280), selection_metric(5000, 1280)
        ('kid', 'fid')
    """
    return "kid" if n <= dim else "fid"


def feature_space(backbone: str, layer: str, dim: int, size: int) -> dict:
    """The label that goes with every figure: ``{"backbone", "layer", "dim", "size"}``."""
    return {"backbone": backbone, "layer": layer, "dim": int(dim), "size": int(size)}


def describe_features(space: dict) -> str:
    """``effnet-lite0 pool, 1280-d, 224 px``."""
    return f"{space['backbone']} {space['layer']}, {space['dim']}-d, {space['size']} px"


def small_sample_warnings(n_generated: int, n_real: int, dim: int) -> list[str]:
    """Why an FID from these set sizes must be read with care (none when both sets have more than ``dim`` pictures)."""
    n = min(n_generated, n_real)
    if selection_metric(n, dim) == "fid":
        return []
    return [
        f"FID from N = {n} pictures (not more than the {dim} feature dimensions): the covariance is "
        "rank-deficient and FID is biased upward at this N; compare FIDs only at equal N, and prefer KID to "
        "compare models"
    ]


def measure_against_real(
    generated: torch.Tensor,
    real: torch.Tensor,
    metrics=METRIC_NAMES,
    backbone: str = DEFAULT_BACKBONE,
    kid_subset: int = 1000,
    out_dir: Path | None = None,
) -> dict:
    """Every asked-for metric of ``generated`` against ``real`` (N×3×H×W, uint8 or [-1, 1], any device).

    Returns the figures (``fid``, ``kid``/``kid_std``, ``precision``/``recall``, ``memorization``),
    the set sizes, ``features`` (the feature space, see :func:`feature_space`) and ``warnings``
    (a list, empty when nothing needs saying).  The backbone runs where ``generated`` is; the real
    set's features are cached by content (the generated set's are not: samples change every time).
    """
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise ArtforgeError(f"unknown metric(s) {unknown}; choose from {', '.join(METRIC_NAMES)}")
    device = generated.device
    fg = extract_features(generated, backbone, DEFAULT_LAYER, DEFAULT_SIZE, cache=False, device=device)
    fr = extract_features(real, backbone, DEFAULT_LAYER, DEFAULT_SIZE, device=device)
    dim = fg.size(1)
    out: dict = {
        "n_generated": generated.size(0),
        "n_real": real.size(0),
        "backbone": backbone,
        "features": feature_space(backbone, DEFAULT_LAYER, dim, DEFAULT_SIZE),
        "warnings": [],
    }
    if "fid" in metrics:
        out["fid"] = fid(fr, fg)
        out["warnings"] += small_sample_warnings(generated.size(0), real.size(0), dim)
    if "kid" in metrics:
        out["kid"], out["kid_std"] = kid(fr, fg, subset_size=kid_subset)
    if "pr" in metrics:
        out["precision"], out["recall"] = precision_recall(fr, fg)
    if "memorization" in metrics:
        png = Path(out_dir) / "memorization-pairs.png" if out_dir else None
        out["memorization"] = memorization(generated, real, fg, fr, pairs_png=png)
    return out


def format_result(result: dict) -> list[str]:
    """The lines ``artforge evaluate`` prints: a header naming the feature space, then one figure per line."""
    rows = [(k, result[k]) for k in ("fid", "kid", "kid_std", "precision", "recall") if k in result]
    if "memorization" in result:
        rows.append(("memorization (flagged)", result["memorization"]["fraction_flagged"]))
    lines = [
        f"{result['n_generated']} generated vs {result['n_real']} real, "
        f"features: {describe_features(result['features'])}"
    ]
    lines += [f"  {name:24s} {value:.6g}" for name, value in rows]
    if "memorization" in result and result["memorization"].get("pairs_png"):
        lines.append(f"  closest pairs: {result['memorization']['pairs_png']}")
    return lines


def _pixel_vectors(images: torch.Tensor, size: int, batch_size: int = 256) -> torch.Tensor:
    """N × (C·size²) area-downsampled pictures in [-1, 1] on the CPU, converted a batch at a time."""
    return torch.cat(
        [
            F.interpolate(to_unit(chunk), size=(size, size), mode="area").flatten(1).cpu()
            for chunk in images.split(batch_size)
        ]
    )


def memorization(
    generated: torch.Tensor,
    training: torch.Tensor,
    feats_gen: torch.Tensor,
    feats_train: torch.Tensor,
    threshold: float = 0.3,
    pixel_size: int = 32,
    pairs_png: Path | None = None,
) -> dict:
    """Flag generated pictures that sit much closer to a training picture than training pictures sit to each other.

    For each generated picture the distance to its nearest training picture is divided by the
    median nearest-neighbour distance *within* the training set (so the scale of the space drops
    out); a ratio below ``threshold`` in feature space or in pixel space (``pixel_size`` px) flags
    it as a likely copy.  Returns the flagged fraction, per-picture nearest indices and ratios.
    """
    result = {}
    flags = torch.zeros(generated.size(0), dtype=torch.bool)
    spaces = (
        ("feature", feats_gen.cpu(), feats_train.cpu()),
        ("pixel", _pixel_vectors(generated, pixel_size), _pixel_vectors(training, pixel_size)),
    )
    for space, g, t in spaces:
        scale = nearest(t, t, exclude_self=True)[0].median().clamp_min(1e-12)
        dist, idx = nearest(g, t)
        ratio = dist / scale
        flags |= ratio < threshold
        result[f"{space}_nearest"] = idx.tolist()
        result[f"{space}_ratio"] = [round(float(r), 4) for r in ratio]
    result["fraction_flagged"] = float(flags.double().mean())
    result["flagged"] = flags.nonzero().flatten().tolist()
    result["threshold"] = threshold
    if pairs_png is not None:
        _save_closest_pairs(generated, training, result, pairs_png)
        result["pairs_png"] = str(pairs_png)
    return result


def _save_closest_pairs(generated: torch.Tensor, training: torch.Tensor, result: dict, path: Path, n: int = 8) -> None:
    order = torch.tensor(result["feature_ratio"]).argsort()[:n].tolist()
    # converted one picture at a time: the two sets may differ in dtype (uint8 / float) and device
    pairs = [
        torch.stack([to_unit(generated[i].cpu()), to_unit(training[result["feature_nearest"][i]].cpu())]) for i in order
    ]
    save_png(
        make_grid(torch.cat(pairs), ncol=2),
        path,
        {"what": "closest generated (left) / training (right) pairs in feature space"},
    )
