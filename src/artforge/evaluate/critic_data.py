"""Pictures with ratings for the critic: tier folders, CSV files, and a set graded by construction.

* ``DIR`` with ``high/ mid/ low/`` subfolders: every picture gets its tier's score
  (8.33 / 5 / 1.67, the centres of the thirds of 0–10).
* ``ratings.csv`` with columns ``image`` (or ``path``) and ``score`` (0–10); relative paths
  are taken from the CSV's folder.  An optional ``group`` column keeps related pictures
  (an original and its edits) in one cross-validation fold.
* :func:`graded_set`: originals are *high*, mild degradations *mid*, heavy ones *low* — the
  task whose answer is known by construction that the shipped critic learns and is tested on.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageFilter

from artforge.data.decode import BadImage, load_image
from artforge.data.images import load_folder, print_to_stderr
from artforge.errors import ArtforgeError
from artforge.evaluate.critic import LOAD_SIZE, TIER_SCORES, TIERS


def load_rated(source: str | Path, warn=print_to_stderr) -> tuple[torch.Tensor, torch.Tensor, list[str], list]:
    """-> (uint8 images N×3×S×S, scores, paths, groups) from a tier folder or a CSV."""
    source = Path(source).expanduser()
    if source.is_file() and source.suffix.lower() == ".csv":
        return _load_csv(source, warn)
    if source.is_dir():
        return _load_tier_folders(source, warn)
    raise ArtforgeError(f"{source}: give a folder with high/ mid/ low/ subfolders or a CSV of image,score rows")


def _load_tier_folders(root: Path, warn) -> tuple[torch.Tensor, torch.Tensor, list[str], list]:
    present = [t for t in TIERS if (root / t).is_dir()]
    if len(present) < 2:
        raise ArtforgeError(
            f"{root} needs at least two of the subfolders high/ mid/ low/ (found: {', '.join(present) or 'none'})"
        )
    images, scores, paths = [], [], []
    for tier in present:
        found = load_folder(root / tier, LOAD_SIZE, progress=False, warn=warn)
        images.append(found.images)
        scores += [TIER_SCORES[tier]] * len(found)
        paths += found.paths
    return torch.cat(images), torch.tensor(scores), paths, list(paths)


def _load_csv(path: Path, warn) -> tuple[torch.Tensor, torch.Tensor, list[str], list]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ArtforgeError(f"{path} has no rows")
    key = "image" if "image" in rows[0] else "path" if "path" in rows[0] else None
    if key is None or "score" not in rows[0]:
        raise ArtforgeError(f"{path} needs the columns image (or path) and score; it has {', '.join(rows[0])}")
    images, scores, paths, groups = [], [], [], []
    for line, row in enumerate(rows, start=2):
        file = Path(row[key]).expanduser()
        file = file if file.is_absolute() else path.parent / file
        try:
            score = float(row["score"])
            if not 0 <= score <= 10:
                raise ValueError("outside 0–10")
            images.append(torch.from_numpy(load_image(file, LOAD_SIZE)).permute(2, 0, 1))
        except (ValueError, BadImage) as e:
            warn(f"skipped {path.name} line {line} ({file}): {e}")
            continue
        scores.append(score)
        paths.append(str(file))
        groups.append(row.get("group") or str(file))
    if not images:
        raise ArtforgeError(f"no usable rows in {path}")
    return torch.stack(images), torch.tensor(scores), paths, groups


# ---------------------------------------------------------------------- known by construction

MILD = {"blur": 1.2, "noise": 14.0, "jpeg": 25, "contrast": 0.55, "pixelate": 3, "washout": 0.5}
HEAVY = {"blur": 4.0, "noise": 50.0, "jpeg": 4, "contrast": 0.2, "pixelate": 10, "washout": 0.1}


def degrade(picture: np.ndarray, kind: str, strength, rng: np.random.Generator) -> np.ndarray:
    """One degradation of an H×W×3 uint8 picture."""
    im = Image.fromarray(picture)
    if kind == "blur":
        im = im.filter(ImageFilter.GaussianBlur(strength))
    elif kind == "noise":
        noisy = picture.astype(np.float32) + rng.normal(0, strength, picture.shape)
        return noisy.clip(0, 255).astype(np.uint8)
    elif kind == "jpeg":
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=int(strength))
        im = Image.open(buf).convert("RGB")
    elif kind == "contrast":
        im = ImageEnhance.Contrast(im).enhance(strength)
    elif kind == "pixelate":
        small = im.resize((max(1, im.width // strength), max(1, im.height // strength)), Image.BILINEAR)
        im = small.resize(im.size, Image.NEAREST)
    elif kind == "washout":  # faded print: colour drained and lifted toward white
        im = ImageEnhance.Color(im).enhance(strength)
        im = Image.blend(im, Image.new("RGB", im.size, "white"), 0.6 * (1 - strength))
    else:
        raise ValueError(kind)
    return np.asarray(im, dtype=np.uint8)


def graded_set(
    originals: torch.Tensor, seed: int = 0, kinds: tuple[str, ...] | None = None
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Each original (high) plus one mild (mid) and one heavy (low) degradation of a random kind (of ``kinds``,
    default every one).

    Returns (images 3N×3×H×W uint8, scores, groups) — group = index of the original, so
    cross-validation never sees an original in training and its degradation held out.
    """
    rng = np.random.default_rng(seed)
    kinds = sorted(kinds or MILD)
    images, scores, groups = [], [], []
    for i, picture in enumerate(originals.permute(0, 2, 3, 1).numpy()):
        mild, heavy = rng.choice(kinds), rng.choice(kinds)
        for array, tier in (
            (picture, "high"),
            (degrade(picture, mild, MILD[mild], rng), "mid"),
            (degrade(picture, heavy, HEAVY[heavy], rng), "low"),
        ):
            images.append(torch.from_numpy(np.array(array, dtype=np.uint8)).permute(2, 0, 1))
            scores.append(TIER_SCORES[tier])
            groups.append(i)
    return torch.stack(images), torch.tensor(scores), groups
