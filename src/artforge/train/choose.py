"""What ``artforge train FOLDER`` trains when no ``--model`` is given.

The choice is the winner of the quality race (``bench/quality.py``, figures in bench/RESULTS.md):
the configuration with the lowest FID in the same wall-clock time on this project's CPU, on the
1,364-picture glyph set and on its 100-picture subset.  ``fastgan`` won or tied everywhere it was
measured, so it is the choice from 32 px up; smaller pictures get the DCGAN, the one family that
builds below 32 px.  Augmentation stays ``--augment auto`` (DiffAugment below 2,000 pictures, which
beat ADA and no augmentation on 100 pictures in the race).  The choice is said in one line once the
pictures are read.
"""

from __future__ import annotations

import dataclasses

from artforge.train.config import DEFAULT_BATCH, TrainConfig

AUTO = "auto"
MIN_FASTGAN_SIZE = 32  # fastgan builds from 32 px; smaller pictures get the DCGAN
CPU_BATCH = 32  # dcgan and fastgan on a CPU: more updates in the same time beat bigger batches (the ablation)
CPU_BATCH_METHODS = ("gan", "fastgan")  # the families the ablation measured


def choose_model(cfg: TrainConfig, device: str) -> tuple[TrainConfig, str]:
    """``cfg`` with ``model`` chosen when it was ``auto``; and the reason, for the user (empty if not chosen)."""
    if cfg.model != AUTO:
        return cfg, ""
    if cfg.text_cond:
        return dataclasses.replace(cfg, model="dcgan"), "--model dcgan: the family that takes --text-cond"
    if cfg.size < MIN_FASTGAN_SIZE:
        return dataclasses.replace(cfg, model="dcgan"), (
            f"--model dcgan: at --size {cfg.size} (below {MIN_FASTGAN_SIZE} px, the smallest fastgan builds) "
            "the DCGAN is the model that fits"
        )
    where = "this CPU" if device == "cpu" else f"{device} (the race ran on a CPU; not measured on {device})"
    return dataclasses.replace(cfg, model="fastgan"), (
        f"--model fastgan on {where}: in artforge's quality race it reached the lowest FID in equal training "
        "time on 100 and on 1,364 pictures (bench/RESULTS.md); pass --model to choose"
    )


def choose_batch(cfg: TrainConfig, device: str, method: str) -> tuple[TrainConfig, str]:
    """``cfg`` with ``batch`` chosen when not given; and the reason, when it is not the usual 64.

    In the race's ablation (bench/RESULTS.md, issue 9) batch 32 took dcgan and fastgan further than 64
    in the same minutes of a 2-core CPU (FID 137.5 vs 199.4 for fastgan after 3 minutes): a CPU draws
    about as many pictures per second at either size, so the smaller batch makes twice the updates.
    On GPUs, and for families not measured, the batch stays 64.
    """
    if cfg.batch is not None:
        return cfg, ""
    if device == "cpu" and method in CPU_BATCH_METHODS:
        return dataclasses.replace(cfg, batch=CPU_BATCH), (
            f"--batch {CPU_BATCH} on a CPU: twice the updates of batch {DEFAULT_BATCH} in the same time, which "
            "reached a lower FID in the race's ablation (bench/RESULTS.md); pass --batch to choose"
        )
    return dataclasses.replace(cfg, batch=DEFAULT_BATCH), ""
