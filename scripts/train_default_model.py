"""Train the small model shipped in src/artforge/assets/default-model (what `make demo` samples).

    python scripts/train_default_model.py [--steps 1000]

A `fastgan` — the family that won the quality race at equal wall time on this CPU (bench/RESULTS.md)
— at 64 px, made smaller than the race's default (width 12, latent 128: a 6 MB export instead of
13 MB).  Deterministic in its inputs (builtin:shapes, seed 0) and CPU-only; bit-identical weights
need the same torch build and CPU kernels.  The shipped files are replaced atomically, each on its own.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from artforge.fileio import atomic_write_bytes
from artforge.train import TrainConfig, config_for_resume, train

ROOT = Path(__file__).resolve().parents[1]
ASSET = ROOT / "src" / "artforge" / "assets" / "default-model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--out", default=str(ROOT / "runs" / "default-model"))
    args = parser.parse_args()
    cfg = TrainConfig(
        source="builtin:shapes",
        n_builtin=10000,
        model="fastgan",
        size=64,
        width=12,
        latent_dim=128,
        batch=64,
        steps=args.steps,
        seed=0,
        device="cpu",
        augment="diffaugment",
        diffaugment="color,translation,cutout",
        sample_every=1000,
        ckpt_every=500,
        keep=20,
        out=args.out,
    )
    run = Path(args.out)
    if (run / "checkpoints").is_dir():  # an interrupted build continues where it stopped
        run = train(config_for_resume(run, {"steps": args.steps}), resume=run)
    else:
        run = train(cfg)
    ship(run / "model", ASSET)
    print(f"shipped {run / 'model'} -> {ASSET}")


def ship(export: Path, asset: Path) -> None:
    """Copy the export's files into the package, each atomically (a crash never leaves half a model)."""
    for name in ("model.safetensors", "config.json"):
        atomic_write_bytes(asset / name, (export / name).read_bytes())


if __name__ == "__main__":
    main()
