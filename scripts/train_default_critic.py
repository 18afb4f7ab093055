"""Train the shipped default critic: ``make default-critic`` (≈ 5 min on 2 CPU cores, offline).

The task's answer is known by construction: originals are *high*, a mild degradation
(blur, noise, JPEG, low contrast, pixelation, washed-out colour) is *mid*, a heavy one
*low*.  Originals: built-in shapes and paintings, glyphs, and random crops of the photos
that ship with scikit-image.  A fifth of the originals (with their degradations) is held
out to measure the critic honestly before the final fit on everything.

Last, the critic's *technical directions* (``critic.technical_directions``: how degrading a picture
moves the head's inputs) are measured on 48 built-in pictures, every degradation at both strengths: a
person's ratings then personalise the critic without erasing its judgement of blur, noise and JPEG.
``--technical-only`` adds just them to an existing critic (seconds, not minutes).

    python scripts/train_default_critic.py [--originals 600] [--out src/artforge/assets/default-critic]
    python scripts/train_default_critic.py --technical-only
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from artforge.data import open_source
from artforge.data.builtin import BUILTINS
from artforge.evaluate.critic import (
    LOAD_SIZE,
    Critic,
    CriticConfig,
    picture_inputs,
    spearman,
    technical_directions,
    technical_originals,
    tier_accuracy,
    train_critic_on_inputs,
)
from artforge.evaluate.critic_data import HEAVY, MILD, graded_set

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "stereo_motorcycle", "logo")


def photo_crops(n: int, seed: int) -> torch.Tensor:
    import skimage.data

    rng = np.random.default_rng(seed)
    photos = []
    for name in PHOTOS:
        im = getattr(skimage.data, name)()
        im = im[0] if isinstance(im, tuple) else im
        photos.append(Image.fromarray(np.asarray(im)[..., :3].astype(np.uint8)).convert("RGB"))
    crops = []
    for _ in range(n):
        im = photos[rng.integers(len(photos))]
        side = int(rng.uniform(0.35, 1.0) * min(im.size))
        x, y = rng.integers(0, im.width - side + 1), rng.integers(0, im.height - side + 1)
        crop = im.crop((x, y, x + side, y + side)).resize((LOAD_SIZE, LOAD_SIZE), Image.LANCZOS)
        crops.append(torch.from_numpy(np.asarray(crop).copy()).permute(2, 0, 1))
    return torch.stack(crops)


def originals(n: int, seed: int) -> tuple[torch.Tensor, str]:
    kinds = [k for k in ("shapes", "paintings") if k in BUILTINS]
    share = n // (len(kinds) + 2)
    parts = [open_source(f"builtin:{k}", LOAD_SIZE, n_builtin=share, seed=seed, progress=False).images for k in kinds]
    parts.append(open_source("builtin:glyphs", LOAD_SIZE, n_builtin=share // 2, seed=seed, progress=False).images)
    parts.append(photo_crops(n - sum(len(p) for p in parts), seed))
    what = " + ".join([f"builtin:{k}" for k in kinds] + ["builtin:glyphs", "crops of scikit-image's photos"])
    return torch.cat(parts), what


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--originals", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="src/artforge/assets/default-critic")
    ap.add_argument("--technical-only", action="store_true", help="only (re)measure the technical directions")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    if args.technical_only:
        add_technical_directions(Critic.load(args.out), args.out, args.seed)
        return
    orig, what = originals(args.originals, args.seed)
    images, scores, groups = graded_set(orig, seed=args.seed)
    print(f"{len(orig)} originals ({what}) -> {len(images)} graded pictures")

    x = picture_inputs(images, CriticConfig())  # computed once, used for the held-out probe and the final fit
    held = torch.tensor([g % 5 == 4 for g in groups])
    train_groups = [g for g, h in zip(groups, held.tolist()) if not h]
    probe = train_critic_on_inputs(x[~held], scores[~held], CriticConfig(), groups=train_groups)
    predicted = probe.score_inputs(x[held])
    held_out = {
        "pictures": int(held.sum()),
        "spearman": spearman(predicted, scores[held]),
        "tier_accuracy": tier_accuracy(predicted, scores[held]),
    }
    print(
        f"held-out (unseen originals and their degradations): Spearman {held_out['spearman']:.3f}, "
        f"tier accuracy {held_out['tier_accuracy']:.3f} on {held_out['pictures']} pictures"
    )

    cfg = CriticConfig(
        trained_on=(
            f"{what}: originals = high, one mild degradation each = mid, one heavy = low; degradations: "
            f"{', '.join(sorted(MILD))} (mild {json.dumps(MILD)}, heavy {json.dumps(HEAVY)})"
        )
    )
    critic = train_critic_on_inputs(x, scores, cfg, groups=groups)
    critic.cfg.cv["held_out"] = held_out
    out = critic.save(Path(args.out))
    print(f"wrote {out} (n_train {critic.cfg.n_train}, ridge {critic.cfg.ridge:g})")
    add_technical_directions(critic, args.out, args.seed)


def add_technical_directions(critic: Critic, out, seed: int) -> None:
    critic.t["technical"] = technical_directions(critic, technical_originals(seed=seed + 1), seed=seed)
    critic.save(Path(out))
    print(f"technical directions measured on 48 built-in pictures, saved in {out}")


if __name__ == "__main__":
    main()
