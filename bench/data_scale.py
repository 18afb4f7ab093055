"""Loading a big folder under torchrun: peak memory per rank and first-decode time, before and after.

Issue 8, item 3 ("scale past RAM").  *Before* (git commit 22809d9) every rank held its own
N × 3 × S × S array in private memory (rank 0 decoded it in one process, the others ``np.load``-ed
the cache).  *After* (this checkout), worker processes decode straight into a raw cache file that
every rank maps, so the pictures live once per machine in the page cache.

What it does:

1. Builds, once, a deterministic folder of ``--n`` pictures (default 20,000) rendered from
   artforge's built-in shapes (3 in 4) and paintings (1 in 4): 160–256 px, JPEG (every 10th a
   PNG, every 7th cropped to 4:3), in sub-folders of 1,000, a caption sidecar for every 5th; in
   parallel; under ``--folder`` (default ``/tmp/artforge-data-scale-N``, never in the repository).
   A ``.complete`` marker lets later runs reuse it.
2. For each version (``before`` = ``--before-src``, a worktree of 22809d9; ``after`` = this
   checkout's ``src``) and each rank count K in ``--ranks``, runs real
   ``torchrun --standalone --nproc-per-node K bench/_rank_probe.py train FOLDER --size 128 --steps 20
   --model dcgan --width 8 --batch 8 --precision fp32 ...`` with PYTHONPATH pointing at that ``src``:
   * **cold**: a fresh, empty ``ARTFORGE_CACHE``: local rank 0 decodes the folder (the trainer's
     ``_load_data``), the other ranks wait, then load the cache; ``--cold-runs`` times;
   * **warm**: again on the cache the last cold run left (pages hot); ``--warm-runs`` times.
   Each rank reports (bench/_rank_probe.py) ``_load_data`` seconds and its /proc figures.
3. Prints a table of medians over runs — rank 0's data-load time (the first decode when cold),
   the largest per-rank VmHWM (peak RSS), RssAnon and RssFile at the last training step, the sum of the
   ranks' Pss (shared pages counted once per machine), and torchrun's wall
   time — with after/before ratios, and writes every run to ``--json``.

The picture files themselves stay in the page cache between runs (no root to drop caches), so
"cold" means an empty artforge cache, not a cold disk: decoding is CPU-bound here.

Setup and use (from the repository root)::

    git worktree add --detach /tmp/artforge-before 22809d9        # the "before" code, once
    .venv/bin/python bench/data_scale.py --json bench/data_scale.json
    .venv/bin/python bench/data_scale.py --quick --json /tmp/q.json   # smoke test: 300 pictures, 1 run
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "bench" / "_rank_probe.py"
AFTER_SRC = ROOT / "src"
DEFAULT_BEFORE_SRC = Path("/tmp/artforge-before/src")
RECIPE = 1  # bump when the rendered folder changes, so an old one is rebuilt
CHUNK = 50  # pictures per rendering task (one size, one seed)
SIZE = 128


# --------------------------------------------------------------------------- the folder


def render_chunk(folder: str, k: int, n: int) -> None:
    """Pictures ``k * CHUNK ..`` (at most ``n`` in all): one seed and one size per chunk, so it is deterministic."""
    sys.path.insert(0, str(AFTER_SRC))
    from PIL import Image

    from artforge.data.builtin import make_shapes
    from artforge.data.paintings import make_paintings_captioned

    count = min(CHUNK, n - k * CHUNK)
    side = 160 + (k * 37) % 97  # 160 .. 256 px
    make = make_paintings_captioned if k % 4 == 3 else make_shapes
    pictures, captions = make(count, side, seed=10_000 + k)
    for i in range(count):
        index = k * CHUNK + i
        path = Path(folder) / f"{index // 1000:02d}" / f"{index:06d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(pictures[i])
        if index % 7 == 0:
            picture = picture.crop((0, 0, side, side * 3 // 4))
        if index % 10 == 0:
            picture.save(path.with_suffix(".png"))
        else:
            picture.save(path.with_suffix(".jpg"), quality=90)
        if index % 5 == 0:
            path.with_suffix(".txt").write_text(captions[i] + "\n", encoding="utf-8")


def build_folder(folder: Path, n: int, jobs: int) -> None:
    """Render the folder unless a complete one with the same recipe is there."""
    spec = {"n": n, "recipe": RECIPE}
    complete, building = folder / ".complete", folder / ".building"
    if complete.exists() and json.loads(complete.read_text()) == spec:
        return
    if folder.exists() and any(folder.iterdir()):
        if not (complete.exists() or building.exists()):
            sys.exit(f"{folder} is not empty and was not made by this bench; pass another --folder")
        shutil.rmtree(folder)  # ours, from another recipe or an interrupted build
    folder.mkdir(parents=True, exist_ok=True)
    building.write_text(json.dumps(spec))
    start = time.perf_counter()
    chunks = range((n + CHUNK - 1) // CHUNK)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(render_chunk, [str(folder)] * len(chunks), chunks, [n] * len(chunks)))
    building.unlink()
    complete.write_text(json.dumps(spec))
    print(f"rendered {n:,} pictures into {folder} in {time.perf_counter() - start:.0f} s", file=sys.stderr)


# --------------------------------------------------------------------------- one torchrun


def torchrun(src: Path, ranks: int, folder: Path, cache: Path, steps: int) -> dict:
    """One ``artforge train`` under torchrun with ``src`` first on the path; every rank's probe report."""
    with tempfile.TemporaryDirectory(prefix="artforge-data-scale-run-") as out:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(ranks)]
        flags = f"--size {SIZE} --steps {steps} --model dcgan --width 8 --batch 8 --precision fp32 --no-tensorboard"
        flags += " --no-progress --sample-every 100000 --ckpt-every 100000"
        command = [*launcher, str(PROBE), "train", str(folder), *flags.split(), "--out", str(Path(out) / "run")]
        env = {**os.environ, "PYTHONPATH": str(src), "ARTFORGE_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - start
    reports = probe_reports(done.stderr)
    if done.returncode != 0 or len(reports) != ranks:
        sys.exit(f"torchrun failed (exit {done.returncode}, {len(reports)} of {ranks} reports):\n{done.stderr[-4000:]}")
    wrong = [r["artforge"] for r in reports if Path(r["artforge"]).resolve() != (src / "artforge").resolve()]
    if wrong:
        sys.exit(f"the ranks imported artforge from {wrong[0]}, not {src}")
    return {"wall_s": wall, "ranks": sorted(reports, key=lambda r: r["rank"])}


def probe_reports(stderr: str) -> list[dict]:
    """Every rank's ``PROBE {...}`` report, wherever it sits in the ranks' shared stderr."""
    decoder, reports = json.JSONDecoder(), []
    for piece in stderr.split("PROBE ")[1:]:
        if piece.startswith("{"):
            reports.append(decoder.raw_decode(piece)[0])
    return reports


def measure(src: Path, ranks: int, folder: Path, steps: int, cold_runs: int, warm_runs: int) -> dict:
    """``cold_runs`` runs on fresh caches, then ``warm_runs`` on the last one's cache."""
    runs: dict[str, list] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="artforge-data-scale-cache-") as caches:
        for i in range(cold_runs):
            cache = Path(caches) / f"cold{i}"
            runs["cold"].append(torchrun(src, ranks, folder, cache, steps))
            print(f"  cold {i + 1}/{cold_runs}: {summary_line(runs['cold'][-1])}", file=sys.stderr)
        for i in range(warm_runs):
            runs["warm"].append(torchrun(src, ranks, folder, cache, steps))
            print(f"  warm {i + 1}/{warm_runs}: {summary_line(runs['warm'][-1])}", file=sys.stderr)
    return runs


