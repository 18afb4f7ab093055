"""Train the AdaIN decoder shipped in src/artforge/assets/adain-decoder (what fast style transfer uses).

    python scripts/train_default_adain.py --steps 8000 --crop 256     # the shipped decoder (make default-adain)
    python scripts/train_default_adain.py --skips --steps 1500 --crop 128 --lr 2e-4 --n-paintings 300 \
        --init-weights src/artforge/assets/adain-decoder --out runs/adain-skips --no-ship   # the skip experiment

The shipped decoder is the paper's (stride-8 features only), 8,000 steps at 256-px crops (4 minutes on an
H200; hours on a CPU).  Measured (bench/style_anchor.py, issue 13): its reconstruction of a photo with no
style at all is already covered in fine speckle — 40 channels at stride 8 do not hold a photo's fine
structure, so the decoder invents it.  ``--skips`` adds the encoder's stride-4 and stride-2 stages as
AdaIN'd decoder inputs (zero-initialised, so with ``--init-weights`` it starts as that decoder); on a
200-step CPU fine-tune it halved the reconstruction's speckle but not the stylised pictures', so it is not
shipped yet (bench/RESULTS.md).

Offline and deterministic in its inputs (seed 0):
- content: random square crops (random scale and place) of scikit-image's sample photos and, when
  Debian's wallpapers are installed (`apt-get install plasma-workspace-wallpapers gnome-backgrounds`),
  of its photographs, plus builtin:shapes pictures; written once into OUT/content-SIZEpx/;
- style: builtin:paintings (procedural painterly pictures) and random crops of Debian's artwork
  wallpapers when installed, written once into OUT/style-SIZEpx/ (--style takes a folder instead).
Every picture of bench/style_anchor.py's pairs is left out, so the bench measures pictures the
decoder never saw.
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
# astronaut, chelsea (= cat), coffee and rocket are the bench's content photos: held out.
PHOTOS = (
    "stereo_motorcycle",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "colorwheel",
    "camera",
    "brick",
    "grass",
    "gravel",
    "coins",
    "moon",
    "clock",
    "page",
)


# Debian's wallpapers (photographs, then artwork) that are not in the bench's pairs.
DEBIAN_PHOTOS = tuple(
    f"wallpaper:{n}" for n in ("ColdRipple", "DarkestHour", "Grey", "OneStandsOut", "Volna", "summer_1am")
)
DEBIAN_ART = tuple(
    f"wallpaper:{n}"
    for n in ("Cascade", "Canopee", "Cluster", "Elarun", "Kay", "Kokkini", "Opal", "Patak", "Shell", "FlyingKonqui")
) + tuple(f"gnome:{n}" for n in ("adwaita-d", "adwaita-l", "grid-d", "grid-l", "pixels-d", "pixels-l", "wood-d"))


def bench_pictures():
    """bench/style_anchor.py as a module: its picture loader and its pairs (which training must not see)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("style_anchor", ROOT / "bench" / "style_anchor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_photo(name: str) -> Image.Image:
    """A scikit-image sample picture (its loader's name; shipped in the wheel, no download) as RGB."""
    from skimage import data

    pixels = getattr(data, name)()
    return Image.fromarray(pixels[0] if isinstance(pixels, tuple) else pixels).convert("RGB")  # stereo: the left


def debian_pictures(specs: tuple[str, ...]) -> list[tuple[str, Image.Image]]:
    """The installed ones of Debian's wallpapers ``specs`` (none of the bench's), as (name, RGB)."""
    from artforge.errors import ArtforgeError

    bench = bench_pictures()
    held_out = {spec for pair in bench.PAIRS for spec in pair}
    found = []
    for spec in specs:
        assert spec not in held_out, f"{spec} is a bench picture"
        try:
            found.append((spec.partition(":")[2], bench.load_picture(spec)))
        except (ArtforgeError, OSError) as exc:
            print(f"skipping {spec}: {exc}", file=sys.stderr)
    return found


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
    """Content: crops of the photos + builtin:shapes, written once."""
    return write_set_once(
        folder,
        size,
        lambda: [(Path(name).stem, load_photo(name)) for name in PHOTOS] + debian_pictures(DEBIAN_PHOTOS),
        ("photo", crops_per_photo),
        ("builtin:shapes", "shape", n_shapes),
        seed,
        np.random.default_rng(seed),
        lambda n: f"{n * crops_per_photo} photo crops + {n_shapes} shapes at {size} px\n",
    )


def build_style(folder: Path, size: int, n_paintings: int, crops_per_art: int, seed: int) -> Path:
    """Style: crops of Debian's artwork + builtin:paintings, written once."""
    return write_set_once(
        folder,
        size,
        lambda: debian_pictures(DEBIAN_ART),
        ("art", crops_per_art),
        ("builtin:paintings", "painting", n_paintings),
        seed,
        np.random.default_rng(seed + 1),
        lambda n: f"{n} Debian artworks x {crops_per_art} crops + {n_paintings} builtin paintings at {size} px\n",
    )


def write_set_once(folder: Path, size: int, load, crops: tuple, builtin: tuple, seed: int, rng, describe) -> Path:
    """Random crops of the pictures ``load()`` returns ((name, RGB) pairs; ``crops`` = (file prefix, crops each))
    and a builtin set (``builtin`` = (source, file prefix, count)) as PNGs in ``folder``.  A folder that was
    completed (its ``.complete`` note, ``describe(number of pictures)``, beside it) is reused as it is."""
    from artforge.data.sources import open_source

    done = folder.with_name(folder.name + ".complete")  # beside the folder: inside, it would be a skipped non-picture
    if done.is_file():
        return folder
    pictures = load()
    prefix, each = crops
    for name, picture in pictures:
        for k, crop in enumerate(photo_crops(picture, each, size, rng)):
            _save_png(crop, folder / f"{prefix}-{name}-{k:03d}.png")
    source, builtin_prefix, count = builtin
    for i, pixels in enumerate(open_source(source, size, n_builtin=count, seed=seed, progress=False).images):
        _save_png(Image.fromarray(pixels.permute(1, 2, 0).numpy()), folder / f"{builtin_prefix}-{i:04d}.png")
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(done, describe(len(pictures)).encode())
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
    p.add_argument("--style", help="style pictures: builtin:NAME or a folder (default: paintings + Debian artwork)")
    p.add_argument("--n-paintings", type=int, default=1000, help="how many built-in style pictures")
    p.add_argument("--crops-per-art", type=int, default=12, help="random crops of each Debian artwork")
    p.add_argument("--skips", action="store_true", help="skip inputs from the encoder's stride-4/2 stages")
    p.add_argument("--init-weights", help="stage 2: start from this AdaIN run or export (fine-tuning)")
    p.add_argument("--crops-per-photo", type=int, default=40)
    p.add_argument("--n-shapes", type=int, default=150, help="builtin:shapes pictures among the content")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, mps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "runs" / "adain-default"))
    p.add_argument("--no-ship", action="store_true", help="do not copy the result into the package")
    args = p.parse_args()
    out = Path(args.out)
    content = build_content(out / f"content-{args.size}px", args.size, args.crops_per_photo, args.n_shapes, args.seed)
    if args.style:
        style = style_source(args.style)
    else:
        style = build_style(out / f"style-{args.size}px", args.size, args.n_paintings, args.crops_per_art, args.seed)
    note = (
        f"content: {(out / f'content-{args.size}px.complete').read_text().strip()}; style: "
        f"{(out / f'style-{args.size}px.complete').read_text().strip() if not args.style else style}; "
        f"{'skip inputs stage2, stage1' if args.skips else 'paper decoder'}"
        f"{'; fine-tuned from ' + args.init_weights if args.init_weights else ''}"
        "; made by scripts/train_default_adain.py"
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
        init_weights=args.init_weights,
        skips=args.skips,
    )
    if not args.no_ship:
        ship(out)


if __name__ == "__main__":
    main()
