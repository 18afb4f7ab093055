"""Latent files: a projected picture, or any latent worth keeping, saved for reuse with its model.

A latent file is safetensors with one tensor, ``latent`` (N × the model's latent shape: z, w, w+ or
a diffusion model's starting noise), and metadata saying which model it belongs to — the SHA-256
of that export's weights — what space it lives in and where it came from.  Anything that takes a
seed takes a latent file too (``generate --latent``, ``--mix``, ``--interpolate --keys``, edits).

Example::

    save_latent("out/cat-latent.safetensors", w, model, space="w+", source_image="cat.png")
    w = load_latent("out/cat-latent.safetensors", model)     # refused for another model
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from artforge import __version__
from artforge.errors import ArtforgeError
from artforge.fileio import atomic_write
from artforge.methods import Method

FORMAT = "artforge-latent"


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_digest(model: Method) -> str:
    """SHA-256 of the weights file of ``model``'s export (its content hash); "" for a model not loaded from disk."""
    source = getattr(model, "source_path", "")
    weights = Path(source) / "model.safetensors" if source else None
    if weights is None or not weights.is_file():
        return ""
    stat = weights.stat()
    return _file_digest(str(weights), stat.st_size, stat.st_mtime_ns)


def save_latent(path: str | Path, latent: torch.Tensor, model: Method, space: str, **info) -> Path:
    """Write ``latent`` (N × …) with the model's content hash, its name, the space and ``info``."""
    meta = {
        "format": FORMAT,
        "artforge_version": __version__,
        "model_sha256": model_digest(model),
        "model_name": str(getattr(model, "config", {}).get("model", "")),
        "space": space,
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in info.items()},
    }
    tensors = {"latent": latent.detach().float().cpu().contiguous()}
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=meta))
    return Path(path)


def read_latent_info(path: str | Path) -> dict[str, str]:
    """The metadata of a latent file (a clear error for anything else)."""
    path = Path(path)
    if not path.is_file():
        raise ArtforgeError(f"no such latent file: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtforgeError(f"{path} is not a latent file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise ArtforgeError(f"{path} is not an artforge latent file (made by artforge project)")
    return meta


def load_latent(path: str | Path, model: Method) -> torch.Tensor:
    """The latents in ``path`` (N × …) on the model's device; refused when they belong to another model."""
    meta = read_latent_info(path)
    digest = model_digest(model)
    if meta.get("model_sha256") and digest and meta["model_sha256"] != digest:
        raise ArtforgeError(
            f"{path} was made for another model ({meta.get('model_name') or '?'}, weights "
            f"{meta['model_sha256'][:12]}…), not {model.source_path} (weights {digest[:12]}…); "
            "project the picture again with this model"
        )
    latent = load_file(str(path))["latent"]
    expected = model.latent_shapes()
    if tuple(latent.shape[1:]) not in [tuple(s) for s in expected]:
        raise ArtforgeError(f"{path} holds latents of shape {tuple(latent.shape[1:])}; this model takes {expected[0]}")
    return latent.to(next(model.sampler.parameters()).device)
