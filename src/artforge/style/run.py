"""Style transfer from files to a file: what ``artforge style`` calls (and the studio can).

Reads the pictures (robustly, at the working size), runs Gatys optimisation (pyramid + tiles
for large pictures) or the fast AdaIN path, writes the PNG atomically with the settings in its
metadata, intermediate PNGs every ``save_every`` iterations, and optionally scores the result
against the trivial outputs (:mod:`artforge.style.quality`).

Example::

    >>> run_style("photo.jpg", ["starry.jpg"], "out.png", GatysConfig(image_size=384))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Sequence

import torch

from artforge.errors import ArtforgeError
from artforge.style.gatys import GatysConfig, StyleResult, finish, keep_unstyled_region, stylize
from artforge.style.io import read_image, read_mask, write_image


def run_style(
    content_path,
    style_paths: Sequence,
    out,
    config: GatysConfig,
    mask_path=None,
    fast: bool = False,
    adain_path=None,
    report: bool = False,
) -> dict:
    """Stylise ``content_path`` with ``style_paths`` into the PNG ``out``; returns a summary dict.

    The summary holds ``out``, ``seconds``, ``intermediates`` (paths), ``stopped_early`` (a
    message or "") and, with ``report``, ``scores`` (see :func:`quality.score_with_baselines`).
    """
    config = config.validate()
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ArtforgeError(f"-o must name a .png file, got {out}")
    if not style_paths:
        raise ArtforgeError("give at least one style image")
    content = read_image(content_path, max_side=config.image_size)
    style_side = max(16, round(config.style_scale * config.image_size))
    styles = [read_image(p, max_side=style_side) for p in style_paths]
    mask = read_mask(mask_path, tuple(content.shape[-2:])) if mask_path else None
    intermediates: list[Path] = []
    metadata = style_metadata(content_path, style_paths, mask_path, config, fast)

    def save_intermediate(step: int, image: torch.Tensor) -> None:
        path = out.with_name(f"{out.stem}-{step:05d}.png")
        intermediates.append(write_image(path, image, {**metadata, "iteration": step}))

    start = time.perf_counter()
    measured_on = config.backbone  # the network the picture was made with; quality is measured on another
    if fast:
        result, measured_on = _run_fast(content, styles, config, mask, adain_path)
        metadata["encoder"] = measured_on
    else:
        result = stylize(content, styles, config, mask, save_intermediate if config.save_every else None)
    seconds = time.perf_counter() - start
    write_image(out, result.image, metadata)
    summary = {
        "out": str(out),
        "seconds": seconds,
        "intermediates": [str(p) for p in intermediates],
        "stopped_early": result.stopped_early,
        "size": list(result.image.shape[-2:]),
    }
    if report:
        from artforge.style.quality import score_with_baselines

        summary["scores"] = score_with_baselines(
            result.image, content, styles, measured_on, config.style_blend_weights, device=config.device
        )
    return summary


def _run_fast(content: torch.Tensor, styles, config: GatysConfig, mask, adain_path) -> tuple[StyleResult, str]:
    """AdaIN (Huang & Belongie 2017) through ``artforge.style.adain``, imported only when asked for."""
    try:
        from artforge.style.adain import shared_adain, stylize_fast
    except ImportError as exc:
        raise ArtforgeError(f"--fast needs artforge.style.adain, which cannot be imported here ({exc})") from None
    model = shared_adain(adain_path, device=config.device)
    alpha = config.alpha if config.alpha_mode == "feature" else 1.0
    image = stylize_fast(
        model,
        content.to(config.device),
        [s.to(config.device) for s in styles],
        weights=None if mask is not None else config.style_blend_weights,
        alpha=alpha,
        preserve_color=config.original_colors == "histogram",
        mask=None if mask is None else mask[0, 0],
        rendering=config.rendering(),
    )
    # Luminance-only colours and the pixel-mode blend are the same post-processing as for Gatys.
    image = finish(image.float(), content.to(image.device), config)
    return StyleResult(keep_unstyled_region(image, content, mask, len(styles))), model.encoder_name


def style_metadata(content_path, style_paths, mask_path, config: GatysConfig, fast: bool) -> dict:
    """What the output PNG records (plain JSON): method, input files, mask and every config field."""
    meta = {
        "method": "adain" if fast else "gatys",
        "content": str(content_path),
        "styles": [str(p) for p in style_paths],
        "mask": str(mask_path) if mask_path else None,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(config).items()},
    }
    return meta