def summary_line(run: dict) -> str:
    return (
        ", ".join(
            f"rank {r['rank']}: load {r['load_s']:.1f} s, VmHWM {mib(r['end_VmHWM_kb']):.0f} MiB, "
            f"RssAnon {mib(r['train_RssAnon_kb']):.0f} MiB, RssFile {mib(r['train_RssFile_kb']):.0f} MiB"
            for r in run["ranks"]
        )
        + f"; wall {run['wall_s']:.1f} s"
    )


def mib(kb: float) -> float:
    """/proc's "kB" figures are KiB."""
    return kb / 1024


# --------------------------------------------------------------------------- figures


METRICS = {  # name -> (unit, figure of one run)
    "load_s (rank 0)": ("s", lambda run: run["ranks"][0]["load_s"]),
    "load_s (slowest rank)": ("s", lambda run: max(r["load_s"] for r in run["ranks"])),
    "peak RSS per rank (VmHWM, max)": ("MiB", lambda run: mib(max(r["end_VmHWM_kb"] for r in run["ranks"]))),
    "RssAnon in training (max rank)": ("MiB", lambda run: mib(max(r["train_RssAnon_kb"] for r in run["ranks"]))),
    "RssFile in training (max rank)": ("MiB", lambda run: mib(max(r["train_RssFile_kb"] for r in run["ranks"]))),
    "Pss in training (sum of ranks)": ("MiB", lambda run: mib(sum(r.get("train_Pss_kb", 0) for r in run["ranks"]))),
    "torchrun wall": ("s", lambda run: run["wall_s"]),
}


