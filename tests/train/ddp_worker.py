"""One torchrun worker for tests/train/test_distributed.py (not a test module itself).

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/train/ddp_worker.py CONFIG.json \\
        [--nan-rank R --nan-from-call K]

Trains ``TrainConfig(**CONFIG)`` through the CLI's error handling, optionally poisoning the generator
(or VAE) loss with NaN on one rank from its K-th call on, then writes ``threads-<rank>.json`` (this
process's thread names once training has returned) beside CONFIG, so the test can check that no gloo
thread outlives the process group.  (A file, not stderr: the two ranks' stderr lines interleave.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def thread_names() -> list[str]:
    names = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except OSError:  # the thread ended while we looked
            pass
    return sorted(names)


def poison(method_class, name: str, rank: int, from_call: int) -> None:
    """Make ``method_class.name`` return a NaN loss on ``rank`` from its ``from_call``-th call on."""
    original = getattr(method_class, name)
    calls = {"n": 0}

    def poisoned(self, batch):
        out = original(self, batch)
        calls["n"] += 1
        if int(os.environ["RANK"]) == rank and calls["n"] >= from_call:
            out["loss"] = out["loss"] * float("nan")
        return out

    setattr(method_class, name, poisoned)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("config")
    p.add_argument("--nan-rank", type=int)
    p.add_argument("--nan-from-call", type=int, default=3)
    args = p.parse_args()
    from artforge.errors import ArtforgeError
    from artforge.methods.gan import GAN
    from artforge.methods.vae import VAE
    from artforge.train import TrainConfig, train

    cfg = TrainConfig(**json.loads(open(args.config).read()))
    if args.nan_rank is not None:
        poison(
            VAE if cfg.model == "vae" else GAN,
            "negative_elbo" if cfg.model == "vae" else "generator_loss",
            args.nan_rank,
            args.nan_from_call,
        )
    code = 0
    try:
        train(cfg)
    except ArtforgeError as exc:  # what the CLI does: one line, its exit code
        sys.stderr.write(f"artforge: error: {exc}\n")  # one write: the ranks' lines must not interleave
        code = exc.exit_code
    report = os.path.join(os.path.dirname(os.path.abspath(args.config)), f"threads-{os.environ['RANK']}.json")
    with open(report, "w") as f:
        json.dump(thread_names(), f)
    return code


if __name__ == "__main__":
    sys.exit(main())
