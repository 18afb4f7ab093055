"""Does projection find real pictures in each model better than the best of many random samples?

For every trained run given, and each of ``-n`` held-out pictures (never trained on), measure the
perceptual distance from the picture to

* its **projection** (``artforge.project``: optimised on EfficientNet-Lite0 features + pixels; DDIM
  inversion for ddpm), and
* the **best of ``--candidates`` random samples** (the closest one, for that picture),

on a backbone the projection did **not** optimise: VGG-19 with its fixed-seed random weights
(``vgg19-random``; LPIPS-like: unit-normalised channels at relu1_2, relu2_2, relu3_4, relu4_4,
mean squared difference, summed), plus the pixel MSE.  Acceptance (issue 10): projection closer than
the best random sample, for each family.  Written: a JSON and a sheet — per family, rows of target |
best random | projection.

    PYTHONPATH=src .venv/bin/python bench/projection.py runs/p-dcgan runs/p-vae … --heldout FOLDER \
        -n 12 --json bench/projection.json --sheet bench/figures/projection-sheet.png
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.data.sources import open_source  # noqa: E402
from artforge.generate import load_model  # noqa: E402
from artforge.pictures import make_grid, save_png, to_unit  # noqa: E402
from artforge.project import PerceptualDistance, project  # noqa: E402

EVAL_LAYERS = ("relu1_2", "relu2_2", "relu3_4", "relu4_4")


def best_random(model, targets: torch.Tensor, judge: PerceptualDistance, candidates: int, seed: int):
    """For each target: the distance to the closest of ``candidates`` random samples, and that sample."""
    latents = model.latents(candidates, torch.Generator().manual_seed(seed))
    pictures = torch.cat([model.decode(chunk) for chunk in latents.split(64)])
    features = judge.features(pictures)
    best_d, best_pic = [], []
    for target in targets.split(1):
        d = judge.between(features, judge.features(target))
        i = int(d.argmin())
        best_d.append(float(d[i]))
        best_pic.append(pictures[i : i + 1])
    return best_d, torch.cat(best_pic)


def measure_run(run: str, heldout: torch.Tensor, n: int, steps: int, candidates: int, seed: int, judge) -> dict:
    model = load_model(run)
    size = int(model.config["image_size"])
    targets = to_unit(heldout[:n]) if heldout.dtype == torch.uint8 else heldout[:n]
    targets = F.interpolate(targets.float(), size=(size, size), mode="area") if targets.shape[-1] != size else targets
    optimiser_distance = PerceptualDistance()
    t0 = time.perf_counter()
    projections = [project(model, t, optimiser_distance, steps=steps, seed=seed) for t in targets.split(1)]
    seconds = (time.perf_counter() - t0) / n
    projected = torch.cat([p.picture for p in projections])
    with torch.no_grad():
        proj_d = [float(judge(p, judge.features(t))[0]) for p, t in zip(projected.split(1), targets.split(1))]
    rand_d, rand_pics = best_random(model, targets, judge, candidates, seed)
    wins = sum(a < b for a, b in zip(proj_d, rand_d))
    return {
        "run": str(run),
        "model": model.config.get("model"),
        "space": projections[0].space,
        "pictures": n,
        "projection_distance": sum(proj_d) / n,
        "best_random_distance": sum(rand_d) / n,
        "projection_wins": wins,
        "projection_pixel_mse": float(F.mse_loss(projected, targets)),
        "best_random_pixel_mse": float(F.mse_loss(rand_pics, targets)),
        "seconds_per_projection": seconds,
        "_sheet": (targets, rand_pics, projected),
    }


def sheet(rows: list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]], per_row: int = 4) -> Image.Image:
    """One band per family: ``per_row`` triples target | best random | projection."""
    bands = []
    for name, targets, rand, proj in rows:
        cells = torch.cat([torch.stack([t, r, p]) for t, r, p in zip(targets[:per_row], rand, proj)])
        cells = F.interpolate(cells, size=(64, 64), mode="nearest")
        grid = make_grid(cells, ncol=3 * per_row)
        band = Image.new("RGB", (grid.width, grid.height + 18), "white")
        band.paste(grid, (0, 18))
        ImageDraw.Draw(band).text((4, 3), f"{name}: target | best of random | projection", fill="black")
        bands.append(band)
    out = Image.new("RGB", (max(b.width for b in bands), sum(b.height for b in bands)), "white")
    y = 0
    for b in bands:
        out.paste(b, (0, y))
        y += b.height
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="trained runs (any families)")
    p.add_argument("--heldout", required=True, help="pictures none of the runs trained on")
    p.add_argument("-n", type=int, default=12, help="held-out pictures per run (default 12)")
    p.add_argument("--steps", type=int, default=200, help="projection steps (default 200)")
    p.add_argument("--candidates", type=int, default=1000, help="random samples to pick the best from")
    p.add_argument("--judge-size", type=int, default=64, help="pictures are judged at this size (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    p.add_argument("--sheet", type=Path)
    args = p.parse_args(argv)
    judge = PerceptualDistance("vgg19-random", EVAL_LAYERS, size=args.judge_size)
    heldout = None
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "judge": f"vgg19-random {', '.join(EVAL_LAYERS)} at {judge.size} px (projection optimises effnet-lite0)",
        "steps": args.steps,
        "candidates": args.candidates,
        "runs": [],
    }
    rows = []
    for run in args.runs:
        size = int(load_model(run).config["image_size"])
        if heldout is None or heldout.shape[-1] != size:
            heldout = open_source(args.heldout, size, seed=0, progress=False).images
        r = measure_run(run, heldout, min(args.n, len(heldout)), args.steps, args.candidates, args.seed, judge)
        rows.append((r["model"], *r.pop("_sheet")))
        result["runs"].append(r)
        print(
            f"{r['model']:9s} ({r['space']}): projection {r['projection_distance']:.4f} vs best of "
            f"{args.candidates} random {r['best_random_distance']:.4f} (wins {r['projection_wins']}/{r['pictures']}); "
            f"pixel MSE {r['projection_pixel_mse']:.4f} vs {r['best_random_pixel_mse']:.4f}; "
            f"{r['seconds_per_projection']:.1f} s per projection",
            flush=True,
        )
    if args.sheet:
        save_png(sheet(rows), args.sheet, {"runs": args.runs})
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
