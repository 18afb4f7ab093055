"""The quality race: what each model reaches in the same wall-clock budget on this CPU, measured by FID.

Every contestant trains on the same real folder for the same wall-clock budget, one after the
other (never concurrently, all cores to each: ``torch.set_num_threads(os.cpu_count())``), and at
every budget in ``--minutes`` (``10,40``: one run, snapshots at 10 and at 40 minutes) its samples
are measured against the real pictures.  The clock is checked after every step and paused while a
snapshot is measured; set-up (building the networks, decoding the pictures) is outside the budget
but recorded.

* **data** — with no ``--source``, the bench assembles a real folder without network:
  ``builtin:glyphs`` at 64 px, i.e. A–Z, a–z, 0–9 in every installed font (every glyph a font
  really has; 22 DejaVu fonts × 62 = 1,364 pictures on the reference machine), written as PNGs by
  ``artforge.data.prepare`` into ``DATA_DIR/glyphs64/``, plus ``DATA_DIR/glyphs64-100/``, a seeded
  random 100-picture subset (copies) for the low-data race (``--train-on subset``).
  ``DATA_DIR/manifest.json`` and the result JSON say exactly what the pictures are.
* **baseline** — the plain DCGAN loop of the pytorch/examples recipe (``dcgan/main.py``), written
  below in plain fp32: ``create_model("dcgan", image_size=64, latent_dim=100, width=64)`` (batch-norm
  G and D, no spectral norm, N(0, 0.02) initialisation), two ``Adam(lr=2e-4, betas=(0.5, 0.999))``,
  BCE-with-logits (the softplus "nsgan" loss), batch 64 from a fresh random permutation every epoch
  (``DataLoader(shuffle=True, drop_last=True)``), the G step reusing the D step's fake batch as the
  recipe does, no EMA, no augmentation.  Its samples come straight from G **in train mode** (batch
  statistics over chunks of 64), as the recipe's ``netG(fixed_noise)`` does.
* **artforge:NAME** — the :class:`artforge.train.trainer.Trainer` with the ``TrainConfig`` overrides
  of ``CONTESTANTS[NAME]`` (``default`` = ``{}`` is what ``artforge train FOLDER`` picks) on top of the
  common settings (the folder, size 64, device cpu, seed 0, no progress bar, no TensorBoard, no grid or
  checkpoint inside the budget), driven step by step through ``setup()`` / ``train_step()``.  Its
  samples come from the EMA sampler (``Trainer._sampling_method``: EMA weights, batch-norm statistics
  refreshed for them).  ``--define NAME='{"model": "dcgan", ...}'`` adds a contestant.

Measured at each budget: steps, images/s (steps × batch / training seconds), then N =
``min(--eval-n, pictures)`` samples (fixed seed) against N real pictures (seeded choice) in the
EfficientNet-Lite0 feature space (pooled 1280-d, 224 px; ``artforge.evaluate.compare``): FID, KID ± std,
improved precision/recall (k = 3) and the memorisation check (each sample's distance to its nearest
training picture over the median nearest-neighbour distance within the training set, in feature and
in 32-px pixel space; below 0.3 flags a likely copy), against the whole training set.  Steps per
budget are only comparable on a quiet machine: the 1-minute load average at each contestant's start
and end is recorded with it.  FID at N below
1,280 is biased upward and only comparable at equal N: every row of a table has the same N.

Written under ``--out``: ``BUDGET/NAME.png`` (8×8 samples, fixed seed), ``race-BUDGET.png`` (all
contestants' grids side by side, labelled), ``quality.json`` (machine, data, settings, every
contestant's resolved config, steps, seconds, images/s, figures).  A markdown table per budget is
printed, ready for bench/RESULTS.md, with "FID vs baseline" = FID / the baseline's FID.

    # the race: one run per contestant, snapshots at 10 and 40 minutes (about 40 min × contestants)
    PYTHONPATH=src .venv/bin/python bench/quality.py --minutes 10,40 --contestants baseline,default,fastgan,stylegan
    # the low-data race on the 100-picture subset
    PYTHONPATH=src .venv/bin/python bench/quality.py --minutes 10 --train-on subset --contestants baseline,fastgan-ada
    # a short try (30 s each), and the smoke test (seconds, 40 shapes pictures, eval-n 16)
    PYTHONPATH=src .venv/bin/python bench/quality.py --minutes 0.5 --contestants baseline,dcgan --eval-n 200
    PYTHONPATH=src .venv/bin/python bench/quality.py --quick --out /tmp/q
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.data.builtin import GLYPH_CHARS, find_fonts  # noqa: E402
from artforge.data.sources import open_source, prepare  # noqa: E402
from artforge.evaluate.compare import (  # noqa: E402
    describe_features,
    feature_space,
    memorization,
    small_sample_warnings,
)
from artforge.evaluate.features import DEFAULT_BACKBONE, DEFAULT_LAYER, DEFAULT_SIZE, extract_features  # noqa: E402
from artforge.evaluate.metrics import fid, kid, precision_recall  # noqa: E402
from artforge.models import list_models  # noqa: E402
from artforge.models.registry import create_model  # noqa: E402
from artforge.pictures import make_grid, save_png, to_unit  # noqa: E402
from artforge.train.config import TrainConfig  # noqa: E402
from artforge.train.trainer import Trainer  # noqa: E402

SIZE, SEED = 64, 0
GRID_SEED, EVAL_SEED, REAL_SEED = 0, 2, 0  # latents of the grids, latents of the measured samples, choice of reals
GRID_N, GRID_COLS, GRID_PAD = 64, 8, 2  # 8×8 grids, artforge.pictures.make_grid's padding
GAP, LABEL_H = 8, 40  # side-by-side picture: margin between grids, label band above them
SUBSET_N = 100

# Named contestants: TrainConfig overrides on top of the common settings (see common_config).
# "baseline" is not here: it is the plain pytorch/examples loop below.  fastgan and stylegan need
# those families registered in artforge.models; a name whose model is missing fails before anything runs.
CONTESTANTS: dict[str, dict] = {
    "default": {},  # what `artforge train FOLDER` picks
    "dcgan": {"model": "dcgan"},
    "dcgan-noaug": {"model": "dcgan", "augment": "none"},
    "dcgan-diffaug": {"model": "dcgan", "augment": "diffaugment"},
    "dcgan-ada": {"model": "dcgan", "augment": "ada"},
    "dcgan-seed": {"model": "dcgan-seed"},
    "fastgan": {"model": "fastgan"},
    "fastgan-noaug": {"model": "fastgan", "augment": "none"},
    "fastgan-ada": {"model": "fastgan", "augment": "ada"},
    "stylegan": {"model": "stylegan"},
    "stylegan-ada": {"model": "stylegan", "augment": "ada"},
    "vae": {"model": "vae"},
}
BASELINE = "baseline"


# ----------------------------------------------------------------------------- data
def _pngs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png")) if folder.is_dir() else []


def assemble_data(data_dir: Path, quick: bool = False) -> dict:
    """Write the real folder (and its 100-picture subset) under ``data_dir``, or reuse them; describe them.

    Full race: every glyph of every installed font (``builtin:glyphs``) at 64 px.  ``quick``: 40
    ``builtin:shapes`` pictures (a smoke test needs no fonts and little time).
    """
    data_dir = Path(data_dir)
    if quick:
        name, source, n_builtin, subset_n = "shapes40", "builtin:shapes", 40, 20
    else:
        name, source, n_builtin, subset_n = "glyphs64", "builtin:glyphs", 10**6, SUBSET_N  # n: all the glyphs there are
    full, subset, manifest_path = data_dir / name, data_dir / f"{name}-{subset_n}", data_dir / f"{name}.json"
    t0 = time.perf_counter()
    manifest = None
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads(manifest_path.read_text())
    reused = bool(
        manifest
        and len(_pngs(full)) == manifest["count"]
        and len(_pngs(subset)) == manifest["subset"]["count"]
        and manifest["source"] == source
    )
    if not reused:
        made = prepare(source, full, SIZE, n_builtin=n_builtin, seed=SEED, progress=False, overwrite=True)
        files = _pngs(full)
        pick = sorted(np.random.default_rng(SEED).choice(len(files), size=min(subset_n, len(files)), replace=False))
        if subset.exists():
            shutil.rmtree(subset)
        subset.mkdir(parents=True)
        for i in pick:
            for f in (files[i], files[i].with_suffix(".txt")):
                if f.exists():
                    shutil.copy2(f, subset / f.name)
        fonts = [str(p) for p in find_fonts()] if source == "builtin:glyphs" else []
        manifest = {
            "source": source,
            "folder": str(full),
            "count": len(files),
            "size": SIZE,
            "seed": SEED,
            "made_by": f"artforge.data.prepare({source!r}, {str(full)!r}, {SIZE}, n_builtin={n_builtin}, seed={SEED})",
            "what": (
                f"A-Z, a-z, 0-9 ({len(GLYPH_CHARS)} characters) in every installed font that has them, dark on light, "
                "small seeded jitter of scale and position"
                if source == "builtin:glyphs"
                else f"{len(files)} procedural shapes pictures"
            ),
            "fonts": fonts,
            "example_captions": made.captions[:3],
            "subset": {
                "folder": str(subset),
                "count": len(pick),
                "how": f"numpy default_rng({SEED}).choice of {len(pick)} of the {len(files)} files, copied",
                "files": [files[i].name for i in pick],
            },
        }
        data_dir.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    manifest = dict(manifest, assembled_seconds=time.perf_counter() - t0, reused=reused)
    return manifest


# ----------------------------------------------------------------------------- contestants
class PlainDCGAN:
    """The pytorch/examples DCGAN recipe (dcgan/main.py) as a plain fp32 loop."""

    kind = "baseline"
    precision = "fp32"
    latent = 100

    def __init__(self, images: torch.Tensor, batch: int, seed: int = SEED):
        if len(images) < batch:
            raise SystemExit(f"baseline: {len(images)} pictures cannot fill one batch of {batch} (drop_last)")
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        nets = create_model("dcgan", image_size=SIZE, latent_dim=self.latent, width=64)  # norm="batch", no SN
        self.G, self.D = nets["generator"].train(), nets["discriminator"].train()
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.criterion = torch.nn.BCEWithLogitsLoss()  # = nn.BCELoss after the recipe's Sigmoid, fused
        self.images, self.batch = images, batch
        self.rng = torch.Generator().manual_seed(seed)  # own stream: measuring never moves training's RNG
        self._order, self._pos = torch.randperm(len(images), generator=self.rng), 0
        self.setup_seconds = time.perf_counter() - t0
        self.name = BASELINE

    def _real_batch(self) -> torch.Tensor:
        if self._pos + self.batch > len(self.images):  # drop_last, then a fresh shuffle
            self._order, self._pos = torch.randperm(len(self.images), generator=self.rng), 0
        idx = self._order[self._pos : self._pos + self.batch]
        self._pos += self.batch
        return to_unit(self.images[idx])

    def train_step(self) -> dict[str, float]:
        real = self._real_batch()
        b = real.size(0)
        ones, zeros = torch.ones(b), torch.zeros(b)
        # (1) D: maximise log D(x) + log(1 - D(G(z)))
        self.D.zero_grad()
        err_d_real = self.criterion(self.D(real), ones)
        err_d_real.backward()
        fake = self.G(torch.randn(b, self.latent, generator=self.rng))
        err_d_fake = self.criterion(self.D(fake.detach()), zeros)
        err_d_fake.backward()
        self.opt_d.step()
        # (2) G: maximise log D(G(z)), on the same fake batch
        self.G.zero_grad()
        err_g = self.criterion(self.D(fake), ones)
        err_g.backward()
        self.opt_g.step()
        return {"discriminator/loss": (err_d_real + err_d_fake).item(), "generator/loss": err_g.item()}

    @torch.no_grad()
    def sample(self, n: int, seed: int) -> torch.Tensor:
        # G stays in train mode (batch statistics over chunks of 64), as the recipe's netG(fixed_noise) does.
        z = torch.randn(n, self.latent, generator=torch.Generator().manual_seed(seed))
        return torch.cat([self.G(chunk).clamp(-1, 1) for chunk in z.split(64)])

    def describe(self) -> dict:
        return {
            "recipe": "pytorch/examples dcgan/main.py, plain fp32",
            "model": "dcgan",
            "model_kwargs": {"image_size": SIZE, "latent_dim": self.latent, "width": 64},
            "norm": "batch (G and D), no spectral norm",
            "optimizer": "Adam(lr=2e-4, betas=(0.5, 0.999)) for G and for D",
            "loss": "BCEWithLogitsLoss (nsgan)",
            "batch": self.batch,
            "data_order": "fresh random permutation every epoch, drop_last",
            "g_step": "reuses the D step's fake batch",
            "ema": None,
            "augment": "none",
            "sampling": "G in train mode (batch-norm batch statistics over chunks of 64)",
        }

    def close(self) -> None:
        pass


def common_config(source: str, batch: int, run_dir: str) -> dict:
    return dict(
        source=source,
        size=SIZE,
        batch=batch,
        device="cpu",
        seed=SEED,
        progress=False,
        tensorboard=False,
        out=run_dir,
        sample_every=10**9,
        ckpt_every=10**9,
        steps=10**9,
    )


class ArtforgeContestant:
    """The artforge Trainer with ``overrides`` on the common settings, stepped by hand."""

    kind = "artforge"

    def __init__(self, name: str, overrides: dict, source: str, batch: int):
        self.name, self.overrides = name, dict(overrides)
        self._tmp = tempfile.TemporaryDirectory(prefix="artforge-quality-")
        cfg = TrainConfig(**{**common_config(source, batch, self._tmp.name), **overrides})
        t0 = time.perf_counter()
        self.trainer = Trainer(cfg, Path(self._tmp.name))
        self.trainer.setup()
        self.setup_seconds = time.perf_counter() - t0
        self.batch = self.trainer.cfg.batch
        self.precision = self.trainer.precision

    def train_step(self) -> dict[str, float]:
        out = self.trainer.train_step()
        self.trainer.step += 1
        return out

    def sample(self, n: int, seed: int) -> torch.Tensor:
        return self.trainer._sampling_method().sample(n, generator=torch.Generator().manual_seed(seed))

    def describe(self) -> dict:
        return {"overrides": self.overrides, "precision": self.precision, "config": self.trainer.cfg.to_dict()}

    def close(self) -> None:
        self._tmp.cleanup()


def check_contestants(names: list[str], table: dict[str, dict]) -> None:
    """Every name known, every override a TrainConfig field, every model registered — before anything runs."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    registered = list_models()
    problems = []
    for name in names:
        if name == BASELINE:
            continue
        if name not in table:
            problems.append(f"unknown contestant {name!r}; known: {', '.join([BASELINE, *table])}")
            continue
        unknown = sorted(set(table[name]) - fields)
        if unknown:
            problems.append(f"contestant {name!r}: unknown TrainConfig field(s) {', '.join(unknown)}")
        model = table[name].get("model", TrainConfig.model)
        if model != "auto" and model not in registered:  # auto: resolved per data by train.choose
            problems.append(
                f"contestant {name!r}: model {model!r} is not registered in this checkout "
                f"(registered: {', '.join(registered)})"
            )
    if problems:
        raise SystemExit("quality race: " + "; ".join(problems))


