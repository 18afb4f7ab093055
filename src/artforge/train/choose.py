"""What ``artforge train FOLDER`` trains when no ``--model`` is given.

The choice is the winner of the quality race (``bench/quality.py``, figures in bench/RESULTS.md):
the configuration that reached the lowest FID in the same wall-clock time on the folder sizes
measured.  It fills only what the user left open (``--model`` and, when ``--augment`` is
``auto``, the augmentation), and says what it picked and why in one line.
"""

from __future__ import annotations

import dataclasses

from artforge.train.config import TrainConfig

AUTO = "auto"
SMALL_SET = 500  # below this many pictures the low-data race's winner applies
MIN_FASTGAN_SIZE = 32  # fastgan builds from 32 px; smaller pictures get the DCGAN


def choose_model(cfg: TrainConfig, n_images: int, device: str) -> tuple[TrainConfig, str]:
    """``cfg`` with ``model`` (and ``augment`` if it was ``auto``) chosen; and the reason, for the user."""
    if cfg.model != AUTO:
        return cfg, ""
    if cfg.size < MIN_FASTGAN_SIZE:
        chosen = dataclasses.replace(cfg, model="dcgan")
        return chosen, (
            f"--model dcgan: at --size {cfg.size} (below {MIN_FASTGAN_SIZE} px, the smallest fastgan builds) "
            "the DCGAN is the model that fits"
        )
    augment = cfg.augment
    if augment == "auto":
        augment = "ada" if n_images < SMALL_SET else "diffaugment"
    chosen = dataclasses.replace(cfg, model="fastgan", augment=augment)
    where = "a GPU (measured on a CPU; the same choice)" if device != "cpu" else "this CPU"
    why_augment = f"--augment {augment}" + (
        f" ({n_images:,} pictures, below {SMALL_SET}: ADA adapts its strength to how much D overfits)"
        if augment == "ada" and cfg.augment == "auto"
        else ""
    )
    return chosen, (
        f"--model fastgan {why_augment}: on {n_images:,} pictures on {where}, fastgan reached the lowest FID "
        "in the same training time in artforge's quality race (bench/RESULTS.md); pass --model to choose yourself"
    )
