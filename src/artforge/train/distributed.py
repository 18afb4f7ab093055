"""Data-parallel training under ``torchrun`` (single or multi-node).

We keep the networks unwrapped and all-reduce gradients ourselves after each
phase's backward pass, as StyleGAN2-ADA does: a GAN's alternating updates,
frozen discriminators and double-backward penalties (WGAN-GP, R1) do not fit
``DistributedDataParallel``'s one-forward-one-backward model.  The effect is
the same: every process applies the mean gradient, so weights stay identical.
Training noise is drawn per sample of the global batch (``artforge.randomness``)
and batch norm uses the statistics of the global batch (:class:`SyncBatchNorm`,
which also works on CPU/gloo), so W processes × B/W pictures train exactly like
one process × B (tests/train/test_distributed.py checks it).  Only rank 0 writes
files.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn


@dataclasses.dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_from_env(device_type: str, timeout_minutes: float = 120.0) -> DistInfo:
    """Join the process group that torchrun describes in the environment (no-op when alone).

    ``timeout_minutes`` bounds how long a collective waits for a process that does not arrive: long
    enough for the waits that are legitimate (the other ranks wait while a machine's first process
    decodes the pictures; every rank waits while rank 0 evaluates or saves), and still finite for a
    peer that hangs.  A peer that dies is noticed at once (torchrun stops the others).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        _import_modules_that_capture_the_default_group()
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=timeout_minutes))
    return DistInfo(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=int(os.environ.get("LOCAL_RANK", 0)))


def _import_modules_that_capture_the_default_group() -> None:
    """Import, *before* the process group exists, the torch modules that bind it at import time.

    ``torch.distributed.nn.functional`` evaluates ``group=group.WORLD`` as default arguments when it
    is first imported, and the first ``torch.optim`` optimizer imports it lazily (through
    ``torch._dynamo``).  Imported after ``init_process_group``, it holds the default group forever:
    ``destroy_process_group`` then cannot free it, gloo's worker threads outlive ``main`` and, when
    one of them drops the last reference to a tensor of a finished collective while the interpreter
    is finalising, taking the GIL ends that thread inside a C++ destructor and the process aborts
    ("terminate called without an active exception", SIGABRT) — at random, more often under load.
    Imported first, those defaults are ``None`` and the group dies with ``destroy_process_group``.
    """
    import torch.distributed.nn.functional  # noqa: F401


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_modules(info: DistInfo, modules: list[nn.Module]) -> None:
    """Make every rank start from rank 0's parameters and buffers."""
    if not info.enabled:
        return
    for module in modules:
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(info: DistInfo, modules: list[nn.Module]) -> None:
    """All-reduce (mean) the gradients of ``modules`` in one flat bucket."""
    if not info.enabled:
        return
    grads = [p.grad for m in modules for p in m.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def any_rank(info: DistInfo, flags: list[bool], device: torch.device) -> list[bool]:
    """For each flag: true on every rank if it is true on any (one all-reduce for all of them).

    The trainer asks once per step "does any rank want to stop? has any rank a non-finite loss?",
    so that every rank stops at the same step instead of waiting in the next collective for a rank
    that has left.
    """
    if not info.enabled:
        return list(flags)
    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v > 0) for v in t.tolist()]


def sum_over_ranks(info: DistInfo, tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``tensor`` summed over every rank (returned on the CPU); itself on one process."""
    if not info.enabled:
        return tensor
    t = tensor.to(device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu()


def broadcast_object(info: DistInfo, obj):
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(info: DistInfo, obj) -> list:
    if not info.enabled:
        return [obj]
    out = [None] * info.world
    dist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


# --------------------------------------------------------------------------- batch norm over the global batch


class _GlobalBatchStats(torch.autograd.Function):
    """Per-channel sum and sum of squares over every process's batch, with the matching backward.

    Forward all-reduces the local sums; the gradient of a global sum with respect to a local input
    is the all-reduced gradient, so backward all-reduces too — through this same function, so that a
    double backward (R1's gradient penalty through a batch-norm critic) is summed over ranks as
    well.  Every process runs the same forward and backward passes in the same order, so the
    collectives line up.
    """

    @staticmethod
    def forward(ctx, local: torch.Tensor) -> torch.Tensor:
        total = local.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _GlobalBatchStats.apply(grad)  # differentiable: all-reduce is its own adjoint


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics are those of the global batch across all processes.

    ``torch.nn.SyncBatchNorm`` works on GPUs only; this one works with gloo (CPU) and NCCL alike.
    Same parameters and buffers as ``nn.BatchNorm1d/2d`` (exports load into plain batch norm).
    When the process group is absent or ``synced`` is False it is ordinary batch norm: EMA copies
    and rank-0-only sampling must never wait for a collective the other ranks do not join.
    """

    synced = True

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        active = (
            self.training
            and self.synced
            and dist.is_available()
            and dist.is_initialized()
            and dist.get_world_size() > 1
        )
        if not active:
            return super().forward(x)
        c = x.size(1)
        shape = [1, c] + [1] * (x.dim() - 2)
        dims = [0] + list(range(2, x.dim()))
        # One all-reduce of (count, Σd, Σd²) with d = x − K.  The shift K (the running mean, equal on
        # every rank) keeps E[d²] − E[d]² from cancelling catastrophically when |mean| ≫ std.
        shift = (
            self.running_mean.detach().float().clone() if self.track_running_stats else torch.zeros(c, device=x.device)
        )
        d = x.float() - shift.view(shape)
        count = torch.full((1,), x.numel() / c, device=x.device, dtype=torch.float32)
        total = _GlobalBatchStats.apply(torch.cat([count, d.sum(dims), (d * d).sum(dims)]))
        n = total[0]
        mean_d = total[1 : 1 + c] / n
        var = (total[1 + c :] / n - mean_d * mean_d).clamp_min(0)
        self._update_running_stats((mean_d + shift).detach(), var.detach(), n.detach())
        y = (d - mean_d.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, n: torch.Tensor) -> None:
        if not self.track_running_stats:
            return
        self.num_batches_tracked += 1
        momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        unbiased = var * n / (n - 1).clamp_min(1)  # running_var is unbiased, as in nn.BatchNorm
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
        self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``nn.BatchNorm1d/2d/3d`` in ``module`` by :class:`SyncBatchNorm`, keeping its state."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, SyncBatchNorm):
        sync = SyncBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
            device=_device_of(module),
        )
        sync.load_state_dict(module.state_dict())
        sync.train(module.training)
        return sync
    for name, child in module.named_children():
        setattr(module, name, convert_sync_batchnorm(child))
    return module


def set_batchnorm_sync(module: nn.Module, synced: bool) -> None:
    """Turn global-batch statistics on or off in every :class:`SyncBatchNorm` of ``module``."""
    for m in module.modules():
        if isinstance(m, SyncBatchNorm):
            m.synced = synced


def _device_of(module: nn.Module) -> torch.device:
    tensors = list(module.parameters()) + list(module.buffers())
    return tensors[0].device if tensors else torch.device("cpu")
