"""VGG-19 (Simonyan & Zisserman 2015), the classic style-transfer encoder (Gatys et al. 2016).

Layer names follow the style-transfer literature (``relu1_1`` … ``relu5_4``, ``pool1`` …
``pool5``); parameter names follow torchvision's ``features.N`` so the standard published
ImageNet checkpoint (``vgg19-dcbb9e9d.pth``) loads as it is — from a path the user gives
or from the usual torch hub cache, read with ``torch.load(weights_only=True)``.  Nothing
is downloaded unless the user asks (``download=True``).  ``vgg19-random`` is the same
network with a fixed-seed initialisation, usable offline: random convolutional features
still carry texture statistics (He, Wang & Hopcroft 2016, "A Powerful Generative Model Using
Random Weights for the Deep Image Representation"; Ustyuzhaninov et al. 2017, "What does it
take to generate natural textures?"), so a random VGG stylises reasonably.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from artforge.errors import ArtforgeError

CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
WEIGHTS_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
WEIGHTS_FILE = "vgg19-dcbb9e9d.pth"


class VGG19(nn.Module):
    """``taps(x, names)`` returns the named activations; stops as soon as all are computed."""

    def __init__(self):
        super().__init__()
        layers, names, c_in, block, conv = [], [], 3, 1, 1
        for v in CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                names.append(f"pool{block}")
                block, conv = block + 1, 1
            else:
                layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU(inplace=False)]
                names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
                c_in, conv = v, conv + 1
        self.features = nn.Sequential(*layers)
        self.layer_names = names

    def taps(self, x: torch.Tensor, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        unknown = set(names) - set(self.layer_names)
        if unknown:
            raise KeyError(f"unknown VGG-19 layer(s) {sorted(unknown)}; e.g. relu1_1, relu4_2, pool5")
        wanted, out = set(names), {}
        for name, layer in zip(self.layer_names, self.features):
            x = layer(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return {n: out[n] for n in names}


def random_vgg19(seed: int = 0) -> VGG19:
    """Fixed-seed Kaiming initialisation: the same "random VGG" on every machine."""
    gen = torch.Generator().manual_seed(seed)
    net = VGG19()
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            with torch.no_grad():
                m.weight.normal_(0, (2.0 / fan_out) ** 0.5, generator=gen)
                m.bias.zero_()
    return net


def find_weights(path: str | Path | None = None) -> Path | None:
    """A user-given file, ``$ARTFORGE_VGG19``, or the torch hub cache; None when there is none."""
    candidates = [path, os.environ.get("ARTFORGE_VGG19"), Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    if path:
        raise ArtforgeError(f"VGG-19 weights not found at {path}")
    return None


def pretrained_vgg19(path: str | Path | None = None, download: bool = False) -> VGG19:
    """VGG-19 with the published ImageNet weights (classifier dropped; only ``features.*`` are used)."""
    file = find_weights(path)
    if file is None and download:
        torch.hub.load_state_dict_from_url(WEIGHTS_URL, progress=True)
        file = find_weights()
    if file is None:
        raise ArtforgeError(
            f"no VGG-19 weights: put {WEIGHTS_FILE} in {Path(torch.hub.get_dir()) / 'checkpoints'}, set "
            "ARTFORGE_VGG19=/path/to/file, or allow the download; offline, use the vgg19-random backbone"
        )
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file: say which
        raise ArtforgeError(f"cannot read VGG-19 weights from {file} ({exc})") from exc
    net = VGG19()
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    try:
        net.load_state_dict(features, strict=True)
    except RuntimeError as exc:
        raise ArtforgeError(f"{file} does not hold VGG-19 weights ({str(exc).splitlines()[0]})") from exc
    return net
