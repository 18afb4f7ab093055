"""Gatys style transfer on CPU: seconds per backbone at 512 px, and peak memory at 2048 px tiled vs untiled.

    PYTHONPATH=src .venv/bin/python bench/style_speed.py [--quick] [--json OUT] [--threads N]
        [--size 512] [--iterations 300] [--repeats 3] [--backbones a,b] [--memory-size 2048] [--no-memory]

Speed: content = skimage's astronaut, style = builtin:paintings #0, both at ``--size`` px (long
side), L-BFGS, ``--iterations`` iterations, default settings otherwise; the median of ``--repeats``
runs per backbone (each after a 3-iteration warm-up that loads the weights).  When a full run
would take too long, ``--time-iterations K`` times K iterations and extrapolates (said so in
the output).  Memory: each configuration runs in a fresh child process (``--child``) that reports
its own peak RSS (``ru_maxrss``) after a short run (coarsest level 2 iterations, finer levels 1
per tile; untiled: 2 iterations); L-BFGS's history grows by 2 vectors of 3·H·W floats per
iteration up to ``lbfgs_history`` (100), which the report adds analytically.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from artforge.pictures import to_unit  # noqa: E402
from artforge.style.gatys import GatysConfig, stylize  # noqa: E402
from artforge.style.io import fit_long_side, from_uint8, resize  # noqa: E402


def pictures(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    from skimage import data

    from artforge.data.paintings import make_paintings

    photo = from_uint8(data.astronaut())
    content = resize(photo, fit_long_side(photo.shape[-2:], size))
    style = to_unit(make_paintings(1, min(size, 1024), seed=0))
    return content, style


def seconds_per_run(backbone: str, size: int, iterations: int, repeats: int, time_iterations: int | None) -> dict:
    content, style = pictures(size)
    stylize(content, [style], GatysConfig(backbone=backbone, iterations=3, progress=False))  # warm-up
    timed = time_iterations or iterations
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        stylize(content, [style], GatysConfig(backbone=backbone, iterations=timed, progress=False))
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs)
    return {
        "backbone": backbone,
        "size": list(content.shape[-2:]),
        "iterations": iterations,
        "timed_iterations": timed,
        "runs_s": [round(r, 2) for r in runs],
        "seconds": round(median * iterations / timed, 1),
        "s_per_iteration": round(median / timed, 3),
        "extrapolated": timed != iterations,
    }


def child_memory(backbone: str, size: int, tile: bool, tile_size: int) -> dict:
    """Run in a fresh process: a short stylisation at ``size``; peak RSS of this process."""
    from artforge.style.tiling import stylize_large

    content, style = pictures(size)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    config = GatysConfig(backbone=backbone, iterations=2, progress=False, tile=tile, tile_size=tile_size)
    start = time.perf_counter()
    if tile:
        stylize_large(content, [style], config, fine_iterations=1)
    else:
        stylize(content, [style], config)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pixels = content.shape[-2] * content.shape[-1]
    work = min(size, tile_size) ** 2 if tile else pixels
    return {
        "backbone": backbone,
        "size": list(content.shape[-2:]),
        "tile": tile,
        "tile_size": tile_size,
        "peak_rss_gb": round(peak_kb / 2**20, 2),
        "rss_before_run_gb": round(base / 2**20, 2),
        "seconds": round(time.perf_counter() - start, 1),
        # what 100 L-BFGS pairs would add (the run above kept at most 2): 2 × 100 × 3·H·W float32
        "lbfgs_history_gb_at_100": round(2 * 100 * 3 * work * 4 / 2**30, 2),
    }


def memory(backbone: str, size: int, tile: bool, tile_size: int, threads: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        backbone,
        str(size),
        "1" if tile else "0",
        str(tile_size),
        "--threads",
        str(threads),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"backbone": backbone, "size": size, "tile": tile, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    p.add_argument("--json")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--iterations", type=int, default=300)
    p.add_argument("--time-iterations", type=int, help="time this many iterations and extrapolate")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--backbones", default="vgg19-random,effnet-lite0,effnet-lite0-swag")
    p.add_argument("--memory-size", type=int, default=2048)
    p.add_argument("--memory-backbones", default="effnet-lite0,vgg19-random")
    p.add_argument("--tile-size", type=int, default=512)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--no-speed", action="store_true")
    p.add_argument("--child", nargs=4, metavar=("BACKBONE", "SIZE", "TILE", "TILE_SIZE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        backbone, size, tile, tile_size = args.child
        print(json.dumps(child_memory(backbone, int(size), tile == "1", int(tile_size))))
        return
    if args.quick:
        args.size, args.iterations, args.repeats, args.memory_size, args.tile_size = 64, 5, 1, 160, 64
    result = {
        "torch": torch.__version__,
        "threads": args.threads,
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "speed": [],
        "memory": [],
    }
    if not args.no_speed:
        print(f"{'backbone':18s} {'size':>9s} {'iters':>5s} {'seconds':>8s} {'s/iter':>7s}")
        for name in args.backbones.split(","):
            row = seconds_per_run(name, args.size, args.iterations, args.repeats, args.time_iterations)
            result["speed"].append(row)
            note = " (extrapolated)" if row["extrapolated"] else ""
            print(
                f"{name:18s} {row['size'][1]:>4d}x{row['size'][0]:<4d} {row['iterations']:5d} "
                f"{row['seconds']:8.1f} {row['s_per_iteration']:7.3f}{note}",
                flush=True,
            )
    if not args.no_memory:
        print(f"\npeak RSS at {args.memory_size} px (tile size {args.tile_size}):")
        for name in args.memory_backbones.split(","):
            for tile in (True, False):
                row = memory(name, args.memory_size, tile, args.tile_size, args.threads)
                result["memory"].append(row)
                print(f"  {name:18s} {'tiled' if tile else 'untiled':8s} {json.dumps(row)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
