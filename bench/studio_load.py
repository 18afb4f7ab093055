"""Many people at one studio: N concurrent gradio_client clients doing mixed actions for S seconds.

Starts ``artforge studio`` on 127.0.0.1 (a fresh home, the shipped model), then each client loops over a mix
of what a person does — generate, breed from two of its pictures, edit with the direction sliders, restyle
fast, rate, look at the gallery and the taste panel — until the time is up.  Reports errors (must be 0),
p50/p95 latency per action, actions per second, and the studio's resident memory at start, after each round
(``--rounds``: the same load again, to tell a leak from a working set) and at its peak.

    PYTHONPATH=src .venv/bin/python bench/studio_load.py --clients 20 --seconds 60 --json bench/studio_load.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.studio.launcher import rss_mb, start_studio_process  # noqa: E402


def ids_of(text: str) -> list[int]:
    return [int(t) for t in str(text).replace(",", " ").split()]


class Person:
    """One client: its own gradio_client session and the pictures it has made."""

    def __init__(self, url: str, index: int, photo: str, style: str):
        from gradio_client import Client, handle_file

        self.client, self.handle_file = Client(url, verbose=False), handle_file
        self.rng = random.Random(index)
        self.index, self.photo, self.style = index, photo, style
        self.mine: list[int] = []

    def act(self) -> str:
        if len(self.mine) < 2:
            return self.create()
        action = self.rng.choice(["create", "breed", "breed", "edit", "restyle", "rate", "rate", "gallery", "taste"])
        return getattr(self, action)()

    def call(self, *args, api_name: str):
        return self.client.predict(*args, api_name=api_name)

    def create(self) -> str:
        _, numbers = self.call("default", self.rng.randrange(10_000), 4, 1.0, "", api_name="/create")
        self.mine += ids_of(numbers)
        return "create"

    def breed(self) -> str:
        parents = ", ".join(map(str, self.rng.sample(self.mine, 2)))
        _, numbers = self.call(parents, 4, 0.3, "dimension", self.rng.randrange(1000), True, api_name="/breed")
        self.mine += ids_of(numbers)
        return "breed"

    def edit(self) -> str:
        amounts = [self.rng.uniform(-2, 2) for _ in range(8)]
        _, new = self.call(self.rng.choice(self.mine), "", *amounts, api_name="/edit")
        self.mine.append(int(new))
        return "edit"

    def restyle(self) -> str:
        self.call(
            self.handle_file(self.photo), "", [self.handle_file(self.style)], "", 0.8, False, None, None,
            api_name="/restyle_fast",
        )  # fmt: skip
        return "restyle_fast"

    def rate(self) -> str:
        self.call(self.rng.choice(self.mine), self.rng.randint(0, 10), api_name="/rate")
        return "rate"

    def gallery(self) -> str:
        self.call(self.rng.choice(["new", "rating"]), 48, api_name="/gallery")
        return "gallery"

    def taste(self) -> str:
        self.call(api_name="/taste")
        return "taste"


def run_client(url, index, photo, style, stop_at, latencies, errors, lock) -> None:
    person = Person(url, index, photo, style)
    while time.time() < stop_at:
        t0 = time.perf_counter()
        try:
            action = person.act()
        except Exception as exc:  # noqa: BLE001 — every failure is counted and shown
            with lock:
                errors.append(f"client {index}: {type(exc).__name__}: {exc}"[:300])
            continue
        with lock:
            latencies[action].append(time.perf_counter() - t0)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--rounds", type=int, default=1, help="run the load this many times back to back (leak check)")
    p.add_argument("--home", type=Path, help="studio home (default: a new temp folder)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="studio-load-"))
    home = args.home or work / "home"
    rng = np.random.default_rng(0)
    photo, style = work / "photo.png", work / "style.png"
    Image.fromarray(rng.integers(0, 256, (192, 256, 3), dtype=np.uint8)).save(photo)
    Image.fromarray((np.indices((128, 128)).sum(0) % 32 * 8).astype(np.uint8)[..., None].repeat(3, 2)).save(style)
    env = {**os.environ, "GRADIO_TEMP_DIR": str(work / "gradio")}
    proc, url = start_studio_process(home, work / "no-runs", work / "studio.log", env)
    try:
        rss_start = rss_mb(proc.pid)
        latencies, errors, lock = defaultdict(list), [], threading.Lock()
        peak, sampling = [rss_start], threading.Event()
        sampler = threading.Thread(target=_sample_rss, args=(proc.pid, peak, sampling), daemon=True)
        sampler.start()
        rss_after_round, t0 = [], time.time()
        for _ in range(args.rounds):  # the same load again: memory that keeps growing round after round is a leak
            stop_at = time.time() + args.seconds
            threads = [
                threading.Thread(
                    target=run_client, args=(url, i, str(photo), str(style), stop_at, latencies, errors, lock)
                )
                for i in range(args.clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rss_after_round.append(round(rss_mb(proc.pid)))
        elapsed = time.time() - t0
        sampling.set()
    finally:
        proc.kill()
        proc.wait()
    result = {
        "command": "bench/studio_load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "errors": len(errors),
        "error_examples": errors[:5],
        "actions": sum(len(v) for v in latencies.values()),
        "actions_per_s": round(sum(len(v) for v in latencies.values()) / elapsed, 2),
        "rounds": args.rounds,
        "rss_mb": {
            "start": round(rss_start),
            "after_each_round": rss_after_round,
            "peak": round(max(peak + rss_after_round)),
        },
        "latency_s": {
            name: {"n": len(v), "p50": round(statistics.median(v), 2), "p95": round(_p95(v), 2)}
            for name, v in sorted(latencies.items())
        },
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _sample_rss(pid: int, peak: list[float], stop: threading.Event) -> None:
    while not stop.wait(0.5):
        peak.append(rss_mb(pid))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
