"""Translating pictures with a trained CycleGAN, domain A -> B or B -> A.

The generators are fully convolutional, so any square size that is a multiple of 4
works; by default pictures are fitted to the size the model was trained at.

Example::

    from artforge.translate import load_translator, translate
    model = load_translator("runs/cyclegan-20261129-120000")    # a run folder or its model/ export
    paths = translate(model, ["photos/", "extra.jpg"], direction="a2b", out="out/paintings")
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from PIL import Image

from artforge.data.decode import BadImage, load_image
from artforge.data.images import SkippedFile, collect_pictures, no_usable_picture, print_to_stderr
from artforge.data.sources import parse_color
from artforge.errors import ArtforgeError
from artforge.fileio import unique_stem
from artforge.generate import load_model, provenance
from artforge.methods import Method
from artforge.methods.cyclegan import DIRECTIONS
from artforge.pictures import save_png, to_uint8, to_unit

MIN_SIZE = 8  # the generator's two stride-2 steps need at least 2×2 left for its residual blocks


def load_translator(path: str | Path, device: str | torch.device = "cpu") -> Method:
    """Load a CycleGAN export (a run folder or its ``model/``); other models are refused with a reason."""
    model = load_model(path, device=device)
    if not hasattr(model, "translate"):
        raise ArtforgeError(
            f"{model.source_path} holds a {model.config.get('model', '?')} model, which samples "
            "pictures; translate needs a model trained with --model cyclegan"
        )
    return model


def translation_size(model: Method, size: int | None = None) -> int:
    """``size`` (default: the training size) rounded to the nearest multiple of 4 the generator accepts."""
    wanted = int(model.config["image_size"]) if size is None else int(size)
    rounded = 4 * round(wanted / 4)
    if rounded < MIN_SIZE:
        raise ArtforgeError(f"--size must be at least {MIN_SIZE} pixels (got {wanted})")
    return rounded


def translate(
    model: Method,
    inputs: Iterable[str | Path],
    direction: str = "a2b",
    out: str | Path = "out/translated",
    size: int | None = None,
    fit: str = "crop",
    background="white",
    batch: int = 8,
    warn: Callable[[str], None] = print_to_stderr,
) -> list[Path]:
    """Translate every usable picture in ``inputs`` (files or folders); write ``OUT/NAME-a2b.png``.

    Pictures that cannot be read are skipped with a warning naming them; only when
    none is usable is it an error.  Each PNG records the model, direction, size and
    source file in its metadata.  Pictures are decoded ``batch`` at a time, so a
    folder of any length needs little memory.
    """
    if direction not in DIRECTIONS:
        raise ArtforgeError(f"--direction must be a2b or b2a (got {direction!r})")
    size = translation_size(model, size)
    inputs = list(inputs)
    background = parse_color(background) if isinstance(background, str) else tuple(background)
    files, skipped = collect_pictures(inputs)
    for s in skipped:
        warn(f"skipped {s.path}: {s.reason}")
    written: list[Path] = []
    taken: set[str] = set()
    for start in range(0, len(files), batch):
        pictures, sources = _decode(files[start : start + batch], size, fit, background, skipped, warn)
        if pictures:
            written += _translate_and_save(model, pictures, sources, direction, size, Path(out), taken)
    if not written:
        raise ArtforgeError(no_usable_picture(inputs, skipped, "to translate"))
    return written


def _decode(
    paths: list[Path], size: int, fit: str, background: tuple, skipped: list[SkippedFile], warn: Callable[[str], None]
) -> tuple[list[np.ndarray], list[Path]]:
    pictures, sources = [], []
    for path in paths:
        try:
            pictures.append(load_image(path, size, fit, background))
            sources.append(path)
        except BadImage as exc:
            skipped.append(SkippedFile(str(path), exc.reason))
            warn(f"skipped {path}: {exc.reason}")
    return pictures, sources


def _translate_and_save(
    model: Method,
    pictures: list[np.ndarray],
    sources: list[Path],
    direction: str,
    size: int,
    out: Path,
    taken: set[str],
) -> list[Path]:
    device = next(model.nets["g_ab"].parameters()).device
    x = to_unit(torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).to(device))  # uint8 travels, 4× smaller
    written = []
    for source, picture in zip(sources, to_uint8(model.translate(x, direction))):
        meta = provenance(model, direction=direction, size=size, source_image=str(source))
        written.append(
            save_png(Image.fromarray(picture), out / f"{unique_stem(f'{source.stem}-{direction}', taken)}.png", meta)
        )
    return written
