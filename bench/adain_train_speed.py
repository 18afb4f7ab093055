"""Seconds per AdaIN decoder training step: on the shared trainer (this checkout) against another checkout's code.

Issue 8 moved AdaIN decoder training from its own loop (``style/adain.py`` up to commit 22809d9)
onto the one trainer every model uses.  This measures that it did not get slower: the same call,
``train_adain(builtin:shapes, builtin:paintings, ...)`` at 128 px with 64-px crops, batch 8, half the
paper's width, fp32, one torch thread, on each version in its own process.  Per-step time is
(median time of 25 steps − median time of 5 steps) / 20, so loading, the first step's warm-up and
the final save cancel out.  Versions alternate (before, after, before, after, …).

    git worktree add --detach /tmp/af-old 22809d9                 # "before", once
    .venv/bin/python bench/adain_train_speed.py --before-src /tmp/af-old/src --rounds 2 --json out.json
    .venv/bin/python bench/adain_train_speed.py --quick            # smoke test: this checkout only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

AFTER_SRC = Path(__file__).resolve().parents[1] / "src"

# Runs inside the measured version's process (its src first on the path).
CHILD = """
import json, shutil, statistics, sys, tempfile, time
import torch
torch.set_num_threads(1)
from artforge.style.adain import train_adain

def timed(steps):
    out = tempfile.mkdtemp(); shutil.rmtree(out)
    start = time.perf_counter()
    train_adain("builtin:shapes", "builtin:paintings", out, steps=steps, batch=8, size=size, crop=size // 2,
                width=0.5, device="cpu", precision="fp32", n_builtin=64, save_every=100000, progress=False)
    seconds = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return seconds

short, long, size, reps = (int(v) for v in sys.argv[1:5])
timed(2)  # imports, caches
a = [timed(short) for _ in range(reps)]
b = [timed(long) for _ in range(reps)]
print(json.dumps({"short": a, "long": b, "s_per_step": (statistics.median(b) - statistics.median(a)) / (long - short)}))
"""


def measure(src: Path, short: int, long: int, size: int = 128, reps: int = 3) -> dict:
    with tempfile.TemporaryDirectory(prefix="artforge-adain-bench-") as cache:
        env = {**os.environ, "PYTHONPATH": str(src), "ARTFORGE_CACHE": cache, "OMP_NUM_THREADS": "1"}
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(short), str(long), str(size), str(reps)],
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
    if done.returncode != 0:
        sys.exit(f"{src}: failed\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before-src", type=Path, help="the other checkout's src/ (omit to time this checkout only)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds per version (default 2)")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 and 3 steps at 64 px, once, this checkout")
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args()
    short, long = (1, 3) if args.quick else (5, 25)
    versions = (
        {"after": AFTER_SRC} if args.quick or not args.before_src else {"before": args.before_src, "after": AFTER_SRC}
    )
    runs: dict[str, list[dict]] = {name: [] for name in versions}
    for _ in range(1 if args.quick else args.rounds):
        for name, src in versions.items():
            runs[name].append(measure(src, short, long, 64 if args.quick else 128, 1 if args.quick else 3))
            print(f"{name}: {runs[name][-1]['s_per_step']:.3f} s/step", file=sys.stderr)
    result = {name: statistics.median(r["s_per_step"] for r in rs) for name, rs in runs.items()}
    if "before" in result:
        result["after/before"] = result["after"] / result["before"]
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"s_per_step": result, "runs": runs, "steps": [short, long]}, indent=1))


if __name__ == "__main__":
    main()
