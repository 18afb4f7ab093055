"""One feature interface for every pretrained network (timm ``features_only``; pystiche's encoders).

Style losses, the critic, FID and the memorisation check all take features from a
:class:`Backbone`: named multi-layer taps, eval mode, no gradient unless asked, any
input size, batching and device handling in one place.

Example::

    net = create_backbone("effnet-lite0")
    feats = net.features(images, layers=("stage3", "pool"))   # images in [-1, 1], N×3×H×W
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
from torch import nn

from artforge.errors import ArtforgeError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Backbone(nn.Module):
    """A frozen network behind the shared feature interface."""

    def __init__(
        self, name: str, net: nn.Module, default_layers: tuple[str, ...], mean=IMAGENET_MEAN, std=IMAGENET_STD
    ):
        super().__init__()
        self.name, self.net, self.default_layers = name, net.eval().requires_grad_(False), default_layers
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "Backbone":
        return super().train(False)  # always eval: batch-norm statistics are part of the pretrained weights

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images (artforge's convention) -> the network's input normalisation."""
        return ((images.float() + 1) / 2 - self.mean) / self.std

    def features(
        self, images: torch.Tensor, layers: tuple[str, ...] | None = None, batch_size: int = 64, grad: bool = False
    ) -> dict[str, torch.Tensor]:
        """Activations at ``layers`` for ``images`` in [-1, 1] (N×3×H×W, any H, W), in batches."""
        layers = tuple(layers or self.default_layers)
        device = self.mean.device
        outs: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
        with contextlib.nullcontext() if grad else torch.no_grad():
            for chunk in images.split(batch_size):
                taps = self.net.taps(self.normalize(chunk.to(device)), layers)
                for name in layers:
                    outs[name].append(taps[name])
        return {name: torch.cat(parts) for name, parts in outs.items()}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images, self.default_layers[-1:])[self.default_layers[-1]]


_BACKBONES: dict[str, Callable[[], Backbone]] = {}


def register_backbone(name: str):
    def wrap(builder: Callable[[], Backbone]):
        _BACKBONES[name] = builder
        return builder

    return wrap


def list_backbones() -> list[str]:
    _import_builtin()
    return sorted(_BACKBONES)


def create_backbone(name: str, device: str | torch.device = "cpu") -> Backbone:
    _import_builtin()
    if name not in _BACKBONES:
        raise ArtforgeError(f"unknown backbone {name!r}; choose one of: {', '.join(sorted(_BACKBONES))}")
    return _BACKBONES[name]().to(device)


def _import_builtin() -> None:
    from artforge.backbones import builtin  # noqa: F401  (registers the shipped backbones)
