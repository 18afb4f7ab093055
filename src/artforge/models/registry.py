"""One registry for every network family, plus the export format.

A *family* (``dcgan-seed``, ``dcgan``, ``vae``) names a set of networks that a
method trains together, e.g. a generator and a discriminator.  Each part has its
own builder so that loading an export for sampling builds only what sampling
needs (timm's ``@register_model`` + ``create_model``; diffusers'
``save_pretrained`` / ``from_pretrained`` for the export).

Export = ``config.json`` (what to rebuild, with which keyword arguments) +
``model.safetensors`` (the weights, keys prefixed by part name).  Nothing is
ever unpickled.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from artforge import __version__
from artforge.errors import ArtforgeError, CheckpointError
from artforge.fileio import atomic_write, atomic_write_bytes


@dataclasses.dataclass(frozen=True)
class ModelFamily:
    name: str
    method: str  # default method that trains it ("gan", "vae")
    parts: dict[str, Callable[..., nn.Module]]  # part name -> builder(**kwargs)
    description: str = ""


_FAMILIES: dict[str, ModelFamily] = {}


def register_model(name: str, *, method: str, parts: dict[str, Callable[..., nn.Module]], description: str = ""):
    """Register a network family under ``name``; returns the family record."""
    if name in _FAMILIES:
        raise ValueError(f"model {name!r} is registered twice")
    family = ModelFamily(name, method, dict(parts), description)
    _FAMILIES[name] = family
    return family


def _ensure_builtin_models_imported() -> None:
    # Importing the modules runs their register_model calls.
    from artforge.models import adain, cyclegan, dcgan, fastgan, pggan, stylegan, unet, vae  # noqa: F401


def list_models() -> list[str]:
    _ensure_builtin_models_imported()
    return sorted(_FAMILIES)


def get_family(name: str) -> ModelFamily:
    _ensure_builtin_models_imported()
    if name not in _FAMILIES:
        raise ArtforgeError(f"unknown model {name!r}; choose one of: {', '.join(sorted(_FAMILIES))}")
    return _FAMILIES[name]


def create_model(name: str, parts: tuple[str, ...] | None = None, **kwargs) -> dict[str, nn.Module]:
    """Build the networks of family ``name``.

    Example::

        nets = create_model("dcgan", image_size=32, latent_dim=64)
        images = nets["generator"](torch.randn(4, 64))
    """
    family = get_family(name)
    wanted = parts or tuple(family.parts)
    try:
        return {part: family.parts[part](**kwargs) for part in wanted}
    except ValueError as exc:  # builders reject sizes/widths they cannot build: the user's flags, not a bug
        raise ArtforgeError(f"--model {name}: {exc}") from exc


# --------------------------------------------------------------------------- export


def save_export(directory: Path, nets: dict[str, nn.Module], config: dict, metadata: dict | None = None) -> Path:
    """Save ``nets`` as ``model.safetensors`` + ``config.json`` in ``directory`` (each atomically).

    ``config`` must say how to rebuild: ``{"model": name, "model_kwargs": {...}, "method": ..., ...}``.
    """
    directory = Path(directory)
    tensors = {}
    for part, net in nets.items():
        for key, value in net.state_dict().items():
            tensors[f"{part}.{key}"] = value.detach().to("cpu").contiguous()
    meta = {"format": "artforge-export", "artforge_version": __version__}
    meta.update({k: str(v) for k, v in (metadata or {}).items()})
    atomic_write(directory / "model.safetensors", lambda tmp: save_file(tensors, tmp, metadata=meta))
    full_config = {"artforge_version": __version__, "parts": sorted(nets), **config}
    atomic_write_bytes(directory / "config.json", (json.dumps(full_config, indent=2, sort_keys=True) + "\n").encode())
    return directory


def read_export_config(directory: Path) -> dict:
    directory = Path(directory)
    cfg_path = directory / "config.json"
    if not cfg_path.is_file() or not (directory / "model.safetensors").is_file():
        raise CheckpointError(
            f"{directory} is not an artforge model: it needs config.json and model.safetensors "
            "(pass a run folder's model/ directory, or the run folder itself)"
        )
    try:
        return json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{cfg_path} is not valid JSON ({exc}); the export is damaged") from exc


def load_export(directory: Path, device: str | torch.device = "cpu") -> tuple[dict[str, nn.Module], dict]:
    """Rebuild the exported networks (eval mode) and return ``(nets, config)``."""
    directory = Path(directory)
    config = read_export_config(directory)
    parts = tuple(config.get("parts") or ())
    nets = create_model(config["model"], parts=parts, **config.get("model_kwargs", {}))
    try:
        tensors = load_file(directory / "model.safetensors", device="cpu")
    except Exception as exc:  # safetensors raises its own error types for truncated files
        raise CheckpointError(
            f"{directory / 'model.safetensors'} cannot be read ({exc}); the export is damaged"
        ) from exc
    for part, net in nets.items():
        prefix = f"{part}."
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise CheckpointError(
                f"{directory} does not match model {config['model']!r}: "
                f"missing {missing[:3]}, unexpected {unexpected[:3]}"
            )
        net.to(device).eval()
    return nets, config
