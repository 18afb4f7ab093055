"""The AdaIN decoder (Huang & Belongie, ICCV 2017) and where it cuts its frozen encoder.

Only the decoder is a trained network; the encoder is a frozen backbone from
``artforge.backbones`` cut at one tap.  The objective is ``artforge.methods.adain``;
inference (``stylize_fast``) and the export format are ``artforge.style.adain``.

Example::

    nets = create_model("adain", encoder="effnet-lite0", width=32)
    image = nets["decoder"](features)      # features: N×40×h×w at stride 8 -> N×3×8h×8w
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch
from torch import nn

from artforge.errors import ArtforgeError
from artforge.models.registry import register_model


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
    """Where to cut a backbone: ``tap`` feeds AdaIN and the content loss; ``style_taps`` the style loss."""

    tap: str
    style_taps: tuple[str, ...]
    tap_channels: int  # channels at ``tap`` = the decoder's input width
    # Shallower taps, finest last, that can also go through AdaIN into the decoder (one per upsampling
    # level, from stride 4 down): the fine structure the deep tap has lost.  Used by decoders trained
    # with skips (train-adain --skips); measured in bench/RESULTS.md (issue 13): they halve the speckle of
    # the photo's own reconstruction, but not yet of a stylised picture, so the default stays the paper's.
    skips: tuple[str, ...] = ()
    skip_channels: tuple[int, ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        """Every tap AdaIN works on: the deep one, then the skips."""
        return (self.tap, *self.skips)


# Both taps sit at stride 8, so every decoder upsamples 3 times.  VGG: the paper's choice.
# EfficientNet-Lite0: the stride-8 stage output feeds AdaIN; the style loss also looks one stage deeper
# (stride 16), which gave more style-specific colour and texture than stem..stage3 alone (measured).
ENCODERS = {
    "vgg19": EncoderSpec("relu4_1", ("relu1_1", "relu2_1", "relu3_1", "relu4_1"), 512),
    "vgg19-random": EncoderSpec("relu4_1", ("relu1_1", "relu2_1", "relu3_1", "relu4_1"), 512),
    "effnet-lite0": EncoderSpec(
        "stage3", ("stem", "stage1", "stage2", "stage3", "stage4"), 40, ("stage2", "stage1"), (24, 16)
    ),
}
# Measured (bench/adain_quality.py, equal steps): the ImageNet EfficientNet decoder keeps the content's
# structure and follows each style; the random-VGG one gave near-identical grey blobs for every style,
# and its encoder alone takes ~1 s at 512 px on 2 CPU threads (EfficientNet: ~60 ms).  vgg19 (ImageNet
# weights, not shipped) is the paper's choice and is offered for users who have its weights.
DEFAULT_ENCODER = "effnet-lite0"
PAPER_WIDTH = 64  # the paper's decoder widths are 4w, 2w, w = 256, 128, 64 at strides 8/4/2
DEFAULT_WIDTH = 32  # half the paper's: a quarter of the FLOPs, measured enough for CPU training
PAPER_CONVS = (1, 4, 2, 2)  # convolutions per resolution level, from stride 8 down to 1


def encoder_spec(name: str) -> EncoderSpec:
    if name not in ENCODERS:
        raise ArtforgeError(f"unknown AdaIN encoder {name!r}; choose one of: {', '.join(ENCODERS)}")
    return ENCODERS[name]


def spec_for_decoder(encoder: str, decoder: "AdaINDecoder") -> EncoderSpec:
    """The encoder's spec as ``decoder`` uses it: without skips for a decoder that has none (the paper's)."""
    spec = encoder_spec(encoder)
    if len(decoder.skips) == len(spec.skips):
        return spec
    if len(decoder.skips) == 0:
        return dataclasses.replace(spec, skips=(), skip_channels=())
    raise ArtforgeError(f"the decoder has {len(decoder.skips)} skip inputs; {encoder} offers {len(spec.skips)}")


def _conv(c_in: int, c_out: int, relu: bool) -> list[nn.Module]:
    # Reflection padding: zero padding leaves border artefacts in decoded pictures (paper §6.1).
    layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3)]
    return layers + [nn.ReLU()] if relu else layers


class AdaINDecoder(nn.Module):
    """The encoder mirrored: 3×3 convs + ReLU, nearest-neighbour ×2 upsampling, no normalisation.

    ``widths`` are the channels at strides 8, 4, 2 (the paper: 256, 128, 64); ``convs`` the number of
    convolutions at each level (the paper: 1, 4, 2, 2).  The last conv outputs RGB with no activation.
    No normalisation layers: they would tie every output to one style (paper §6.1).
    """

    def __init__(
        self,
        in_channels: int = 512,
        widths: Sequence[int] = (256, 128, 64),
        convs: Sequence[int] = PAPER_CONVS,
        skip_channels: Sequence[int] = (),
    ):
        super().__init__()
        if len(convs) != len(widths) + 1 or min(convs) < 1:
            raise ValueError(f"need one conv count per level: {len(widths) + 1} counts ≥ 1, got {list(convs)}")
        if len(skip_channels) > len(widths):
            raise ValueError(f"at most one skip per upsampling level ({len(widths)}), got {len(skip_channels)}")
        chans = [in_channels, *widths, 3]
        layers: list[nn.Module] = []
        for level, n in enumerate(convs):
            for i in range(n):
                last_of_level = i == n - 1
                final = last_of_level and level == len(convs) - 1
                layers += _conv(chans[level], chans[level + 1] if last_of_level else chans[level], relu=not final)
            if level < len(convs) - 1:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.layers = nn.Sequential(*layers)
        self.stride = 2 ** (len(convs) - 1)
        # Skip i enters right after upsampling i, added through a 1×1 conv to the level's input channels.
        # Zero-initialised: a decoder with skips starts as the same decoder without them (so a trained
        # paper decoder can be extended and fine-tuned).
        self.skips = nn.ModuleList(nn.Conv2d(c, chans[i + 1], 1) for i, c in enumerate(skip_channels))
        for conv in self.skips:
            nn.init.zeros_(conv.weight), nn.init.zeros_(conv.bias)
        self._upsamples = [i for i, m in enumerate(layers) if isinstance(m, nn.Upsample)]
        self.config = {
            "in_channels": int(in_channels),
            "widths": [int(w) for w in widths],
            "convs": [int(n) for n in convs],
        }
        if skip_channels:  # absent for the paper's decoder, so its exports stay as they were
            self.config["skip_channels"] = [int(c) for c in skip_channels]

    def forward(self, features: torch.Tensor, skips: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        if len(skips) != len(self.skips):
            raise ValueError(f"this decoder takes {len(self.skips)} skip feature maps, got {len(skips)}")
        if not self.skips:
            return self.layers(features)
        h, level = features, 0
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if level < len(self.skips) and i == self._upsamples[level]:
                h = h + self.skips[level](skips[level])
                level += 1
        return h


def decoder_kwargs(encoder: str = DEFAULT_ENCODER, width: int = DEFAULT_WIDTH, skips: bool = False) -> dict:
    """The paper's decoder for ``encoder`` with widths 4w, 2w, w (the paper: w = 64), plus the encoder's
    skip inputs when ``skips``."""
    if width < 2:
        raise ArtforgeError(f"the AdaIN decoder width must be at least 2, got {width}")
    spec = encoder_spec(encoder)
    return {
        "in_channels": spec.tap_channels,
        "widths": [4 * width, 2 * width, width],
        "convs": list(PAPER_CONVS),
        "skip_channels": list(spec.skip_channels) if skips else [],
    }


def build_decoder(encoder: str = DEFAULT_ENCODER, width: int | None = None, skips: bool = False, **_) -> AdaINDecoder:
    return AdaINDecoder(**decoder_kwargs(encoder, width or DEFAULT_WIDTH, skips))


register_model(
    "adain",
    method="adain",
    parts={"decoder": build_decoder},
    description="fast arbitrary style transfer: AdaIN decoder on a frozen encoder (Huang & Belongie 2017)",
)
