"""AdaIN fast style transfer on CPU: milliseconds per stylised picture.

    PYTHONPATH=src .venv/bin/python bench/adain_speed.py [--size 512] [--threads 2] [--runs 7] [--json OUT]

Times ``stylize_fast`` on a SIZE×SIZE content with a SIZE×SIZE style (both encoded on every call, as
stylising one picture from the CLI does), median of ``--runs`` calls after one warm-up, and the parts:
content encoding, style encoding, decoding.  Rows: the shipped decoder, plus an untrained decoder of
the same width on every other offline encoder (same FLOPs as a trained one), each in fp32 and — on
CPUs with native bf16 (AVX512-BF16/AMX) — bf16, which ``load_adain`` picks there by default.
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

from artforge.style.adain import ENCODERS, build_model, load_adain, stylize_fast  # noqa: E402
from artforge.train.precision import cpu_has_fast_bf16  # noqa: E402


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up: oneDNN picks its kernels on the first call
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def time_model(model, size: int, runs: int) -> dict[str, float]:
    gen = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, size, size, generator=gen) * 2 - 1
    style = torch.rand(1, 3, size, size, generator=gen) * 2 - 1
    tap = model.spec.tap
    with torch.no_grad():
        features = model.encode(content, (tap,))[tap]
        return {
            "total": median_ms(lambda: stylize_fast(model, content, [style]), runs),
            "encode content": median_ms(lambda: model.encode(content, (tap,)), runs),
            "encode style": median_ms(lambda: model.encode(style, (tap,)), runs),
            "decode": median_ms(lambda: model.decode(features), runs),
        }


def variants(decoder: str | None, quick: bool):
    shipped = load_adain(decoder)
    yield f"shipped ({shipped.encoder_name}, width {shipped.config.get('training', {}).get('width', '?')})", shipped
    if quick:
        return
    width = float(shipped.config.get("training", {}).get("width", 0.5))
    for name in ENCODERS:
        if name not in (shipped.encoder_name, "vgg19"):  # vgg19 costs what vgg19-random costs
            yield f"untrained ({name}, width {width})", build_model(name, width)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--decoder", help="a train_adain folder (default: the shipped decoder)")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="64 px, 1 run, shipped decoder only: a smoke test")
    p.add_argument("--json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    size, runs = (64, 1) if args.quick else (args.size, args.runs)
    precisions = ["fp32"] + (["bf16"] if cpu_has_fast_bf16() else [])
    result = {"torch": torch.__version__, "threads": args.threads, "size": size, "runs": runs, "ms": {}}
    print(f"{'variant':40s} {'prec':5s} {'total':>8s} {'enc c':>8s} {'enc s':>8s} {'decode':>8s}  (ms, median)")
    for label, model in variants(args.decoder, args.quick):
        for precision in precisions:
            model.precision = precision
            ms = time_model(model, size, runs)
            result["ms"][f"{label} {precision}"] = ms
            print(f"{label:40s} {precision:5s} " + " ".join(f"{v:8.0f}" for v in ms.values()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
