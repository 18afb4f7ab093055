"""ADA's augmentation probability p on a small and on a large set: does it rise where D overfits?

Karras et al. 2020 ("Training GANs with limited data", fig. 5) show p climbing on small sets and
staying low on large ones, with r_t = E[sign D(real)] held near the 0.6 target.  This trains the
same model with ``--augment ada`` for the same number of steps on ``--small`` pictures and on
``--large`` pictures of one source, and reports p and r_t over training from each run's
``stats.jsonl`` (``discriminator/ada_p``; ``discriminator/ada_rt`` is the mean sign of D(real) over
each logging interval).

    PYTHONPATH=src .venv/bin/python bench/ada_p.py --steps 1500 --json bench/ada_p.json
    PYTHONPATH=src .venv/bin/python bench/ada_p.py --steps 20 --size 32 --small 16 --large 64 --quick   # smoke
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.train import TrainConfig, train  # noqa: E402


def run(n_images: int, args: argparse.Namespace, out: Path) -> dict:
    """Train on ``n_images`` pictures with ADA; p and r_t over training from the run's stats."""
    cfg = TrainConfig(
        source=args.source,
        n_builtin=n_images,
        model=args.model,
        size=args.size,
        batch=args.batch,
        steps=args.steps,
        augment="ada",
        ada_kimg=args.ada_kimg,
        log_every=args.log_every,
        sample_every=args.steps,
        ckpt_every=args.steps,
        device="cpu",
        seed=0,
        tensorboard=False,
        progress=False,
        out=str(out / f"n{n_images}"),
    )
    started = time.perf_counter()
    run_dir = train(cfg)
    rows = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    p = [r["discriminator/ada_p"] for r in rows]
    rt = [r["discriminator/ada_rt"] for r in rows]
    half = len(rows) // 2
    return {
        "pictures": n_images,
        "seconds": round(time.perf_counter() - started, 1),
        "steps": [r["step"] for r in rows],
        "p": p,
        "rt": rt,
        "final_p": p[-1],
        "rt_median_second_half": statistics.median(rt[half:]) if rt[half:] else None,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="builtin:shapes", help="a builtin: source (n_builtin sets the count)")
    parser.add_argument("--model", default="fastgan")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--ada-kimg", type=float, default=100.0)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="smoke test: log every 5 steps")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--keep-runs", help="keep the two run folders here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.quick:
        args.log_every = 5
    with tempfile.TemporaryDirectory(prefix="artforge-ada-") as tmp:
        where = Path(args.keep_runs or tmp)
        runs = [run(n, args, where) for n in (args.small, args.large)]
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "keep_runs")},
        "runs": runs,
    }
    print(f"| pictures | steps | final p | median r_t (2nd half) | p every {args.log_every * 5} steps |")
    print("|---:|---:|---:|---:|---|")
    for r in runs:
        trail = ", ".join(f"{v:.3f}" for v in r["p"][4::5])
        rt = r["rt_median_second_half"]
        print(f"| {r['pictures']:,} | {r['steps'][-1]} | {r['final_p']:.3f} | {rt:.2f} | {trail} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
