"""Networks: pure tensors in, tensors out, built from keyword arguments."""

from artforge.models.registry import (
    create_model,
    get_family,
    list_models,
    load_export,
    read_export_config,
    register_model,
    save_export,
)

__all__ = [
    "create_model",
    "get_family",
    "list_models",
    "load_export",
    "read_export_config",
    "register_model",
    "save_export",
]
