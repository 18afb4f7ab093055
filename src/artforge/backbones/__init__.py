"""Pretrained feature extractors behind one interface (see ``registry.Backbone``)."""

from artforge.backbones.registry import Backbone, create_backbone, list_backbones, register_backbone

__all__ = ["Backbone", "create_backbone", "list_backbones", "register_backbone"]
