"""GPU figures in one run: trainer images/s, feature extraction, Gatys and AdaIN on CUDA.

    PYTHONPATH=src python bench/gpu_speed.py --json OUT.json [--quick]

Runs on whatever CUDA device is visible (bench/gpu.sh calls it on the lent H200). Every
figure is the median of several timed repetitions after a warm-up, with
``torch.cuda.synchronize()`` around each timing.  Parts:

* trainer: ``dcgan`` at 64 / 128 / 256 px, batch 64, through ``Trainer.train_step`` (the
  code users run), bf16 autocast (the default on CUDA) and fp32;
* features: ``Backbone.features`` images/s for effnet-lite0 and vgg19-random at 64/224/512 px;
* gatys: seconds for 300 L-BFGS iterations at 512 px per backbone; peak GPU memory at
  2048 px with tiles (and without, where it fits);
* adain: ms per 512-px picture with the shipped decoder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))


def timed(fn, reps: int, warmup: int = 1) -> float:
    """Median seconds of ``fn()`` over ``reps`` runs, CUDA work included."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def trainer_speed(size: int, precision: str, steps: int, reps: int) -> float:
    from artforge.train.config import TrainConfig
    from artforge.train.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(
            source="builtin:shapes",
            n_builtin=256,
            model="dcgan",
            size=size,
            batch=64,
            precision=precision,
            device="cuda",
            tensorboard=False,
            progress=False,
            out=tmp,
            sample_every=10**9,
            ckpt_every=10**9,
            steps=10**9,
        )
        trainer = Trainer(cfg, Path(tmp))
        trainer.setup()

        def run():
            for _ in range(steps):
                trainer.train_step()
                trainer.step += 1

        return 64 * steps / timed(run, reps, warmup=1)


def feature_speed(name: str, size: int, reps: int) -> float:
    from artforge.backbones import create_backbone

    net = create_backbone(name, device="cuda")
    batch = 256 if size <= 224 else 64
    x = torch.rand(batch, 3, size, size, device="cuda") * 2 - 1
    return batch / timed(lambda: net.features(x), reps)


def gatys_seconds(backbone: str, size: int, iterations: int, reps: int) -> float:
    from artforge.data.paintings import make_paintings
    from artforge.pictures import to_unit
    from artforge.style.gatys import GatysConfig, stylize

    content = torch.rand(1, 3, size, size, device="cuda") * 2 - 1
    style = to_unit(torch.as_tensor(make_paintings(1, size, seed=0)).to("cuda"))
    cfg = GatysConfig(backbone=backbone, image_size=size, iterations=iterations, device="cuda", progress=False)
    return timed(lambda: stylize(content, [style], cfg), reps, warmup=0)


def gatys_peak_gib(backbone: str, size: int, tile: bool, iterations: int) -> float | str:
    from artforge.style.gatys import GatysConfig, stylize

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    content = torch.rand(1, 3, size, size, device="cuda") * 2 - 1
    style = torch.rand(1, 3, 512, 512, device="cuda") * 2 - 1
    cfg = GatysConfig(
        backbone=backbone, image_size=size, iterations=iterations, device="cuda", tile=tile, progress=False
    )
    try:
        stylize(content, [style], cfg)
    except torch.OutOfMemoryError:
        return "out of memory"
    return torch.cuda.max_memory_allocated() / 2**30


def adain_ms(size: int, reps: int) -> float:
    from artforge.style.adain import load_adain, stylize_fast

    model = load_adain(device="cuda")
    content = torch.rand(1, 3, size, size, device="cuda") * 2 - 1
    style = torch.rand(1, 3, size, size, device="cuda") * 2 - 1
    return 1000 * timed(lambda: stylize_fast(model, content, [style]), reps, warmup=2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", required=True)
    p.add_argument("--quick", action="store_true", help="tiny settings: a smoke test")
    p.add_argument("--parts", default="trainer,features,gatys,adain")
    args = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device visible")
    quick, parts = args.quick, args.parts.split(",")
    reps = 2 if quick else 5
    out: dict = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "reps": reps}

    def record(key, fn):
        try:
            out[key] = fn()
        except Exception as e:  # noqa: BLE001 — one failing part must not lose the others' figures
            out[key] = f"failed: {type(e).__name__}: {e}"
        print(f"{key}: {out[key]}", flush=True)
        Path(args.json).write_text(json.dumps(out, indent=1))

    if "trainer" in parts:
        for size in (64,) if quick else (64, 128, 256):
            for precision in ("bf16", "fp32"):
                record(
                    f"trainer/dcgan{size}/{precision}/img_per_s",
                    lambda: trainer_speed(size, precision, 3 if quick else 20, reps),
                )
    if "features" in parts:
        for name in ("effnet-lite0", "vgg19-random"):
            for size in (64,) if quick else (64, 224, 512):
                record(f"features/{name}/{size}/img_per_s", lambda: feature_speed(name, size, reps))
    if "gatys" in parts:
        for backbone in ("vgg19-random",) if quick else ("vgg19-random", "effnet-lite0", "effnet-lite0-swag"):
            record(
                f"gatys/{backbone}/512px_300it_s",
                lambda: gatys_seconds(backbone, 64 if quick else 512, 5 if quick else 300, 1 if quick else 3),
            )
        for tile in (True, False):
            record(
                f"gatys/vgg19-random/2048px/peak_gib/{'tiled' if tile else 'untiled'}",
                lambda: gatys_peak_gib("vgg19-random", 256 if quick else 2048, tile, 2 if quick else 10),
            )
    if "adain" in parts:
        record("adain/512px_ms", lambda: adain_ms(64 if quick else 512, reps * 4))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