def medians(runs: list[dict]) -> dict[str, float]:
    return {name: statistics.median(figure(run) for run in runs) for name, (_unit, figure) in METRICS.items()}


def table(results: dict, ranks: list[int], versions: list[str]) -> tuple[str, list[dict]]:
    rows, lines = [], []
    header = f"{'ranks':>5} {'cache':<5} {'metric':<40} " + " ".join(f"{v:>10}" for v in versions)
    header += f" {'after/before':>12}" if versions == ["before", "after"] else ""
    lines.append(header)
    for k in ranks:
        for kind in ("cold", "warm"):
            per_version = {v: medians(results[v][str(k)][kind]) for v in versions if results[v][str(k)][kind]}
            if len(per_version) != len(versions):
                continue
            for name, (unit, _figure) in METRICS.items():
                values = {v: per_version[v][name] for v in versions}
                row = {"ranks": k, "cache": kind, "metric": name, "unit": unit, **values}
                line = f"{k:>5} {kind:<5} {name + ' [' + unit + ']':<40} " + " ".join(
                    f"{values[v]:>10.1f}" for v in versions
                )
                if versions == ["before", "after"] and values["before"]:
                    row["ratio"] = values["after"] / values["before"]
                    line += f" {row['ratio']:>12.2f}"
                rows.append(row)
                lines.append(line)
    return "\n".join(lines), rows


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": model,
        "cpus": cpus,
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "loadavg_1min": os.getloadavg()[0],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000, help="pictures in the folder (default 20,000)")
    p.add_argument("--folder", type=Path, help="where the pictures are rendered (default /tmp/artforge-data-scale-N)")
    p.add_argument(
        "--before-src",
        type=Path,
        default=DEFAULT_BEFORE_SRC,
        help=f"src of the 'before' worktree (default {DEFAULT_BEFORE_SRC})",
    )
    p.add_argument("--versions", nargs="+", default=["before", "after"], choices=["before", "after"])
    p.add_argument("--ranks", nargs="+", type=int, default=[1, 2], help="processes per torchrun (default 1 2)")
    p.add_argument("--steps", type=int, default=20, help="training steps per run (default 20)")
    p.add_argument("--cold-runs", type=int, default=2, help="runs on an empty cache per cell (default 2)")
    p.add_argument("--warm-runs", type=int, default=3, help="runs on a filled cache per cell (default 3)")
    p.add_argument("--jobs", type=int, default=os.cpu_count(), help="processes rendering the folder")
    p.add_argument("--quick", action="store_true", help="smoke test: 300 pictures, 5 steps, one run of each")
    p.add_argument("--json", type=Path, help="write every run and the table here")
    args = p.parse_args()
    if args.quick:
        args.n, args.steps, args.cold_runs, args.warm_runs = 300, 5, 1, 1
    folder = args.folder or Path(tempfile.gettempdir()) / f"artforge-data-scale-{args.n}"
    sources = {"before": args.before_src, "after": AFTER_SRC}
    if "before" in args.versions and not (args.before_src / "artforge").is_dir():
        sys.exit(
            f"no 'before' code at {args.before_src}: run `git worktree add --detach {args.before_src.parent} "
            f"22809d9` first (or pass --versions after)"
        )

    build_folder(folder, args.n, args.jobs)
    at_start = machine()
    results: dict = {v: {} for v in args.versions}
    for k in args.ranks:
        for version in args.versions:
            print(f"{version}, {k} rank(s):", file=sys.stderr)
            results[version][str(k)] = measure(sources[version], k, folder, args.steps, args.cold_runs, args.warm_runs)
    text, rows = table(results, args.ranks, args.versions)
    print(
        f"\n{args.n:,} pictures at {SIZE} px (N·3·S² = {args.n * 3 * SIZE * SIZE / 2**20:,.0f} MiB); medians of "
        f"{args.cold_runs} cold and {args.warm_runs} warm runs per cell\n"
    )
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "machine": at_start,
                    "loadavg_1min_at_end": os.getloadavg()[0],
                    "n": args.n,
                    "size": SIZE,
                    "steps": args.steps,
                    "folder": str(folder),
                    "cold_runs": args.cold_runs,
                    "warm_runs": args.warm_runs,
                    "sources": {v: str(sources[v]) for v in args.versions},
                    "table": rows,
                    "runs": results,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
