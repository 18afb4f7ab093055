"""Evaluate pictures — a folder or a trained model — against a real set.

Features come from a shared backbone (default ``effnet-lite0``, its pooled 1280-d
vector at 224 px); the real set's features are cached on disk, keyed by the pictures'
content, the backbone and the layer.  The memorisation check names, for every
generated picture, its nearest training picture in feature space and in pixel space.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from artforge.backbones import create_backbone
from artforge.errors import ArtforgeError
from artforge.evaluate.metrics import fid, kid, precision_recall
from artforge.fileio import atomic_save_npy
from artforge.pictures import make_grid, save_png

METRIC_NAMES = ("fid", "kid", "pr", "memorization")


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or float [-1, 1] -> float [-1, 1]."""
    return images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()


def _cache_dir() -> Path:
    return Path(os.environ.get("ARTFORGE_CACHE", Path.home() / ".cache" / "artforge")) / "features"


def extract_features(images: torch.Tensor, backbone: str = "effnet-lite0", layer: str = "pool", size: int = 224,
                     cache: bool = True, batch_size: int = 32) -> torch.Tensor:
    """N×D features of ``images`` (resized to ``size`` with antialiasing), cached by content."""
    images = to_unit(images)
    key = hashlib.sha256(images.numpy().tobytes() + f"{backbone}|{layer}|{size}".encode()).hexdigest()[:32]
    path = _cache_dir() / f"{key}.npy"
    if cache and path.is_file():
        try:
            return torch.from_numpy(np.load(path, allow_pickle=False))
        except (OSError, ValueError):
            pass  # damaged cache entry: recompute
    net = create_backbone(backbone)
    out = torch.cat([taps[layer].flatten(1) for taps in features_at_size(net, images, size, (layer,), batch_size)])
    if cache:
        atomic_save_npy(path, out.numpy())
    return out


def features_at_size(net, images: torch.Tensor, size: int, layers: tuple[str, ...], batch_size: int = 32):
    """Yield ``net``'s taps for each batch of ``images`` resized (antialiased) to ``size`` × ``size``."""
    for chunk in images.split(batch_size):  # converted per batch: a float copy of all would be 4× the uint8 set
        x = F.interpolate(to_unit(chunk), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        yield net.features(x, layers=layers)


def nearest(query: torch.Tensor, ref: torch.Tensor, exclude_self: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    d = torch.cdist(query.double(), ref.double())
    if exclude_self:
        d.fill_diagonal_(float("inf"))
    return d.min(dim=1)


def memorization(generated: torch.Tensor, training: torch.Tensor, feats_gen: torch.Tensor, feats_train: torch.Tensor,
                 threshold: float = 0.3, pixel_size: int = 32, pairs_png: Path | None = None) -> dict:
    """Flag generated pictures that sit much closer to a training picture than training pictures sit to each other.

    For each generated picture the distance to its nearest training picture is divided by the
    median nearest-neighbour distance *within* the training set (so the scale of the space drops
    out); a ratio below ``threshold`` in feature space or in pixel space (``pixel_size`` px) flags
    it as a likely copy.  Returns the flagged fraction, per-picture nearest indices and ratios.
    """
    gen, train = to_unit(generated), to_unit(training)
    px = lambda x: F.interpolate(x, size=(pixel_size, pixel_size), mode="area").flatten(1)  # noqa: E731
    result = {}
    flags = torch.zeros(gen.size(0), dtype=torch.bool)
    for space, g, t in (("feature", feats_gen, feats_train), ("pixel", px(gen), px(train))):
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
        order = torch.tensor(result["feature_ratio"]).argsort()[:8]
        pairs = torch.stack([torch.stack([gen[i], train[result["feature_nearest"][i]]]) for i in order.tolist()])
        save_png(make_grid(pairs.flatten(0, 1), ncol=2), pairs_png,
                 {"what": "closest generated (left) / training (right) pairs in feature space"})
        result["pairs_png"] = str(pairs_png)
    return result


def evaluate(generated: torch.Tensor, real: torch.Tensor, metrics=METRIC_NAMES, backbone: str = "effnet-lite0",
             kid_subset: int = 1000, out_dir: Path | None = None) -> dict:
    """Every asked-for metric of ``generated`` against ``real`` (N×3×H×W, uint8 or [-1, 1])."""
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise ArtforgeError(f"unknown metric(s) {unknown}; choose from {', '.join(METRIC_NAMES)}")
    fg, fr = extract_features(generated, backbone, cache=False), extract_features(real, backbone)
    out: dict = {"n_generated": generated.size(0), "n_real": real.size(0), "backbone": backbone}
    if "fid" in metrics:
        out["fid"] = fid(fr, fg)
    if "kid" in metrics:
        out["kid"], out["kid_std"] = kid(fr, fg, subset_size=kid_subset)
    if "pr" in metrics:
        out["precision"], out["recall"] = precision_recall(fr, fg)
    if "memorization" in metrics:
        png = Path(out_dir) / "memorization-pairs.png" if out_dir else None
        out["memorization"] = memorization(generated, real, fg, fr, pairs_png=png)
    return out
