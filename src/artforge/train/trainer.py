"""The one training loop, for every method.

It owns everything that is not the objective: device and precision, data
order, gradient sync across processes, EMA, checkpoints and exact resume,
logging, sample grids, signals and divergence checks.

Example::

    from artforge.train import TrainConfig, train
    run = train(TrainConfig(source="builtin:shapes", model="dcgan", size=32, steps=200, out="runs/demo"))
    # run/model/ is the export that `artforge generate run/` samples from
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import signal
import sys
import time
from pathlib import Path

import torch
from torch import nn

from artforge.data.sources import open_domains, open_source, parse_color
from artforge.errors import ArtforgeError, CheckpointError, DataError, TrainingDiverged
from artforge.methods import Method, create_method, method_class
from artforge.models import get_family
from artforge.models.registry import create_model
from artforge.pictures import make_grid, save_png, to_unit
from artforge.randomness import SampleNoise
from artforge.train import checkpoint, distributed
from artforge.train.choose import AUTO, choose_batch, choose_model
from artforge.train.config import KEEP_ON_RESUME, TrainConfig, check_sources, method_kwargs, model_kwargs, resolve
from artforge.train.logging import RunLogger
from artforge.train.precision import autocast, resolve_device, resolve_precision

SAMPLE_GRID = 64  # images in each sample grid (8×8), from latents fixed by the seed (methods may show fewer)


class BatchStream:
    """An endless, resumable stream of this process's image indices.

    All processes walk the same seeded permutation of the pictures, epoch after epoch (batches run
    across epoch boundaries, so even a 50-picture folder fills a batch of 64), one *global* batch at a
    time, and rank r of W keeps its rows r, r + W, … — the rows ``artforge.randomness`` gives it noise
    for.  Nothing is padded or dropped, so W processes see exactly the pictures one process would,
    whatever the number of pictures, and ``(epoch, offset)`` — counted in the global order — continues
    the exact order after a resume, on any number of processes.
    """

    def __init__(self, n: int, batch: int, info: distributed.DistInfo, seed: int):
        self.n, self.batch, self.rank, self.world, self.seed = n, batch, info.rank, info.world, seed
        self.epoch, self.offset, self._order = 0, 0, None

    def _permutation(self) -> list[int]:
        # The permutation DistributedSampler(shuffle=True, seed) draws too, so runs keep their old order.
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return torch.randperm(self.n, generator=generator).tolist()

    def next(self) -> list[int]:
        want = self.batch * self.world
        out: list[int] = []
        while len(out) < want:
            if self._order is None:
                self._order = self._permutation()
            take = self._order[self.offset : self.offset + want - len(out)]
            out += take
            self.offset += len(take)
            if self.offset >= self.n:
                self.epoch, self.offset, self._order = self.epoch + 1, 0, None
        return out[self.rank :: self.world]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "offset": self.offset, "order": "global"}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.offset, self._order = int(state["epoch"]), int(state["offset"]), None
        if state.get("order") != "global" and self.world > 1:  # artforge 0.1 counted a rank's own shard
            self.offset *= self.world


class PairedStream:
    """One :class:`BatchStream` per domain, for two-domain methods (CycleGAN).

    The domains are unaligned, so each keeps its own order (seeded differently, so
    equal-sized sets do not move in lockstep); a batch is ``(indices_a, indices_b)``.
    """

    def __init__(self, n_a: int, n_b: int, batch: int, info: distributed.DistInfo, seed: int):
        self.a = BatchStream(n_a, batch, info, seed)
        self.b = BatchStream(n_b, batch, info, seed + 1)

    def next(self) -> tuple[list[int], list[int]]:
        return self.a.next(), self.b.next()

    def state_dict(self) -> dict:
        return {"a": self.a.state_dict(), "b": self.b.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.a.load_state_dict(state["a"])
        self.b.load_state_dict(state["b"])


class EMA:
    """Exponential moving average of the sampled networks, as in StyleGAN2-ADA (Karras et al. 2020).

    The half-life is counted in images (``ema_kimg`` thousand), so it does not
    change with the batch size, and during ramp-up it is at most ``ema_rampup``
    times the images seen so far, so short runs are not dominated by the random
    initial weights.  Buffers (batch-norm statistics, spectral-norm vectors) are
    copied, not averaged.
    """

    def __init__(self, nets: dict[str, nn.Module], ema_kimg: float, rampup: float):
        self.ema_kimg, self.rampup = ema_kimg, rampup
        self.nets = {k: copy.deepcopy(v).eval().requires_grad_(False) for k, v in nets.items()}
        for net in self.nets.values():  # sampled by rank 0 alone: its batch norm must never wait for the others
            distributed.set_batchnorm_sync(net, False)

    def decay(self, images_seen: int, batch: int) -> float:
        half_life = self.ema_kimg * 1000
        if self.rampup:
            half_life = min(half_life, images_seen * self.rampup)
        return 0.5 ** (batch / half_life) if half_life > 0 else 0.0

    @torch.no_grad()
    def update(self, live: dict[str, nn.Module], images_seen: int, batch: int) -> None:
        decay = self.decay(images_seen, batch)
        for name, ema in self.nets.items():
            for p_ema, p in zip(ema.parameters(), live[name].parameters()):
                p_ema.lerp_(p.detach(), 1 - decay)
            for b_ema, b in zip(ema.buffers(), live[name].buffers()):
                b_ema.copy_(b)


@torch.no_grad()
def refresh_batchnorm(
    net: nn.Module, method: Method, generator: torch.Generator, batches: int = 8, batch: int = 64
) -> None:
    """Re-estimate batch-norm statistics for the (EMA) weights actually sampled.

    An EMA generator's weights never produced the running statistics it carries
    (they belong to the live weights); BigGAN's "standing statistics" (Brock et
    al. 2019) fix that by averaging fresh batch statistics over several batches.
    """
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the refresh batches
    net.train()
    device = next(net.parameters()).device
    for _ in range(batches):
        net(method.latents(batch, generator).to(device))  # the method's latents: with captions where it has them
    net.eval()
    for m, momentum in zip(norms, saved):
        m.momentum = momentum


def set_trainable(method: Method, phase: str) -> None:
    """Let only ``phase``'s own networks build a gradient graph (saves the D backward in G steps)."""
    for name, nets in method.trainable().items():
        for net in nets:
            net.requires_grad_(name == phase)


