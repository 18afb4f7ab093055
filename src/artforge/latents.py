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
from safetensors.torch import load_file, safe_open, save, save_file

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


def _tagged(tensors: dict[str, torch.Tensor], model: Method, kind: str, info: dict) -> tuple[dict, dict]:
    meta = {
        "format": kind,
        "artforge_version": __version__,
        "model_sha256": model_digest(model),
        "model_name": str(getattr(model, "config", {}).get("model", "")),
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in info.items()},
    }
    return {k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}, meta


def write_for_model(path: str | Path, tensors: dict[str, torch.Tensor], model: Method, kind: str, **info) -> Path:
    """Write ``tensors`` as safetensors tagged with ``kind`` and ``model``'s content hash (atomically)."""
    tensors, meta = _tagged(tensors, model, kind, info)
    try:
        atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=meta))
    except OSError as exc:
        raise ArtforgeError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return Path(path)


def latent_bytes(latent: torch.Tensor, model: Method, space: str, **info) -> bytes:
    """The bytes of the latent file :func:`save_latent` would write (for content-addressed stores)."""
    tensors, meta = _tagged({"latent": latent}, model, FORMAT, {"space": space, **info})
    return save(tensors, metadata=meta)


def read_info(path: str | Path, kind: str = FORMAT) -> dict[str, str]:
    """The metadata of a file written by :func:`write_for_model` as ``kind`` (a clear error for anything else)."""
    path = Path(path)
    if not path.is_file():
        raise ArtforgeError(f"no such {_what(kind)}: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtforgeError(f"{path} is not a {_what(kind)} ({exc})") from exc
    if meta.get("format") != kind:
        raise ArtforgeError(f"{path} is not an artforge {_what(kind)}")
    return meta


def read_for_model(path: str | Path, model: Method, kind: str, remedy: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of ``path``, refused (saying ``remedy``) when made for other weights than ``model``'s."""
    meta = read_info(path, kind)
    digest = model_digest(model)
    if meta.get("model_sha256") and digest and meta["model_sha256"] != digest:
        raise ArtforgeError(
            f"{path} was made for other weights ({meta.get('model_name') or '?'}, {meta['model_sha256'][:12]}…) than "
            f"{getattr(model, 'model_arg', model.source_path)} ({digest[:12]}…); {remedy}"
        )
    try:
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtforgeError(f"{path} cannot be read ({exc}); the file is damaged") from exc


def _what(kind: str) -> str:
    return {FORMAT: "latent file", "artforge-directions": "directions file"}.get(kind, kind)


def save_latent(path: str | Path, latent: torch.Tensor, model: Method, space: str, **info) -> Path:
    """Write ``latent`` (N × …) with the model's content hash, its name, the space and ``info``."""
    return write_for_model(path, {"latent": latent}, model, FORMAT, space=space, **info)


def read_latent_info(path: str | Path) -> dict[str, str]:
    """The metadata of a latent file (a clear error for anything else)."""
    return read_info(path, FORMAT)


def load_latent(path: str | Path, model: Method) -> torch.Tensor:
    """The latents in ``path`` (N × …) on the model's device; refused when they belong to another model."""
    tensors, _ = read_for_model(path, model, FORMAT, "project the picture again with this model")
    latent = tensors.get("latent")
    expected = model.latent_shapes()
    if latent is None or tuple(latent.shape[1:]) not in [tuple(s) for s in expected]:
        shape = "nothing" if latent is None else f"latents of shape {tuple(latent.shape[1:])}"
        raise ArtforgeError(f"{path} holds {shape}; this model takes {expected[0]}")
    return latent.to(next(model.sampler.parameters()).device)
