"""Training data: robust folder loading, built-in procedural sets, one entry point.

>>> from artforge.data import open_source
>>> open_source("builtin:shapes", 32, n_builtin=4).images.shape
torch.Size([4, 3, 32, 32])
"""

from artforge.data.builtin import BUILTINS, make_glyphs, make_shapes
from artforge.data.images import (
    BadImage,
    ImageSet,
    SkippedFile,
    format_info,
    inspect_folder,
    load_folder,
    load_image,
    scan_folder,
)
from artforge.data.sources import DomainPair, open_domains, open_source, parse_color, prepare

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
