"""Train the AdaIN decoder shipped in src/artforge/assets/adain-decoder (what fast style transfer uses).

    python scripts/train_default_adain.py                     # the shipped CPU version (about 15 min, 1 thread)
    python scripts/train_default_adain.py --steps 40000 --size 512 --crop 256 --width 1 --out runs/adain-gpu
                                                              # a full run: uses CUDA when there is a GPU

Offline and deterministic in its inputs (seed 0):
- content: random square crops (random scale and place) of the scikit-image sample photos
  (astronaut, chelsea, coffee, rocket, ...; grey ones as grey RGB) plus builtin:shapes pictures,
  written once into OUT/content-SIZEpx/;
- style: builtin:paintings (procedural painterly pictures; --style takes any folder or builtin instead).
Training runs on artforge's shared trainer (OUT is an ordinary run folder: config.yaml, checkpoints/,
model/, samples/, stats.jsonl, tb/).  Running the same command again continues an interrupted run; a
larger --steps trains further (flags that fix the data or the network need a new --out).
The export (OUT/model/config.json + model.safetensors) is copied into the package unless --no-ship.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from artforge.fileio import atomic_write, atomic_write_bytes
from artforge.models.adain import DEFAULT_ENCODER, ENCODERS
from artforge.style.adain import ASSET, train_adain

ROOT = Path(__file__).resolve().parents[1]
# scikit-image sample pictures that ship with the wheel (no download); the grey ones add texture and light.
PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "ihc.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "color.png",
    "camera.png",
    "brick.png",
    "grass.png",
    "gravel.png",
    "coins.png",
    "moon.png",
    "clock_motion.png",
    "page.png",
)


def load_photo(name: str) -> Image.Image:
    """A scikit-image sample picture (a file in its wheel; no download) as RGB."""
    from skimage import data

    with Image.open(Path(data.data_dir) / name) as im:
        return im.convert("RGB")


def photo_crops(photo: Image.Image, n: int, size: int, rng: np.random.Generator) -> list[Image.Image]:
    """``n`` square crops covering 35–100 % of the short side, resized to ``size``: many scales from one photo."""
    w, h = photo.size
    crops = []
    for _ in range(n):
        side = int(min(w, h) * rng.uniform(0.35, 1.0))
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        crops.append(photo.crop((x, y, x + side, y + side)).resize((size, size), Image.LANCZOS))
    return crops


def build_content(folder: Path, size: int, crops_per_photo: int, n_shapes: int, seed: int) -> Path:
    """Write the content pictures once; a folder that is already complete is reused as it is."""
    from artforge.data.sources import open_source

    done = folder.with_name(folder.name + ".complete")  # beside the folder: inside, it would be a skipped non-picture
    if done.is_file():
        return folder
    rng = np.random.default_rng(seed)
    for name in PHOTOS:
        for k, crop in enumerate(photo_crops(load_photo(name), crops_per_photo, size, rng)):
            _save_png(crop, folder / f"photo-{Path(name).stem}-{k:03d}.png")
    shapes = open_source("builtin:shapes", size, n_builtin=n_shapes, seed=seed, progress=False).images
    for i, pixels in enumerate(shapes):
        _save_png(Image.fromarray(pixels.permute(1, 2, 0).numpy()), folder / f"shape-{i:04d}.png")
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(done, f"{len(PHOTOS) * crops_per_photo} photo crops + {n_shapes} shapes at {size} px\n".encode())
    return folder


def _save_png(image: Image.Image, path: Path) -> None:
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))  # the temp name has no .png to go by


def style_source(requested: str) -> str:
    """builtin:paintings, or builtin:shapes (with a warning) on a checkout where it is not registered yet."""
    from artforge.data.builtin import BUILTINS

    if requested == "builtin:paintings" and "paintings" not in BUILTINS:
        print("builtin:paintings is not available here; training on builtin:shapes instead", file=sys.stderr)
        return "builtin:shapes"
    return requested


def ship(out: Path) -> None:
    for name in ("model.safetensors", "config.json"):
        atomic_write_bytes(ASSET / name, (out / "model" / name).read_bytes())
    print(f"shipped {out / 'model'} -> {ASSET}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1600, help="training steps (the shipped CPU version: 1600)")
    p.add_argument("--batch", type=int, default=8, help="content/style pairs per step (the paper: 8)")
    p.add_argument("--size", type=int, default=256, help="pictures are loaded at this size (square)")
    p.add_argument("--crop", type=int, default=96, help="random training crops of this size (the paper: 256 of 512)")
    p.add_argument("--width", type=float, default=0.5, help="decoder width; 1 = the paper's (256/128/64 channels)")
    p.add_argument("--encoder", default=DEFAULT_ENCODER, choices=sorted(ENCODERS))
    p.add_argument("--precision", default="auto", help="auto (bf16 on GPUs), fp32, bf16, fp16")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam; 1e-3 for short runs (the paper: 1e-4, 160k steps)")
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument(
        "--identity-weight",
        type=float,
        default=5.0,
        help="pixel identity loss (Park & Lee 2019), not in the AdaIN paper; 0 = off",
    )
    p.add_argument("--style", default="builtin:paintings", help="style pictures: builtin:NAME or a folder")
    p.add_argument("--n-paintings", type=int, default=1000, help="how many built-in style pictures")
    p.add_argument("--crops-per-photo", type=int, default=40)
    p.add_argument("--n-shapes", type=int, default=150, help="builtin:shapes pictures among the content")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, mps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "runs" / "adain-default"))
    p.add_argument("--no-ship", action="store_true", help="do not copy the result into the package")
    args = p.parse_args()
    out = Path(args.out)
    content = build_content(out / f"content-{args.size}px", args.size, args.crops_per_photo, args.n_shapes, args.seed)
    style = style_source(args.style)
    note = (
        f"content: {len(PHOTOS)} scikit-image photos x {args.crops_per_photo} random crops + {args.n_shapes} "
        f"builtin:shapes; style: {style}; made by scripts/train_default_adain.py"
    )
    train_adain(
        content,
        style,
        out,
        steps=args.steps,
        batch=args.batch,
        size=args.size,
        crop=args.crop,
        lr=args.lr,
        style_weight=args.style_weight,
        identity_weight=args.identity_weight,
        encoder=args.encoder,
        width=args.width,
        device=args.device,
        precision=args.precision,
        seed=args.seed,
        n_builtin=args.n_paintings,
        note=note,
    )
    if not args.no_ship:
        ship(out)


if __name__ == "__main__":
    main()
