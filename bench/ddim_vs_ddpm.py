"""Is 50-step DDIM as good as 250-step DDPM sampling of the same diffusion model?  KID and FID, and time.

For a trained ``ddpm`` run, N pictures are drawn from the same N starting latents (fixed seed) by each
sampler in ``--samplers`` (``NAME:STEPS``, ``ddim`` deterministic, ``ddpm`` ancestral) and measured
against N of the run's training pictures in the EfficientNet-Lite0 pooled feature space (the
project's default; ``artforge.evaluate``).  Acceptance (issue 10): KID of ddim:50 within 20 % of
ddpm:250.  Also written: a grid of the first 32 pictures of each sampler side by side.

    PYTHONPATH=src .venv/bin/python bench/ddim_vs_ddpm.py runs/ddpm32 --real FOLDER -n 500 \
        --json bench/ddim_vs_ddpm.json --grid bench/figures/ddim-vs-ddpm.png
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.data.sources import open_source  # noqa: E402
from artforge.evaluate.features import extract_features  # noqa: E402
from artforge.evaluate.metrics import fid, kid  # noqa: E402
from artforge.generate import configure_sampling, load_model  # noqa: E402
from artforge.pictures import make_grid, save_png  # noqa: E402


def draw(model, latents: torch.Tensor, sampler: str, steps: int) -> tuple[torch.Tensor, float]:
    configure_sampling(model, steps, sampler)
    t0 = time.perf_counter()
    pictures = torch.cat([model.decode(chunk) for chunk in latents.split(64)])
    return pictures, time.perf_counter() - t0


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="a trained ddpm run or export")
    p.add_argument("--real", required=True, help="the training pictures (folder or builtin:NAME)")
    p.add_argument("-n", type=int, default=500, help="pictures per sampler (and real pictures)")
    p.add_argument("--samplers", default="ddim:50,ddpm:250", help="NAME:STEPS,… (default ddim:50,ddpm:250)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    p.add_argument("--grid", type=Path)
    args = p.parse_args(argv)
    model = load_model(args.run)
    size = int(model.config["image_size"])
    real = open_source(args.real, size, seed=0, progress=False).images
    pick = torch.randperm(len(real), generator=torch.Generator().manual_seed(args.seed))[: args.n]
    real_features = extract_features(real[pick])
    latents = model.latents(args.n, torch.Generator().manual_seed(args.seed))
    result = {
        "run": str(args.run),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "n": args.n,
        "features": "effnet-lite0 pool, 1280-d, 224 px",
        "samplers": {},
    }
    grids = []
    for spec in args.samplers.split(","):
        name, _, steps = spec.partition(":")
        pictures, seconds = draw(model, latents, name, int(steps))
        features = extract_features(pictures)
        k, k_std = kid(real_features, features)
        result["samplers"][spec] = {
            "kid": k,
            "kid_std": k_std,
            "fid": fid(real_features, features),
            "seconds": seconds,
            "seconds_per_picture": seconds / args.n,
        }
        print(
            f"{spec}: KID {k * 1e3:.2f} ± {k_std * 1e3:.2f} ×10⁻³, FID {result['samplers'][spec]['fid']:.1f}, "
            f"{seconds:.0f} s",
            flush=True,
        )
        grids.append(make_grid(pictures[:32], ncol=8))
    if len(result["samplers"]) >= 2:
        first, second = list(result["samplers"].values())[:2]
        result["kid_ratio_first_to_second"] = first["kid"] / second["kid"]
    if args.grid:
        width = sum(g.width for g in grids) + 8 * (len(grids) - 1)
        from PIL import Image

        sheet = Image.new("RGB", (width, max(g.height for g in grids)), "white")
        x = 0
        for g in grids:
            sheet.paste(g, (x, 0))
            x += g.width + 8
        save_png(sheet, args.grid, {"samplers": args.samplers})
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
