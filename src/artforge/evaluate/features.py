"""Feature vectors of pictures from a shared backbone, cached by content; nearest neighbours among them.

FID, KID, precision/recall, the memorisation check and the critic all see pictures through
the same backbone (default ``effnet-lite0``: its pooled 1280-d vector at 224 px).  Pictures
are converted, resized and sent to the backbone one batch at a time, so a set of any size
never exists as one float copy.  With ``cache=True`` the features are stored on disk
(``$ARTFORGE_CACHE/features``, default ``~/.cache/artforge/features``) under a hash of the
pictures' 8-bit content, the backbone, the layer and the size.

Example::

    feats = extract_features(pictures)          # N×3×H×W uint8, or float in [-1, 1]; N×1280 on the CPU
"""

from __future__ import annotations

import hashlib
import os
import sys
from itertools import chain
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from artforge.backbones import create_backbone
from artforge.fileio import atomic_save_npy
from artforge.pictures import to_uint8, to_unit

DEFAULT_BACKBONE = "effnet-lite0"
DEFAULT_LAYER = "pool"  # the pooled vector: what FID and KID are computed on
DEFAULT_SIZE = 224  # the backbone's training resolution; pictures are resized to it
_HASH_BATCH = 256  # pictures hashed per step: bounds the uint8 copy made for hashing


def _cache_dir() -> Path:
    return Path(os.environ.get("ARTFORGE_CACHE", Path.home() / ".cache" / "artforge")) / "features"


def content_key(images: torch.Tensor, *context: str) -> str:
    """A hash of ``images`` as 8-bit pictures plus ``context`` strings (backbone, layer, size).

    uint8 pictures and the same pictures as float [-1, 1] get the same key, so the cache is shared
    between them; float pictures that differ by less than half a grey level share a key too (their
    features differ by as little).  Hashed a batch at a time: no copy of the whole set is made.
    """
    digest = hashlib.sha256(f"{tuple(images.shape)}|{'|'.join(context)}".encode())
    for chunk in images.split(_HASH_BATCH):
        digest.update(to_uint8(chunk).tobytes())
    return digest.hexdigest()[:32]


def extract_features(
    images: torch.Tensor,
    backbone: str = DEFAULT_BACKBONE,
    layer: str = DEFAULT_LAYER,
    size: int = DEFAULT_SIZE,
    cache: bool = True,
    batch_size: int = 32,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """N×D features of ``images`` (N×C×H×W, uint8 or float in [-1, 1]) resized to ``size`` with antialiasing.

    The backbone runs on ``device`` (default: where the images are, so samples on a GPU stay
    there); the features come back on the CPU.  With ``cache``, they are read from / written to
    the feature cache (see the module docstring); without it nothing is hashed.
    """
    path = _cache_dir() / f"{content_key(images, backbone, layer, str(size))}.npy" if cache else None
    if path is not None and path.is_file():
        try:
            return torch.from_numpy(np.load(path, allow_pickle=False))
        except (OSError, ValueError):
            pass  # damaged cache entry: recompute
    net = create_backbone(backbone, images.device if device is None else device)
    batches = features_at_size(net, images, size, (layer,), batch_size)
    out = torch.cat([taps[layer].flatten(1).cpu() for taps in batches])
    if path is not None:
        try:
            atomic_save_npy(path, out.numpy())
        except OSError as exc:  # a full or read-only cache folder costs the cache, never the evaluation
            print(f"warning: could not cache features in {path.parent} ({exc})", file=sys.stderr)
    return out


def features_at_size(
    net, images: torch.Tensor, size: int, layers: tuple[str, ...], batch_size: int = 32
) -> Iterator[dict[str, torch.Tensor]]:
    """Yield ``net``'s taps for each batch of ``images`` resized (antialiased) to ``size`` × ``size``.

    Each batch is moved to the backbone's device and converted there: a float copy of the whole
    set would be 4× the uint8 set.
    """
    device = next(chain(net.parameters(), net.buffers())).device
    for chunk in images.split(batch_size):
        x = to_unit(chunk.to(device))
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        yield net.features(x, layers=layers)


def nearest(query: torch.Tensor, ref: torch.Tensor, exclude_self: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance to, and index of, each ``query`` row's nearest ``ref`` row (float64 Euclidean).

    ``exclude_self`` (``query`` is ``ref``) skips each row's zero distance to itself.
    """
    d = torch.cdist(query.double(), ref.double())
    if exclude_self:
        d.fill_diagonal_(float("inf"))
    return d.min(dim=1)
