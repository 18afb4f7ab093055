"""Choosing the device and the arithmetic precision for training."""

from __future__ import annotations

import contextlib
from functools import lru_cache

import torch

from artforge.errors import ArtforgeError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` picks cuda > mps > cpu; under torchrun each process takes its local GPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ArtforgeError(f"--device {name!r} is not a device (try auto, cpu, cuda, cuda:1, mps)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ArtforgeError("--device cuda was asked for but this PyTorch sees no CUDA GPU; use --device cpu")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 dot products (AVX512-BF16 or AMX), so autocast pays."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return any(flag in flags for flag in (" avx512_bf16", " amx_bf16"))


def resolve_precision(requested: str, device: torch.device) -> str:
    """fp32 | bf16 | fp16 for ``requested`` (auto/fp32/bf16/fp16) on ``device``."""
    if requested != "auto":
        if requested == "fp16" and device.type == "cpu":
            raise ArtforgeError("--precision fp16 is for GPUs; on CPU use bf16 or fp32")
        return requested
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
