"""Feature-extraction speed per backbone on CPU, and FID time for 10k vs 10k features.

    PYTHONPATH=src .venv/bin/python bench/feature_speed.py [--quick] [--json OUT]

For each registered offline backbone (``effnet-lite0``, ``vgg19-random``; ``vgg19`` has the
same cost as ``vgg19-random``) and size (64, 224, 512 px): images/s through
``Backbone.features`` at the backbone's default layers, median of several timed batches
after a warm-up.  FID: ``artforge.evaluate.fid`` on two random 10,000 × 1,280 feature sets
(the size of effnet-lite0's pooled vector), median of 3.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from artforge.backbones import create_backbone  # noqa: E402
from artforge.evaluate import fid  # noqa: E402


def images_per_second(name: str, size: int, batch: int, reps: int) -> float:
    net = create_backbone(name)
    x = torch.rand(batch, 3, size, size) * 2 - 1
    net.features(x)  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        net.features(x)
        times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


def fid_seconds(n: int, dim: int, reps: int) -> float:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g) + 0.1
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fid(a, b)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    p.add_argument("--json")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    sizes = (32, 64) if args.quick else (64, 224, 512)
    result = {"torch": torch.__version__, "threads": args.threads, "images_per_s": {}}
    print(f"{'backbone':14s} {'size':>5s} {'img/s':>9s}")
    for name in ("effnet-lite0", "vgg19-random"):
        for size in sizes:
            batch = 2 if args.quick else {64: 32, 224: 8, 512: 2}[size]
            ips = images_per_second(name, size, batch, reps=1 if args.quick else 3)
            result["images_per_s"][f"{name}@{size}"] = ips
            print(f"{name:14s} {size:5d} {ips:9.1f}", flush=True)
    n = 500 if args.quick else 10_000
    result["fid_seconds"] = {"n": n, "dim": 1280, "seconds": fid_seconds(n, 1280, 1 if args.quick else 3)}
    print(f"FID {n} vs {n} × 1280: {result['fid_seconds']['seconds']:.2f} s (features given)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
