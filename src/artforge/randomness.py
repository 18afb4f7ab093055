"""Training noise drawn per sample of the *global* batch.

Data-parallel training splits a global batch of B pictures over W processes.  If
each process drew its latents, augmentation parameters and penalty mixes from
its own random stream, two processes × B/2 would train differently from one
process × B — data parallelism would be assumed, not exact.  Here every random
tensor a training step needs is drawn for the whole global batch from one
generator seeded by ``(seed, step)`` on every process, and each process keeps
the rows of its own samples.  The rows are interleaved (rank ``r`` keeps rows
``r, r + W, r + 2W, …``) because ``torch.utils.data.DistributedSampler`` hands
out the pictures of an epoch the same way, so picture *i* of the global batch
meets the same noise whatever W is.  Because the stream is a function of the
step alone, a resumed run draws exactly what an uninterrupted one would.

Outside the trainer (unit tests, notebooks) a method's :class:`SampleNoise` has
no generator and simply uses torch's global random state on the tensor's device.

Example::

    noise = SampleNoise(rank=1, world=2)
    noise.reseed(seed=0, step=12)
    z = noise.randn(4, 128, device="cpu")   # rows 1, 3, 5, 7 of the global batch of 8
"""

from __future__ import annotations

import hashlib

import torch

_GOLDEN = 0x9E3779B97F4A7C15  # 2^64 / φ: spreads consecutive (seed, step) pairs over the seed space


def step_seed(seed: int, step: int) -> int:
    """A 63-bit generator seed for one training step of a run."""
    return (int(seed) * _GOLDEN + int(step) + 1) % (1 << 63)


class SampleNoise:
    """Random tensors with one row per local sample, cut from draws over the global batch."""

    def __init__(self, generator: torch.Generator | None = None, rank: int = 0, world: int = 1):
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is not in a world of {world} processes")
        self.generator, self.rank, self.world = generator, rank, world

    def reseed(self, seed: int, step: int) -> None:
        """Start the stream of training step ``step`` (the same on every process)."""
        if self.generator is None:
            self.generator = torch.Generator()
        self.generator.manual_seed(step_seed(seed, step))

    def _mine(self, draw, n: int, shape: tuple[int, ...], device, dtype) -> torch.Tensor:
        if self.generator is None:
            return draw((n, *shape), None, device, dtype)
        # Drawn on the CPU (one generator for every device type), for all W·n samples.
        rows = draw((n * self.world, *shape), self.generator, "cpu", dtype)
        return rows[self.rank :: self.world].to(device, non_blocking=True)

    def randn(self, n: int, *shape: int, device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Standard normal, ``n × shape``."""
        return self._mine(lambda s, g, d, t: torch.randn(s, generator=g, device=d, dtype=t), n, shape, device, dtype)

    def rand(self, n: int, *shape: int, device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Uniform on [0, 1), ``n × shape``."""
        return self._mine(lambda s, g, d, t: torch.rand(s, generator=g, device=d, dtype=t), n, shape, device, dtype)

    def randint(self, low: int, high: int, n: int, *shape: int, device=None) -> torch.Tensor:
        """Integers in [low, high), ``n × shape`` (int64)."""
        return self._mine(
            lambda s, g, d, t: torch.randint(low, high, s, generator=g, device=d, dtype=t),
            n,
            shape,
            device,
            torch.int64,
        )


def latent_generators(z: torch.Tensor) -> list[torch.Generator]:
    """One CPU generator per latent row, seeded by a hash of its values.

    Sampling noise drawn from them (FastGAN's injected noise, DDPM's ancestral steps) depends on
    the latent alone: picture i of a seed is the same in any batch, and torch's global random
    state is never touched.
    """
    rows = z.detach().float().cpu().contiguous().numpy()
    return [
        torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(row.tobytes()).digest()[:8], "little") >> 1)
        for row in rows
    ]