# ----------------------------------------------------------------------------- measuring
class RealSet:
    """The training pictures, their features (computed once), and the N chosen for FID/KID/PR.

    ``reference``: pictures of the same distribution to choose the N from instead (the low-data
    race measures against the full folder, so a generator is judged on the distribution the 100
    pictures were drawn from; memorisation is still checked against the training pictures).
    """

    def __init__(self, images: torch.Tensor, n: int, reference: torch.Tensor | None = None):
        self.images, self.n = images, n
        t0 = time.perf_counter()
        self.features = extract_features(images)  # cached on disk by content
        pool = self.features if reference is None else extract_features(reference)
        self.feature_seconds = time.perf_counter() - t0
        idx = torch.randperm(len(pool), generator=torch.Generator().manual_seed(REAL_SEED))[:n]
        self.chosen = pool[idx]
        self.space = feature_space(DEFAULT_BACKBONE, DEFAULT_LAYER, self.features.size(1), DEFAULT_SIZE)


def measure(fake: torch.Tensor, real: RealSet) -> dict:
    fg = extract_features(fake, cache=False)
    n = fake.size(0)
    out: dict = {"n_generated": n, "n_real": real.chosen.size(0), "n_training": len(real.images)}
    if not torch.isfinite(fake).all():
        return {**out, "error": "non-finite samples"}
    out["fid"] = fid(real.chosen, fg)
    out["kid"], out["kid_std"] = kid(real.chosen, fg, subset_size=min(1000, n // 2))
    out["precision"], out["recall"] = precision_recall(real.chosen, fg)
    mem = memorization(fake, real.images, fg, real.features)
    out["memorization"] = {
        "fraction_flagged": mem["fraction_flagged"],
        "threshold": mem["threshold"],
        "feature_ratio_median": statistics.median(mem["feature_ratio"]),
        "feature_ratio_min": min(mem["feature_ratio"]),
        "pixel_ratio_median": statistics.median(mem["pixel_ratio"]),
        "pixel_ratio_min": min(mem["pixel_ratio"]),
    }
    out["warnings"] = small_sample_warnings(n, real.chosen.size(0), real.features.size(1))
    return out


# ----------------------------------------------------------------------------- pictures
def side_by_side(panels: list[tuple[str, str, Image.Image]]) -> Image.Image:
    """The contestants' grids in a row, each under its name and a caption line."""
    w, h = panels[0][2].size
    canvas = Image.new("RGB", (len(panels) * w + (len(panels) + 1) * GAP, LABEL_H + h + GAP), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=15)
    small = ImageFont.load_default(size=12)
    for i, (name, caption, grid) in enumerate(panels):
        x = GAP + i * (w + GAP)
        draw.text((x, 4), name, fill="black", font=font)
        draw.text((x, 22), caption, fill=(80, 80, 80), font=small)
        canvas.paste(grid, (x, LABEL_H))
    return canvas


def grid_width(size: int = SIZE) -> int:
    return GRID_COLS * (size + GRID_PAD) + GRID_PAD


# ----------------------------------------------------------------------------- the race
def machine(threads: int) -> dict:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "loadavg_1min_at_start": _load(),
    }


def _load() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def run_contestant(c, budgets: list[tuple[str, float]], real: RealSet, out_dir: Path, log) -> dict:
    """Train ``c`` until each budget is spent (clock paused while measuring); one snapshot per budget."""
    snapshots, clock, steps, diverged, losses, first_step = [], 0.0, 0, None, {}, None
    load_start = _load()  # another process on the CPU slows a contestant down and costs it steps: recorded
    for label, seconds in budgets:
        while diverged is None and clock < seconds:
            t0 = time.perf_counter()
            losses = c.train_step()
            clock += time.perf_counter() - t0
            steps += 1
            if steps == 1:
                first_step = clock  # includes one-off kernel warm-up (oneDNN, bf16), inside the budget
            bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
            if bad:
                diverged = {"step": steps, "losses": bad}
        snap = {
            "budget": label,
            "budget_seconds": seconds,
            "steps": steps,
            "seconds": clock,
            "images_per_s": steps * c.batch / clock if clock else 0.0,
            "images_seen": steps * c.batch,
            "last_losses": losses,
        }
        if diverged:
            snap["diverged"] = diverged
        t0 = time.perf_counter()
        grid = c.sample(GRID_N, GRID_SEED)
        fake = c.sample(real.n, EVAL_SEED)
        snap["sample_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        snap["metrics"] = measure(fake, real)
        snap["eval_seconds"] = time.perf_counter() - t0
        png = out_dir / label / f"{c.name}.png"
        save_png(
            make_grid(grid, ncol=GRID_COLS, pad=GRID_PAD),
            png,
            {"contestant": c.name, "budget": label, "steps": steps, "seed": GRID_SEED},
        )
        snap["grid_png"] = str(png)
        m = snap["metrics"]
        log(
            f"  {c.name} @ {label}: {steps} steps in {clock:.1f} s ({snap['images_per_s']:.1f} img/s), "
            + (f"FID {m['fid']:.1f}, KID {m['kid']:.4f}" if "fid" in m else m.get("error", ""))
            + f"; sampled in {snap['sample_seconds']:.1f} s, measured in {snap['eval_seconds']:.1f} s"
        )
        snapshots.append(snap)
    return {
        "kind": c.kind,
        "loadavg_1min": {"start": load_start, "end": _load()},
        "setup_seconds": c.setup_seconds,
        "first_step_seconds": first_step,
        "precision": c.precision,
        **c.describe(),
        "snapshots": snapshots,
    }


def parse_list(text: str) -> list[float]:
    values = sorted({float(v) for v in text.split(",") if v.strip()})
    if not values or values[0] <= 0:
        raise argparse.ArgumentTypeError(f"budgets must be positive numbers, got {text!r}")
    return values


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=parse_list, default=None, help="budgets, e.g. 10,40 (default 10)")
    budget.add_argument("--seconds", type=parse_list, default=None, help="budgets in seconds (smoke tests)")
    p.add_argument(
        "--contestants",
        default="baseline,default,dcgan",
        help=f"comma-separated: {BASELINE}, {', '.join(CONTESTANTS)} or --define'd names",
    )
    p.add_argument(
        "--define",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help='add a contestant: NAME=\'{"model": "dcgan", "augment": "ada"}\' (TrainConfig overrides)',
    )
    p.add_argument("--source", default=None, help="train on this folder instead of assembling the glyph folder")
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/artforge-quality-data"), help="where data are made")
    p.add_argument("--train-on", choices=("full", "subset"), default="full", help="the full folder or its subset")
    p.add_argument(
        "--measure-against",
        choices=("training", "full"),
        default="training",
        help="real pictures for FID/KID/PR: the training pictures, or (with --train-on subset) the full folder",
    )
    p.add_argument("--eval-n", type=int, default=1000, help="samples measured (and real pictures; max: the set)")
    p.add_argument(
        "--batch", type=int, default=None, help="batch of every contestant (default: the baseline's 64, artforge's own)"
    )
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: os.cpu_count())")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "quality", help="grids, race PNGs, JSON")
    p.add_argument("--json", type=Path, default=None, help="results JSON (default OUT/quality.json)")
    p.add_argument("--quick", action="store_true", help="smoke test: seconds, 40 shapes pictures, eval-n 16")
    args = p.parse_args(argv)
    for item in args.define:
        name, _, text = item.partition("=")
        try:
            overrides = json.loads(text)
        except json.JSONDecodeError as exc:
            p.error(f"--define {item!r}: {exc}")
        if not name or not isinstance(overrides, dict):
            p.error(f"--define wants NAME=JSON-OBJECT, got {item!r}")
        CONTESTANTS[name] = overrides
    if args.quick:
        if args.minutes is None and args.seconds is None:
            args.seconds = [2.0]
        if "--eval-n" not in (argv if argv is not None else sys.argv[1:]):
            args.eval_n = 16
        if "--batch" not in (argv if argv is not None else sys.argv[1:]):
            args.batch = 16
    if args.minutes is None and args.seconds is None:
        args.minutes = [10.0]
    args.budgets = (
        [(f"{m:g}min", 60.0 * m) for m in args.minutes]
        if args.minutes is not None
        else [(f"{s:g}s", s) for s in args.seconds]
    )
    args.names = [n.strip() for n in args.contestants.split(",") if n.strip()]
    if args.eval_n < 8:
        p.error("--eval-n must be at least 8")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    check_contestants(args.names, CONTESTANTS)  # a missing model fails now, not after the first contestant
    torch.set_num_threads(args.threads)
    info = machine(args.threads)

    def log(text: str) -> None:
        print(text, flush=True)

    log(
        f"# {info['cpu']}, {info['cores']} cores, torch {info['torch']} ({args.threads} threads), "
        f"load {info['loadavg_1min_at_start']}"
    )

    if args.source:
        data = {"source": str(args.source), "folder": str(args.source), "assembled": False}
        folder = str(args.source)
    else:
        data = assemble_data(args.data_dir, quick=args.quick)
        folder = data["folder"] if args.train_on == "full" else data["subset"]["folder"]
        how = "reused" if data["reused"] else "made"
        log(
            f"# data: {data['count']} pictures in {data['folder']} ({how} in {data['assembled_seconds']:.1f} s); "
            f"training on {folder}"
        )
    t0 = time.perf_counter()
    images = open_source(folder, SIZE, seed=SEED, progress=False).images
    data.update(training_folder=folder, training_count=len(images), decode_seconds=time.perf_counter() - t0)
    reference = None
    if args.measure_against == "full" and not args.source and folder != data["folder"]:
        reference = open_source(data["folder"], SIZE, seed=SEED, progress=False).images
        data["measured_against"] = data["folder"]
    n = min(args.eval_n, len(images) if reference is None else len(reference))
    real = RealSet(images, n, reference)
    data["real_feature_seconds"] = real.feature_seconds
    log(
        f"# {len(images)} training pictures; measuring N = {n} samples vs {n} real, features: "
        f"{describe_features(real.space)} (real features in {real.feature_seconds:.1f} s)"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for name in args.names:
        log(f"# {name} (load {_load()})")
        if name == BASELINE:
            c = PlainDCGAN(images, args.batch or 64)
        else:
            c = ArtforgeContestant(name, CONTESTANTS[name], folder, args.batch)
        try:
            results[name] = run_contestant(c, args.budgets, real, args.out, log)
        finally:
            c.close()
            del c

    race_pngs = {}
    for i, (label, _) in enumerate(args.budgets):
        panels = []
        for name, r in results.items():
            s = r["snapshots"][i]
            fid_text = f"FID {s['metrics']['fid']:.1f}" if "fid" in s["metrics"] else "no FID"
            caption = f"{fid_text}, {s['steps']} step{'s' * (s['steps'] != 1)}, {s['images_per_s']:.0f} img/s"
            panels.append((name, caption, Image.open(s["grid_png"]).convert("RGB")))
        path = args.out / f"race-{label}.png"
        save_png(side_by_side(panels), path, {"budget": label, "contestants": list(results)})
        race_pngs[label] = str(path)

    result = {
        "machine": info,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "data": data,
        "settings": {
            "budgets": [{"label": label, "seconds": s} for label, s in args.budgets],
            "batch": args.batch,
            "size": SIZE,
            "seed": SEED,
            "eval_n": n,
            "grid_seed": GRID_SEED,
            "eval_seed": EVAL_SEED,
            "real_choice_seed": REAL_SEED,
            "features": real.space,
            "features_described": describe_features(real.space),
            "common_config": {k: v for k, v in common_config(folder, args.batch, "").items() if k != "out"},
            "quick": args.quick,
            "threads": args.threads,
        },
        "contestants": results,
        "race_png": race_pngs,
    }
    result["machine"]["loadavg_1min_at_end"] = _load()
    json_path = args.json or args.out / "quality.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    log("")
    log(markdown_tables(result))
    log(f"\nJSON: {json_path}; side by side: {', '.join(race_pngs.values())}")
    return result


def _model_of(r: dict) -> tuple[str, str]:
    if r["kind"] == "baseline":
        return "dcgan (pytorch/examples)", "none"
    cfg = r["config"]
    return cfg["model"], cfg["augment"] + (f" ({cfg['diffaugment']})" if cfg.get("diffaugment") else "")


def _batch_of(r: dict) -> int | str:
    return r.get("batch") or r.get("config", {}).get("batch") or "?"


def markdown_tables(result: dict) -> str:
    """One table per budget, ready to paste into bench/RESULTS.md."""
    s, lines = result["settings"], []
    for i, budget in enumerate(s["budgets"]):
        base = result["contestants"].get(BASELINE, {}).get("snapshots", [{}] * (i + 1))[i].get("metrics", {})
        lines += [
            f"**{budget['label']} per contestant** — {result['data'].get('training_count')} training pictures, "
            f"N = {s['eval_n']} samples vs {s['eval_n']} real, features {s['features_described']}",
            "",
            "| contestant | model | augment | precision | batch | steps | images/s | FID | FID vs baseline | KID ×10³ "
            "| precision | recall | memorised |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in result["contestants"].items():
            snap = r["snapshots"][i]
            m = snap["metrics"]
            model, augment = _model_of(r)
            if "fid" not in m:
                figures = f"{m.get('error', '—')} | — | — | — | — | —"
            else:
                ratio = f"{m['fid'] / base['fid']:.2f}" if "fid" in base and base["fid"] > 0 else "—"
                figures = (
                    f"{m['fid']:.1f} | {ratio} | {1e3 * m['kid']:.1f} ± {1e3 * m['kid_std']:.1f} | "
                    f"{m['precision']:.2f} | {m['recall']:.2f} | {100 * m['memorization']['fraction_flagged']:.0f} %"
                )
            lines.append(
                f"| {name} | {model} | {augment} | {r['precision']} | {_batch_of(r)} | {snap['steps']} | "
                f"{snap['images_per_s']:.1f} | {figures} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