def _rng_state(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


class StopFlag:
    """Ctrl-C / SIGTERM: finish the step, save, exit 0.  A second Ctrl-C aborts at once (files stay intact)."""

    def __init__(self):
        self.requested = False
        self._old: dict[int, object] = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. inside the studio): no handler
                pass
        return self

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping: finishing this step and saving (Ctrl-C again aborts without saving)", file=sys.stderr)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


class Trainer:
    def __init__(self, cfg: TrainConfig, run_dir: Path, resume: bool = False):
        self.requested_cfg = cfg
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.dist = distributed.DistInfo()  # until setup() joins the process group

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        cfg = self.requested_cfg
        self.device = resolve_device(cfg.device)
        if cfg.dist_timeout <= 0:
            raise ArtforgeError(f"--dist-timeout must be a positive number of minutes (got {cfg.dist_timeout})")
        self.dist = distributed.init_from_env(self.device.type, cfg.dist_timeout)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        # Every rank must write into the folder rank 0 named (default names carry a timestamp).
        self.run_dir = Path(distributed.broadcast_object(self.dist, str(self.run_dir)))
        cfg = dataclasses.replace(cfg, out=str(self.run_dir))
        # No --model: the race's winner for this size and machine (artforge.train.choose).
        cfg, why = choose_model(cfg, self.device.type)
        family = get_family(cfg.model)
        cfg, why_batch = choose_batch(cfg, self.device.type, family.method)
        self.two_domain = method_class(family.method).domains == 2
        check_sources(cfg, 2 if self.two_domain else 1)
        # A bad flag fails now, not after decoding the pictures: resolve, and build the networks on the
        # meta device (shapes only, no memory) so that e.g. a size the model cannot make is said at once.
        with torch.device("meta"):
            create_model(cfg.model, **model_kwargs(resolve(cfg, family.method, n_images=0)))
        self.data = self._load_data(cfg)
        for reason in (why, why_batch) if self.dist.is_main else ():  # said once flags and pictures are good
            if reason:
                print(f"chose {reason}", file=sys.stderr)
        self.data_fingerprint = self._data_fingerprint()  # saved with every state, checked on resume
        self.cfg = cfg = resolve(cfg, family.method, len(self.data))
        if cfg.batch % self.dist.world:
            raise ArtforgeError(f"--batch {cfg.batch} must divide evenly over {self.dist.world} processes")
        self.precision = resolve_precision(cfg.precision, self.device)
        torch.manual_seed(cfg.seed + self.dist.rank)
        nets = create_model(cfg.model, **model_kwargs(cfg))
        if cfg.init_weights and not self.resume:  # a resumed run loads its own state instead
            checkpoint.load_initial_weights(nets, Path(cfg.init_weights))
        if self.dist.enabled and cfg.sync_batchnorm:
            nets = {k: distributed.convert_sync_batchnorm(v) for k, v in nets.items()}
        self.channels_last = cfg.channels_last if cfg.channels_last is not None else self.device.type in ("cpu", "cuda")
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        for net in nets.values():
            net.to(self.device, memory_format=fmt).train()
        distributed.broadcast_modules(self.dist, list(nets.values()))
        self.method = create_method(family.method, nets, **method_kwargs(cfg))
        if cfg.text_cond:
            self._prepare_text(self.method.sampler)
        # One noise stream for the global batch, reseeded every step (artforge.randomness).
        self.method.noise = SampleNoise(torch.Generator(), self.dist.rank, self.dist.world)
        self.export_config = {
            "model": cfg.model,
            "model_kwargs": model_kwargs(cfg),
            "method": family.method,
            "method_kwargs": method_kwargs(cfg),
            "image_size": cfg.size,
            "source": cfg.source,
            "train_config": dataclasses.asdict(cfg),
        }  # how it was made, kept with the weights
        if self.two_domain:
            self.export_config["domains"] = [cfg.domain_a, cfg.domain_b]
        if cfg.text_cond:
            self.export_config["text"] = {"encoder": "all-MiniLM-L6-v2", "bank_captions": self.bank_captions}
        self.optimizers = {name: self._adam(name, nets_) for name, nets_ in self.method.trainable().items()}
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.ema = EMA({k: nets[k] for k in self.method.export_parts}, cfg.ema_kimg, cfg.ema_rampup)
        per_rank = cfg.batch // self.dist.world
        self.stream = (
            PairedStream(len(self.data.a), len(self.data.b), per_rank, self.dist, cfg.seed)
            if self.two_domain
            else BatchStream(len(self.data.images), per_rank, self.dist, cfg.seed)
        )
        self.step = 0
        self._sampler, self._sampler_step = None, -1  # EMA sampler, refreshed once per step (see _sampling_method)
        self.best = {"metric": None, "value": math.inf, "step": None}  # the export kept in RUN/best
        # Own generator, not the global one: choosing the grid's inputs must not move the training RNG.
        self.preview_inputs = self.method.preview_inputs(
            SAMPLE_GRID, torch.Generator().manual_seed(cfg.seed), self.data
        )
        if cfg.compile:
            for net in nets.values():
                net.compile()

    def _load_data(self, cfg: TrainConfig):
        # One process per machine (local rank 0) decodes the pictures into the shared on-disk cache;
        # the machine's other processes then map that same file, so the page cache holds the pictures
        # once per machine instead of once per process (see artforge.data.images).
        options = dict(
            fit=cfg.fit,
            background=parse_color(cfg.background),
            max_pixels=cfg.max_pixels,
            n_builtin=cfg.n_builtin,
            seed=cfg.seed,
            progress=cfg.progress and self.dist.is_main,
            warn=(lambda msg: print(f"warning: {msg}", file=sys.stderr)) if self.dist.is_main else (lambda msg: None),
        )
        first = self.dist.local_rank == 0
        data, error = self._open_data(cfg, options) if first else (None, None)
        self._stop_every_rank_on(error)  # also the barrier: the others wait for the cache to be filled
        if not first:
            data, error = self._open_data(cfg, options)
        self._stop_every_rank_on(error)
        return data

    def _open_data(self, cfg: TrainConfig, options: dict):
        """(the pictures, None), or (None, the message of the user error that stopped loading them)."""
        try:
            if self.two_domain:
                return open_domains(cfg.domain_a, cfg.domain_b, cfg.size, **options), None
            return open_source(cfg.source, cfg.size, **options), None
        except ArtforgeError as exc:
            return None, str(exc)

    def _prepare_text(self, generator: nn.Module) -> None:
        """Caption embeddings for every picture, and the sampling network's bank of training captions (what
        it draws without a prompt): the same seeded choice on every rank."""
        from artforge.crossmodal.text import caption_embeddings

        warn = (lambda msg: print(f"warning: {msg}", file=sys.stderr)) if self.dist.is_main else (lambda msg: None)
        self.data.text_embeddings = caption_embeddings(self.data.captions, warn)
        pick = torch.randint(len(self.data), (len(generator.captions),), generator=torch.Generator().manual_seed(0))
        generator.captions.copy_(self.data.text_embeddings[pick])
        self.bank_captions = [(self.data.captions[i] or "").strip() for i in pick.tolist()]

    def _stop_every_rank_on(self, error: str | None) -> None:
        """Raise the first rank's error on every rank: none is left waiting for a collective the others skip."""
        errors = [e for e in distributed.gather_objects(self.dist, error) if e]
        if errors:
            raise DataError(errors[0])

    def _adam(self, phase: str, nets: list[nn.Module]) -> torch.optim.Optimizer:
        cfg = self.cfg
        lr = cfg.lr_d if phase == "discriminator" else cfg.lr
        params = [p for net in nets for p in net.parameters()]
        # fused Adam: one kernel for all parameters (available on CPU and CUDA in torch >= 2.4).
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), fused=self.device.type in ("cpu", "cuda"))

    def _prepare_run_dir(self) -> None:
        cfg = self.cfg
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            cfg.save_yaml(self.run_dir / "config.yaml")
            if self.data.skipped:
                self.data.write_skipped(self.run_dir / "skipped.txt")
        distributed.barrier(self.dist)

    def _restore(self) -> None:
        state, path = checkpoint.load_latest_state(self.run_dir)
        try:
            for name, net in self.method.nets.items():
                net.load_state_dict(state["nets"][name])
            for name, net in self.ema.nets.items():
                net.load_state_dict(state["ema"][name])
            for name, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])
            if state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(f"{path} does not fit this run's model/config ({exc})") from exc
        self.method.load_state_dict(state.get("method", {}))
        self._warn_if_data_changed(state.get("data"))
        self.stream.load_state_dict(state["stream"])
        self.step = int(state["step"])
        self.best = dict(
            state.get("best") or {"metric": "fid", "value": float(state.get("best_fid", math.inf)), "step": None}
        )  # "best_fid": states of artforge 0.1
        rngs = state["rng"]
        if len(rngs) == self.dist.world:
            _set_rng_state(rngs[self.dist.rank], self.device)
        else:  # resumed on a different number of processes: continue, but not bit-exactly
            torch.manual_seed(self.cfg.seed + self.dist.rank + 7919 * self.step)
        if self.dist.is_main:
            print(f"resuming {self.run_dir} from step {self.step} ({path.name})", file=sys.stderr)

    def _data_fingerprint(self) -> dict:
        """How many pictures, and which, the data order of this run is a permutation of."""
        sets = [self.data.a, self.data.b] if self.two_domain else [self.data]
        digest = hashlib.sha256("\n".join(p for d in sets for p in d.paths).encode("utf-8", "surrogatepass"))
        return {"count": [len(d) for d in sets], "paths_sha256": digest.hexdigest()[:16]}

    def _warn_if_data_changed(self, saved: dict | None) -> None:
        now = self.data_fingerprint
        if saved is None or saved == now or not self.dist.is_main:
            return
        before, after = "+".join(f"{n:,}" for n in saved["count"]), "+".join(f"{n:,}" for n in now["count"])
        change = f"{before} → {after} pictures" if before != after else "the same number of pictures, other files"
        print(
            f"warning: the training pictures changed since this run started ({change}); training continues on "
            "the pictures there now, so the data order is not the one an uninterrupted run would have had",
            file=sys.stderr,
        )

    # ------------------------------------------------------------------ loop
    def fit(self) -> Path:
        try:
            self.setup()
            if self.resume:
                self._restore()
            elif checkpoint.list_states(self.run_dir):
                raise ArtforgeError(
                    f"{self.run_dir} already holds a run; resume it with --resume {self.run_dir}, "
                    "or choose another --out"
                )
            self._prepare_run_dir()
            if self.dist.is_main:
                print(
                    self.data.summary() + (f", list in {self.run_dir / 'skipped.txt'}" if self.data.skipped else ""),
                    file=sys.stderr,
                )
            self._loop()
        finally:
            distributed.shutdown(self.dist)
        return self.run_dir

    def _loop(self) -> None:
        cfg, main = self.cfg, self.dist.is_main
        logger = (
            RunLogger(
                self.run_dir,
                cfg.steps,
                self.step,
                cfg.tensorboard and main,
                cfg.progress and main,
                images_per_step=cfg.batch,
            )
            if main
            else None
        )
        totals: dict[str, float] = {}  # losses summed since the last stats row
        counted = 0
        try:
            with StopFlag() as stop:
                while self.step < cfg.steps:
                    losses = self.train_step()
                    self.step += 1
                    bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
                    # One collective per step: every rank learns whether any rank diverged or was asked
                    # to stop, so all stop at this step (none waits 30 minutes in the next all-reduce).
                    stopping, diverged = distributed.any_rank(self.dist, [stop.requested, bool(bad)], self.device)
                    if diverged:
                        self._diverged(bad)
                    for k, v in losses.items():
                        totals[k] = totals.get(k, 0.0) + v
                    counted += 1
                    if logger:
                        logger.step(self.step, losses)
                        if self.step % cfg.log_every == 0:
                            logger.log(self.step, {k: v / counted for k, v in totals.items()})
                    if self.step % cfg.log_every == 0:
                        totals, counted = {}, 0
                    last = self.step == cfg.steps
                    if self.step % cfg.sample_every == 0 or last:
                        self._sample_grid(logger)
                    if cfg.eval_every and (self.step % cfg.eval_every == 0 or last):
                        self._evaluate(logger)
                    if self.step % cfg.ckpt_every == 0 or last or stopping:
                        self._save()
                    if stopping:
                        if main:
                            logger.write(f"saved step {self.step}. Resume with: artforge train --resume {self.run_dir}")
                        return
        finally:
            if logger:
                logger.close()
        if main:
            try_next = self.method.try_next.format(run=self.run_dir)
            print(f"done: {self.run_dir} (export in {self.run_dir / 'model'}; try: {try_next})", file=sys.stderr)

    def _next_batch(self) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.two_domain:
            idx_a, idx_b = self.stream.next()
            return self._to_device(self.data.a.images[idx_a]), self._to_device(self.data.b.images[idx_b])
        idx = self.stream.next()
        if self.data.text_embeddings is not None:  # text-conditioned: the pictures with their captions
            return self._to_device(self.data.images[idx]), self.data.text_embeddings[idx].to(self.device)
        return self._to_device(self.data.images[idx])

    def _to_device(self, pixels: torch.Tensor) -> torch.Tensor:
        x = to_unit(pixels.to(self.device, non_blocking=True))
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _lr_scale(self) -> float:
        """CycleGAN §7.1: the same rate for the first half of training, then linearly down towards 0.

        A function of the step alone, so a resumed run follows the same schedule.
        """
        steps, half = self.cfg.steps, self.cfg.steps / 2
        return 1.0 if self.step < half else (steps - self.step) / (steps - half)

    def _apply_lr_decay(self) -> float:
        scale = self._lr_scale()
        for name, opt in self.optimizers.items():
            base = self.cfg.lr_d if name == "discriminator" else self.cfg.lr
            for group in opt.param_groups:
                group["lr"] = base * scale
        return scale

    def train_step(self) -> dict[str, float]:
        out: dict[str, float] = {}
        self.method.noise.reseed(self.cfg.seed, self.step)
        if self.cfg.lr_decay:
            out["lr_scale"] = self._apply_lr_decay()
        batch = None
        for phase in self.method.phases():
            if phase.needs_data or batch is None:
                batch = self._next_batch()
            set_trainable(self.method, phase.name)
            opt = self.optimizers[phase.name]
            opt.zero_grad(set_to_none=True)
            with autocast(self.device, self.precision):
                result = phase.loss(batch)
            self.scaler.scale(result["loss"]).backward()
            distributed.average_gradients(self.dist, self.method.trainable()[phase.name])
            self.scaler.step(opt)
            self.scaler.update()
            for k, v in result.items():
                out[f"{phase.name}/{k}"] = float(v.detach())  # last of n_critic steps
        self.ema.update(self.method.nets, (self.step + 1) * self.cfg.batch, self.cfg.batch)
        self.method.end_step(lambda t: distributed.sum_over_ranks(self.dist, t, self.device))
        return out

    def _diverged(self, bad: dict[str, float]) -> None:
        """Stop every rank with the same message, naming the losses and the ranks that went non-finite."""
        reports = distributed.gather_objects(self.dist, bad)
        where = "; ".join(
            ", ".join(f"{k}={v}" for k, v in r.items()) + (f" (rank {rank})" if self.dist.enabled else "")
            for rank, r in enumerate(reports)
            if r
        )
        states = checkpoint.list_states(self.run_dir)
        kept = (
            f"the last good checkpoint (step {states[-1][0]}) is intact" if states else "no checkpoint was written yet"
        )
        raise TrainingDiverged(
            f"training diverged at step {self.step}: {where}; {kept}. "
            "Try a lower --lr, --precision fp32, --spectral-norm or --loss wgan-gp."
        )

    # ------------------------------------------------------------------ outputs
    def _sampling_method(self) -> Method:
        """A method around the EMA networks, with batch-norm statistics refreshed for them.

        Grids, evaluation and checkpoints can all fall on one step; the refresh is
        deterministic, so it is done once per step and reused.
        """
        if self._sampler_step != self.step:
            nets = dict(self.ema.nets)
            self._sampler = self.method.with_nets(nets)
            refresh_batchnorm(self._sampler.sampler, self._sampler, torch.Generator().manual_seed(self.cfg.seed + 1))
            self._sampler_step = self.step
        return self._sampler

    def _sample_grid(self, logger: RunLogger | None) -> None:
        if not self.dist.is_main:
            return
        sampler = self._sampling_method()
        grid = make_grid(sampler.preview(self.preview_inputs), ncol=sampler.preview_columns)
        save_png(
            grid,
            self.run_dir / "samples" / f"step-{self.step:08d}.png",
            {"step": self.step, "model": self.cfg.model, "seed": self.cfg.seed},
        )
        logger.image("samples", grid, self.step)

    def _evaluate(self, logger: RunLogger | None) -> None:
        """FID/KID of EMA samples against the training pictures; keep the best export in RUN/best.

        "Best" is by FID only when each side has more pictures than the feature space has
        dimensions; below that FID's covariance is rank-deficient and its upward bias (which depends
        on N and on the model) could decide the choice, so the unbiased KID decides instead.
        """
        if not self.dist.is_main:
            return
        from artforge.evaluate.compare import describe_features, measure_against_real, selection_metric

        n = min(self.cfg.eval_n, len(self.data.images))
        sampler = self._sampling_method()
        # Own generators, never the global RNG: evaluating must not change the training trajectory.
        fake = sampler.sample(n, generator=torch.Generator().manual_seed(self.cfg.seed + 2))
        real_idx = torch.randperm(len(self.data.images), generator=torch.Generator().manual_seed(self.cfg.seed))[:n]
        result = measure_against_real(
            fake, self.data.images[real_idx], metrics=("fid", "kid"), kid_subset=min(1000, n // 2)
        )
        metric = selection_metric(n, result["features"]["dim"])
        if self.best["metric"] != metric:  # first evaluation, or --eval-n changed on resume: FID and KID don't compare
            if self.best["metric"] is not None:
                logger.write(f"best export now chosen by {metric} (was {self.best['metric']})")
            self.best = {"metric": metric, "value": math.inf, "step": None}
            logger.write(
                f"evaluation: {n} samples vs {n} training pictures, features: "
                f"{describe_features(result['features'])}; best export by {metric}"
                + (f" (N = {n} is not above the feature dimension)" if metric == "kid" else "")
            )
        figures = {"eval/fid": result["fid"], "eval/kid": result["kid"], "eval/kid_std": result["kid_std"]}
        if result[metric] < self.best["value"]:
            self.best = {"metric": metric, "value": result[metric], "step": self.step}
            self.method.save_export(
                self.run_dir / "best",
                sampler.nets,
                self.export_config,
                metadata={"step": self.step, metric: result[metric], "features": describe_features(result["features"])},
            )
        figures[f"eval/best_{metric}"] = self.best["value"]
        logger.metrics(self.step, figures)

    def _save(self) -> None:
        rngs = distributed.gather_objects(self.dist, _rng_state(self.device))
        if not self.dist.is_main:
            distributed.barrier(self.dist)
            return
        self._sampling_method()  # refreshes the EMA batch-norm statistics that the export carries
        self.method.save_export(self.run_dir / "model", self.ema.nets, self.export_config, metadata={"step": self.step})
        state = {
            "nets": {k: v.state_dict() for k, v in self.method.nets.items()},
            "ema": {k: v.state_dict() for k, v in self.ema.nets.items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "method": self.method.state_dict(),
            "stream": self.stream.state_dict(),
            "data": self.data_fingerprint,
            "rng": rngs,
            "best": self.best,
            "config": dataclasses.asdict(self.cfg),
        }
        checkpoint.save_state(self.run_dir, self.step, state, self.cfg.keep)
        distributed.barrier(self.dist)


def default_run_dir(cfg: TrainConfig, runs_root: Path = Path("runs")) -> Path:
    return runs_root / f"{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}"


def config_for_resume(run_dir: Path, overrides: dict) -> TrainConfig:
    """The run's recorded config with the user's new flags applied (only those that keep the networks and data)."""
    saved = TrainConfig.load_yaml(Path(run_dir) / "config.yaml")
    # "auto" for a field the run fixed asks for nothing new: the run's own resolved choice stands.
    overrides = {k: v for k, v in overrides.items() if not (k in KEEP_ON_RESUME and v == AUTO)}
    clash = [k for k in KEEP_ON_RESUME if k in overrides and overrides[k] != getattr(saved, k)]
    if clash:
        flags = ", ".join(f"--{k.replace('_', '-')} (the run has {getattr(saved, k)!r})" for k in clash)
        raise ArtforgeError(
            f"cannot change {flags} when resuming {run_dir}: it fixes the networks, the pictures or "
            "their order; leave it out, or start a new run with another --out"
        )
    return dataclasses.replace(saved, **{k: v for k, v in overrides.items() if k != "out"}, out=str(run_dir))


def find_run(resume: str | Path, runs_root: Path = Path("runs")) -> Path:
    """The run folder that ``--resume RUN_DIR|latest`` names."""
    run_dir = checkpoint.latest_run(runs_root) if str(resume) == "latest" else Path(resume)
    if not (run_dir / "config.yaml").is_file():
        raise CheckpointError(f"{run_dir} is not a run folder (no config.yaml); pass a folder made by artforge train")
    return run_dir


def train(cfg: TrainConfig, resume: str | Path | None = None, runs_root: Path = Path("runs")) -> Path:
    """Train a new run, or resume one; returns its folder.

    ``resume`` is a run folder or ``"latest"``; then ``cfg`` is ignored in favour of the
    run's recorded config (use :func:`config_for_resume` to change e.g. ``steps``).
    """
    if resume is not None:
        run_dir = find_run(resume, runs_root)
        if cfg is None or Path(cfg.out or "") != run_dir:
            cfg = config_for_resume(run_dir, {})
        return Trainer(cfg, run_dir, resume=True).fit()
    run_dir = Path(cfg.out) if cfg.out else default_run_dir(cfg, runs_root)
    return Trainer(dataclasses.replace(cfg, out=str(run_dir)), run_dir).fit()
