"""One torchrun rank for bench/data_scale.py: run ``artforge ARGV``, then report this process's figures.

Prints one JSON line to stderr, prefixed ``PROBE``: the rank, how long ``Trainer._load_data``
took (a cold cache: the first decode on local rank 0, waiting plus loading on the others), the
whole command's time, and this process's memory from ``/proc/self/status`` and
``/proc/self/smaps_rollup``: VmHWM (peak RSS over the whole run), and ``train_*`` figures taken
at the last training batch, while the pictures are in use: RssAnon (private memory), RssFile
(file-backed pages this process has touched), Pss (shared pages divided among the processes that
map them).  File-backed pages of a shared mapping count in RssFile of every process that touched
them, but exist once in the page cache.

Which artforge it runs is whatever ``import artforge`` finds first: bench/data_scale.py sets
PYTHONPATH to the ``src`` of the version under test.

    torchrun --standalone --nproc-per-node 2 bench/_rank_probe.py train FOLDER --size 128 --steps 20 ...
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

PREFIX = "PROBE "
STATUS_FIELDS = ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem")
ROLLUP_FIELDS = ("Pss", "Pss_Anon", "Pss_File")


def proc_kb(path: str, fields: tuple[str, ...]) -> dict[str, int]:
    """``{field: kB}`` for the named ``Field:   N kB`` lines of a /proc file (empty where there is none)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        name, _, rest = line.partition(":")
        if name in fields:
            found[name] = int(rest.split()[0])
    return found


def main(argv: list[str]) -> int:
    import artforge
    from artforge.cli import main as artforge_main
    from artforge.train.trainer import Trainer

    timings: dict[str, float] = {}
    load_data = Trainer._load_data

    def timed_load_data(self, cfg):
        start = time.perf_counter()
        try:
            return load_data(self, cfg)
        finally:
            timings["load_s"] = time.perf_counter() - start

    in_training: dict[str, int] = {}
    next_batch = Trainer._next_batch

    def measured_next_batch(self):
        in_training.update(memory())  # the last call's figures are kept: the last training step
        return next_batch(self)

    # the probe's own process only
    Trainer._load_data, Trainer._next_batch = timed_load_data, measured_next_batch
    start = time.perf_counter()
    code = artforge_main(argv)
    report = {
        "rank": int(os.environ.get("RANK", 0)),
        "local_rank": int(os.environ.get("LOCAL_RANK", 0)),
        "world": int(os.environ.get("WORLD_SIZE", 1)),
        "exit_code": code,
        "artforge": str(Path(artforge.__file__).parent),
        "load_s": timings.get("load_s"),
        "total_s": time.perf_counter() - start,
        **{f"train_{k}": v for k, v in in_training.items()},
        **{f"end_{k}": v for k, v in memory().items()},
    }
    # One write: the ranks share stderr, and a single write of under 4 KiB to a pipe is never split.
    os.write(sys.stderr.fileno(), (PREFIX + json.dumps(report) + "\n").encode())
    return code


def memory() -> dict[str, int]:
    """``{Field_kb: kB}`` of this process now (VmHWM, RssAnon, RssFile, Pss, ...)."""
    figures = {**proc_kb("/proc/self/status", STATUS_FIELDS), **proc_kb("/proc/self/smaps_rollup", ROLLUP_FIELDS)}
    return {f"{k}_kb": v for k, v in figures.items()}


if __name__ == "__main__":  # the guard matters: decoding workers (forkserver) import this file as __mp_main__
    sys.exit(main(sys.argv[1:]))
