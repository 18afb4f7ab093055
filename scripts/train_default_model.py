"""Train the small model shipped in src/artforge/assets/default-model (what `make demo` samples).

    python scripts/train_default_model.py [--steps 3000]

Deterministic in its inputs (builtin:shapes, seed 0) and CPU-only; on 2 CPU cores it takes
roughly 30 minutes.  Bit-identical weights need the same torch build and CPU kernels.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from artforge.train import TrainConfig, config_for_resume, train

ROOT = Path(__file__).resolve().parents[1]
ASSET = ROOT / "src" / "artforge" / "assets" / "default-model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--out", default=str(ROOT / "runs" / "default-model"))
    args = parser.parse_args()
    cfg = TrainConfig(source="builtin:shapes", n_builtin=10000, model="dcgan", size=64, width=32, batch=64,
                      spectral_norm=True,
                      steps=args.steps, seed=0, device="cpu", diffaugment="translation,cutout", sample_every=1000,
                      ckpt_every=500, keep=20, out=args.out)
    run = Path(args.out)
    if (run / "checkpoints").is_dir():
        run = train(config_for_resume(run, {"steps": args.steps}), resume=run)  # an interrupted build continues where it stopped
    else:
        run = train(cfg)
    ASSET.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy2(run / "model" / name, ASSET / name)
    print(f"shipped {run / 'model'} -> {ASSET}")


if __name__ == "__main__":
    main()
