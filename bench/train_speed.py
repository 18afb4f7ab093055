"""Training speed of ``dcgan-seed`` at 64×64 on CPU: the artforge Trainer against a plain fp32 loop.

Both run side by side in one process, in interleaved rounds (baseline, trainer fp32,
trainer auto, baseline, ...) after a warm-up, and the median round is reported, so a
background load or a frequency change hits every variant alike.

* **baseline** — a plain, straightforward PyTorch loop written below: the same networks
  (``create_model("dcgan-seed")``, same seed, so the same initial weights), the nsgan loss
  of ``artforge.methods.gan``, two ``torch.optim.Adam(lr=2e-4, betas=(0.5, 0.999))`` with
  their defaults, contiguous NCHW fp32, a random real batch from the same built-in images.
  It draws a fresh latent batch for the G step, as the trainer does, so both do the same
  arithmetic per step apart from what the trainer saves (no D weight gradients in the G step).
* **trainer-fp32** — the real :class:`artforge.train.trainer.Trainer` with ``precision="fp32"``
  (channels_last and fused Adam as it chooses them): what layout alone earns.
* **trainer-auto** — the same with ``precision="auto"`` (bf16 autocast where the CPU has
  avx512_bf16/AMX, fp32 elsewhere).
* **trainer-auto-compile** (``--compile``) — ``TrainConfig.compile=True``; its warm-up is timed.
* ``--ablate`` — the trainer with channels_last off, in fp32 and auto.
* ``--experiments`` — ``exp-*`` rows: the trainer with changes proposed for ``src/`` applied from
  here (stock ``nn.Dropout`` in D instead of artforge's FastDropout; a G step that reuses the D
  step's fake batch), to size their effect.

DiffAugment is off in the trainer (``diffaugment=""``) because the baseline has none.

Also reported: model FLOPs per training step (``torch.utils.flop_counter``, one D step + one
G step, forward and backward), this machine's matmul peak in fp32 and bf16, and the fraction
of the peak (in the precision used) that each variant achieves.  ``--probe`` adds the
micro-measurements behind the recommendations in bench/RESULTS.md (EMA, requires_grad
toggling, data indexing, ``float(loss)``, per-phase times, Adam flavours, a per-op profile).

    PYTHONPATH=src .venv/bin/python bench/train_speed.py                 # the table
    PYTHONPATH=src .venv/bin/python bench/train_speed.py --compile --ablate --experiments --probe --json out.json
    PYTHONPATH=src .venv/bin/python bench/train_speed.py --quick --json /tmp/q.json   # smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.data.sources import open_source  # noqa: E402
from artforge.models.layers import FastDropout  # noqa: E402
from artforge.models.registry import create_model  # noqa: E402
from artforge.pictures import to_unit  # noqa: E402
from artforge.train.config import TrainConfig  # noqa: E402
from artforge.train.precision import cpu_has_fast_bf16  # noqa: E402
from artforge.train.trainer import Trainer  # noqa: E402

MODEL, SIZE, LATENT = "dcgan-seed", 64, 100


# ----------------------------------------------------------------------------- the baseline
class PlainLoop:
    """The straightforward fp32 PyTorch GAN loop, nothing tuned."""

    name = "baseline"
    precision = "fp32"

    def __init__(self, images: torch.Tensor, batch: int, seed: int = 0):
        torch.manual_seed(seed)  # same seed as the trainer: same initial weights
        nets = create_model(MODEL, image_size=SIZE, channels=3, latent_dim=LATENT)
        self.G, self.D = nets["generator"].train(), nets["discriminator"].train()
        use_plain_dropout(self.D)  # stock nn.Dropout, as a straightforward loop would have
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.images, self.batch = images, batch

    def train_step(self) -> dict[str, float]:
        idx = torch.randint(len(self.images), (self.batch,))
        real = to_unit(self.images[idx])
        # D step
        fake = self.G(torch.randn(self.batch, LATENT)).detach()
        d_loss = F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake)).mean()
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        # G step
        g_loss = F.softplus(-self.D(self.G(torch.randn(self.batch, LATENT)))).mean()
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        return {"discriminator/loss": d_loss.item(), "generator/loss": g_loss.item()}


# ----------------------------------------------------------------------------- the trainer
class TrainerVariant:
    def __init__(
        self,
        name: str,
        n_images: int,
        batch: int,
        precision: str,
        compile_: bool = False,
        channels_last: bool | None = None,
        seed: int = 0,
    ):
        self.name = name
        self._tmp = tempfile.TemporaryDirectory(prefix="artforge-bench-")
        cfg = TrainConfig(
            source="builtin:shapes",
            n_builtin=n_images,
            model=MODEL,
            size=SIZE,
            batch=batch,
            loss="nsgan",
            diffaugment="",
            precision=precision,
            compile=compile_,
            channels_last=channels_last,
            device="cpu",
            seed=seed,
            tensorboard=False,
            progress=False,
            out=self._tmp.name,
            sample_every=10**9,
            ckpt_every=10**9,
            steps=10**9,
        )
        self.trainer = Trainer(cfg, Path(self._tmp.name))
        self.trainer.setup()
        self.precision = self.trainer.precision

    def train_step(self) -> dict[str, float]:
        out = self.trainer.train_step()
        self.trainer.step += 1
        return out

    def close(self) -> None:
        self._tmp.cleanup()


# ----------------------------------------------------------------------------- experiments
# Bench-only stand-ins for changes proposed to src/ (see bench/RESULTS.md); the trainer itself is untouched.
def use_plain_dropout(net: torch.nn.Module) -> int:
    """Swap artforge's FastDropout for torch's nn.Dropout (the plain loop uses stock PyTorch)."""
    swapped = 0
    for parent in net.modules():
        for name, child in parent.named_children():
            if isinstance(child, FastDropout):
                setattr(parent, name, torch.nn.Dropout(child.p))
                swapped += 1
    return swapped


class ExperimentVariant(TrainerVariant):
    """The trainer with a change applied from outside: ``fast_dropout=False`` puts stock nn.Dropout back in the
    discriminator; ``reuse_fake`` runs a step whose G phase reuses the D phase's fake
    batch (one G forward fewer, as in PyTorch's DCGAN example) with the trainer's precision,
    layout, optimizers, requires_grad handling and EMA."""

    def __init__(self, name: str, n_images: int, batch: int, precision: str, fast_dropout: bool, reuse_fake: bool):
        super().__init__(name, n_images, batch, precision)
        if not fast_dropout:
            use_plain_dropout(self.trainer.method.D)
        self.reuse_fake = reuse_fake

    def train_step(self) -> dict[str, float]:
        if not self.reuse_fake:
            return super().train_step()
        from artforge.train.precision import autocast

        tr = self.trainer
        G, D = tr.method.G, tr.method.D
        opt_d, opt_g = tr.optimizers["discriminator"], tr.optimizers["generator"]
        real = tr._next_batch()
        G.requires_grad_(True)
        D.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        with autocast(tr.device, tr.precision):
            fake = G(torch.randn(real.size(0), G.latent_dim))
            loss_d = F.softplus(-D(real).float()).mean() + F.softplus(D(fake.detach()).float()).mean()
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        with autocast(tr.device, tr.precision):
            loss_g = F.softplus(-D(fake).float()).mean()
        loss_g.backward()
        opt_g.step()
        _ema_update(tr)
        tr.step += 1
        return {"discriminator/loss": float(loss_d.detach()), "generator/loss": float(loss_g.detach())}


# ----------------------------------------------------------------------------- measurements
def time_steps(variant, steps: int) -> float:
    """Seconds per step over ``steps`` consecutive steps."""
    t0 = time.perf_counter()
    for _ in range(steps):
        variant.train_step()
    return (time.perf_counter() - t0) / steps


def flops_per_step(variant) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        variant.train_step()
    return counter.get_total_flops()


def matmul_peak(dtype: torch.dtype, n: int, reps: int, rounds: int) -> float:
    """Median FLOP/s of an n×n @ n×n matmul in ``dtype``."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(2):
        torch.mm(a, b)
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        rates.append(2 * n**3 * reps / (time.perf_counter() - t0))
    return statistics.median(rates)


def machine() -> dict:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "fast_bf16": cpu_has_fast_bf16(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "loadavg_1min_at_start": load,
        "mkldnn": torch.backends.mkldnn.is_available(),
    }


# ----------------------------------------------------------------------------- probes
def _ema_update(tr: Trainer) -> None:
    """The EMA update exactly as ``Trainer.train_step`` calls it."""
    tr.ema.update(tr.method.nets, (tr.step + 1) * tr.cfg.batch, tr.cfg.batch)


def _median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def probe(trainer_variant: TrainerVariant, steps: int) -> dict:
    """Micro-measurements of the pieces of a trainer step (milliseconds)."""
    from artforge.train.trainer import set_trainable

    tr = trainer_variant.trainer
    out: dict[str, float] = {}
    out["ema_update_ms"] = 1e3 * _median_time(lambda: _ema_update(tr), 20)
    out["set_trainable_ms"] = 1e3 * _median_time(
        lambda: (set_trainable(tr.method, "discriminator"), set_trainable(tr.method, "generator")), 50
    )
    out["next_batch_ms"] = 1e3 * _median_time(tr._next_batch, 20)
    scalar = torch.tensor(1.0)
    out["float_item_x4_ms"] = 1e3 * _median_time(lambda: [float(scalar.detach()) for _ in range(4)], 50)

    # Where a step's time goes: forward/backward/optimizer of each phase, in the trainer's precision.
    from artforge.train.precision import autocast

    def phase_times():
        rec = {}
        batch = tr._next_batch()
        for phase in tr.method.phases():
            set_trainable(tr.method, phase.name)
            opt = tr.optimizers[phase.name]
            opt.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            with autocast(tr.device, tr.precision):
                loss = phase.loss(batch)["loss"]
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            rec[f"{phase.name}_forward_ms"] = 1e3 * (t1 - t0)
            rec[f"{phase.name}_backward_ms"] = 1e3 * (t2 - t1)
            rec[f"{phase.name}_optimizer_ms"] = 1e3 * (t3 - t2)
        return rec

    recs = [phase_times() for _ in range(max(5, steps))]
    out.update({k: statistics.median(r[k] for r in recs) for k in recs[0]})

    # Adam flavours on copies of all G and D parameters (same random gradients for each).
    params = [p for p in tr.method.D.parameters()] + [p for p in tr.method.G.parameters()]
    for p in params:
        p.grad = torch.randn_like(p)
    for flavour, kw in (("default", {}), ("foreach", {"foreach": True}), ("fused", {"fused": True})):
        copies = [p.detach().clone().requires_grad_(True) for p in params]
        for c, p in zip(copies, params):
            c.grad = p.grad.clone()
        opt = torch.optim.Adam(copies, lr=2e-4, betas=(0.5, 0.999), **kw)
        opt.step()
        out[f"adam_{flavour}_G+D_ms"] = 1e3 * _median_time(opt.step, 10)
    for p in params:
        p.grad = None
    return out


def profile_ops(variant, steps: int, top: int = 12) -> list[dict]:
    """The ops that take a step's time (self CPU time, torch.profiler), over ``steps`` steps."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=False) as prof:
        for _ in range(steps):
            variant.train_step()
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return [
        {"op": e.key, "self_ms_per_step": e.self_cpu_time_total / 1e3 / steps, "calls_per_step": e.count / steps}
        for e in rows
    ]


# ----------------------------------------------------------------------------- main
def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=10, help="steps per round (default 10)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds (default 5)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per variant first (default 5)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--images", type=int, default=512, help="built-in shapes pictures to draw batches from")
    p.add_argument("--threads", type=int, default=_cores(), help="torch threads (default: usable cores)")
    p.add_argument("--compile", action="store_true", help="also time TrainConfig.compile=True (slow warm-up)")
    p.add_argument("--ablate", action="store_true", help="also time the trainer without channels_last")
    p.add_argument(
        "--experiments",
        action="store_true",
        help="also time the trainer with changes proposed for src/ (fast dropout, reused fake batch)",
    )
    p.add_argument("--probe", action="store_true", help="also measure EMA, data, optimizer, phase times")
    p.add_argument("--peak-size", type=int, default=2048, help="matmul size for the peak measurement")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="write the figures as JSON")
    p.add_argument("--quick", action="store_true", help="tiny run for a smoke test (< 1 min)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.rounds, args.warmup, args.batch, args.images = 1, 2, 1, 8, 32
        args.peak_size = 256
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    info = machine()
    print(
        f"# {info['cpu']}, {info['cores']} cores, torch {info['torch']} ({args.threads} threads), "
        f"avx512_bf16/amx: {info['fast_bf16']}, load {info['loadavg_1min_at_start']}",
        flush=True,
    )

    t0 = time.perf_counter()
    images = open_source("builtin:shapes", SIZE, n_builtin=args.images, seed=0, progress=False).images
    variants = [PlainLoop(images, args.batch)]
    specs = [("trainer-fp32", "fp32", False, None), ("trainer-auto", "auto", False, None)]
    if args.ablate:
        specs += [("trainer-fp32-nchw", "fp32", False, False), ("trainer-auto-nchw", "auto", False, False)]
    if args.compile:
        specs.append(("trainer-auto-compile", "auto", True, None))
    warmup_s: dict[str, float] = {}
    for name, precision, comp, cl in specs:
        variants.append(TrainerVariant(name, args.images, args.batch, precision, comp, cl))
    if args.experiments:
        # FastDropout is now the trainer's own; exp-auto-plaindrop measures what it earns.
        for name, fast, reuse in (("exp-auto-plaindrop", False, False), ("exp-auto-reusefake", True, True)):
            precision = "fp32" if "fp32" in name else "auto"
            variants.append(ExperimentVariant(name, args.images, args.batch, precision, fast, reuse))
    print(f"# set-up {time.perf_counter() - t0:.1f} s", flush=True)

    # FLOPs on the eager variants (the compiled graph hides its ops from the counter; same model).
    flops = {v.name: flops_per_step(v) for v in variants if "compile" not in v.name}
    for v in variants:
        if "compile" in v.name:
            flops[v.name] = flops["trainer-auto"]

    for v in variants:
        t = time.perf_counter()
        for _ in range(args.warmup):
            v.train_step()
        warmup_s[v.name] = time.perf_counter() - t

    per_round: dict[str, list[float]] = {v.name: [] for v in variants}
    for r in range(args.rounds):
        order = variants if r % 2 == 0 else variants[::-1]  # alternate order: no variant always goes first
        for v in order:
            per_round[v.name].append(time_steps(v, args.steps))

    n_peak = max(1, int(2e9 / (2 * args.peak_size**3)))  # about 2 GFLOP per timed burst
    peaks = {
        "fp32": matmul_peak(torch.float32, args.peak_size, n_peak, 5),
        "bf16": matmul_peak(torch.bfloat16, args.peak_size, n_peak, 5),
    }

    base = statistics.median(per_round["baseline"])
    rows = {}
    for v in variants:
        med = statistics.median(per_round[v.name])
        used = "bf16" if v.precision == "bf16" else "fp32"
        achieved = flops[v.name] / med
        rows[v.name] = {
            "precision": v.precision,
            "step_ms_median": 1e3 * med,
            "step_ms_min": 1e3 * min(per_round[v.name]),
            "step_ms_rounds": [1e3 * s for s in per_round[v.name]],
            "images_per_s": args.batch / med,
            "speedup_vs_baseline": base / med,
            "gflop_per_step": flops[v.name] / 1e9,
            "achieved_gflops": achieved / 1e9,
            "peak_precision": used,
            "fraction_of_peak": achieved / peaks[used],
            "warmup_s": warmup_s[v.name],
        }

    result = {
        "machine": info,
        "config": {
            "model": MODEL,
            "size": SIZE,
            "batch": args.batch,
            "steps": args.steps,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "images": args.images,
            "threads": args.threads,
            "loss": "nsgan",
            "diffaugment": "",
            "quick": args.quick,
        },
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "peak_gflops": {k: v / 1e9 for k, v in peaks.items()},
        "variants": rows,
        "ratio": {name: rows[name]["speedup_vs_baseline"] for name in rows if name != "baseline"},
    }
    if "trainer-auto-compile" in rows:
        eager, comp = rows["trainer-auto"], rows["trainer-auto-compile"]
        gain_s = (eager["step_ms_median"] - comp["step_ms_median"]) / 1e3
        extra_s = comp["warmup_s"] - eager["warmup_s"]
        # steps after which the compile warm-up has paid for itself (None: it never does)
        result["compile_break_even_steps"] = extra_s / gain_s if gain_s > 0 else None

    if args.probe:
        tv = next(v for v in variants if v.name == "trainer-auto")
        result["probe_ms"] = probe(tv, args.steps)
        result["profile"] = {
            v.name: profile_ops(v, max(2, args.steps // 2)) for v in variants if "compile" not in v.name
        }

    if hasattr(os, "getloadavg"):
        result["machine"]["loadavg_1min_at_end"] = os.getloadavg()[0]
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    for v in variants:
        if hasattr(v, "close"):
            v.close()
    return result


def print_table(result: dict) -> None:
    c = result["config"]
    print(
        f"\n{c['model']} {c['size']}x{c['size']}, batch {c['batch']}, median of {c['rounds']} rounds × "
        f"{c['steps']} steps, {c['threads']} threads"
    )
    print(
        f"{'variant':<24} {'prec':>5} {'ms/step':>9} {'img/s':>8} {'×base':>6} {'GFLOP/step':>10} "
        f"{'GFLOP/s':>8} {'of peak':>8} {'warm-up s':>9}"
    )
    for name, r in result["variants"].items():
        print(
            f"{name:<24} {r['precision']:>5} {r['step_ms_median']:9.1f} {r['images_per_s']:8.1f} "
            f"{r['speedup_vs_baseline']:6.2f} {r['gflop_per_step']:10.2f} {r['achieved_gflops']:8.1f} "
            f"{100 * r['fraction_of_peak']:7.1f}% {r['warmup_s']:9.1f}"
        )
    if "compile_break_even_steps" in result:
        b = result["compile_break_even_steps"]
        when = f"after {b:.0f} steps" if b is not None else "never (no faster than eager)"
        print(f"torch.compile pays for its warm-up: {when}")
    p = result["peak_gflops"]
    print(f"matmul peak: fp32 {p['fp32']:.0f} GFLOP/s, bf16 {p['bf16']:.0f} GFLOP/s")
    if "probe_ms" in result:
        print("probe (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in result["probe_ms"].items()))
    for name, ops in result.get("profile", {}).items():
        print(f"top ops, {name} (self ms/step): " + ", ".join(f"{o['op']} {o['self_ms_per_step']:.0f}" for o in ops))


if __name__ == "__main__":
    main()
