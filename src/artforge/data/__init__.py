"""Training data: robust folder loading, built-in procedural sets, one entry point.

>>> from artforge.data import open_source
>>> open_source("builtin:shapes", 32, n_builtin=4).images.shape
torch.Size([4, 3, 32, 32])

The names below are imported on first use (PEP 562): the processes that decode a folder in
parallel import ``artforge.data.images`` and ``artforge.data.decode`` only, and must not pull in torch
through this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "BUILTINS",
    "BadImage",
    "DomainPair",
    "ImageSet",
    "SkippedFile",
    "format_info",
    "inspect_folder",
    "load_folder",
    "load_image",
    "make_glyphs",
    "make_shapes",
    "open_domains",
    "open_source",
    "parse_color",
    "prepare",
    "scan_folder",
]

# submodule -> the public names it defines (tests/data check that this and __all__ agree)
_PUBLIC = {
    "builtin": ("BUILTINS", "make_glyphs", "make_shapes"),
    "decode": ("BadImage", "load_image"),
    "images": ("ImageSet", "SkippedFile", "format_info", "inspect_folder", "load_folder", "scan_folder"),
    "sources": ("DomainPair", "open_domains", "open_source", "parse_color", "prepare"),
}
_MODULE_OF = {name: module for module, names in _PUBLIC.items() for name in names}


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and IDEs see
    from artforge.data.builtin import BUILTINS, make_glyphs, make_shapes
    from artforge.data.decode import BadImage, load_image
    from artforge.data.images import ImageSet, SkippedFile, format_info, inspect_folder, load_folder, scan_folder
    from artforge.data.sources import DomainPair, open_domains, open_source, parse_color, prepare
