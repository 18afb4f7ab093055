"""Do GANSpace directions change the pictures more than random directions of the same length?

For every trained run: compute the first ``-k`` directions (``artforge.directions``), then for
``--seeds`` random latents measure the RMS picture change when a latent moves by +2σ along
direction i, against the same for ``--random`` random directions of the same norm.  Acceptance
(issue 10): the first directions change the pictures more.  Also written: a figure with the strips
of directions 0–2 for each run (4 seeds, −3σ … +3σ), to look at.

    PYTHONPATH=src .venv/bin/python bench/directions.py runs/p-dcgan runs/p-stylegan … \
        --json bench/directions.json --figure bench/figures/directions.png
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.directions import STRIP_OFFSETS, compute_directions, edit_strip  # noqa: E402
from artforge.generate import load_model  # noqa: E402
from artforge.pictures import make_grid, save_png  # noqa: E402

AMOUNT = 2.0  # standard deviations moved


def rms_change(model, latents: torch.Tensor, vector: torch.Tensor) -> float:
    before = torch.cat([model.decode(c) for c in latents.split(64)])
    moved = latents + (vector if latents.dim() == 2 else vector.view(1, 1, -1))
    after = torch.cat([model.decode(c) for c in moved.split(64)])
    return float((after - before).square().mean().sqrt())


def measure_run(run: str, k: int, seeds: int, randoms: int, seed: int) -> tuple[dict, Image.Image]:
    model = load_model(run)
    t0 = time.perf_counter()
    found = compute_directions(model, k=k, seed=seed)
    seconds = time.perf_counter() - t0
    latents = model.latents(seeds, torch.Generator().manual_seed(seed + 1))
    g = torch.Generator().manual_seed(seed + 2)
    along = [rms_change(model, latents, AMOUNT * v) for v in found.vectors[: min(3, k)]]
    random_changes = []
    for v in found.vectors[: min(3, k)]:
        r = torch.randn(randoms, v.numel(), generator=g)
        r = r / r.norm(dim=1, keepdim=True) * v.norm()
        random_changes.append(sum(rms_change(model, latents, AMOUNT * x) for x in r) / randoms)
    strips = [make_grid(edit_strip(model, latents[:4], found, i), ncol=len(STRIP_OFFSETS)) for i in range(min(3, k))]
    band = Image.new("RGB", (sum(s.width for s in strips) + 12 * (len(strips) - 1), strips[0].height + 18), "white")
    x = 0
    for s in strips:
        band.paste(s, (x, 18))
        x += s.width + 12
    name = model.config.get("model")
    ImageDraw.Draw(band).text((4, 3), f"{name}: directions 0, 1, 2 (-3 sd ... +3 sd)", fill="black")
    result = {
        "run": str(run),
        "model": name,
        "space": found.space,
        "samples": found.samples,
        "explained": [round(float(e), 4) for e in found.explained],
        "seconds": seconds,
        "rms_change_along": along,
        "rms_change_random_same_norm": random_changes,
        "ratio": [a / b for a, b in zip(along, random_changes)],
    }
    return result, band


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("-k", type=int, default=10, help="directions computed (default 10)")
    p.add_argument("--seeds", type=int, default=64, help="latents moved (default 64)")
    p.add_argument("--random", type=int, default=8, help="random directions per compared direction (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    p.add_argument("--figure", type=Path)
    args = p.parse_args(argv)
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "amount_sigma": AMOUNT,
        "runs": [],
    }
    bands = []
    for run in args.runs:
        r, band = measure_run(run, args.k, args.seeds, args.random, args.seed)
        result["runs"].append(r)
        bands.append(band)
        ratios = ", ".join(f"{x:.2f}" for x in r["ratio"])
        print(f"{r['model']:9s} ({r['space']}): explained {r['explained'][:3]}; change vs random: {ratios}", flush=True)
    if args.figure:
        fig = Image.new("RGB", (max(b.width for b in bands), sum(b.height + 8 for b in bands)), "white")
        y = 0
        for b in bands:
            fig.paste(b, (0, y))
            y += b.height + 8
        save_png(fig, args.figure, {"runs": args.runs})
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
