"""Distribution metrics on feature vectors (N×D), one registry.

* FID — Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).
* KID — unbiased MMD² with the cubic polynomial kernel, averaged over random subsets, with its
  standard deviation (Bińkowski et al. 2018).
* Improved precision / recall — k-NN manifolds, k = 3 (Kynkäänniemi et al. 2019).

All computed in float64.  Features come from :mod:`artforge.evaluate.features`;
:func:`artforge.evaluate.compare.measure_against_real` runs these on pictures, and says when a
set is too small for FID to be read at face value.
"""

from __future__ import annotations

from typing import Callable

import torch

from artforge.errors import ArtforgeError


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.double()
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (x.size(0) - 1)


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    """‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½).

    Tr (Σ1 Σ2)^½ is computed as Σ √λ of the symmetric PSD matrix Σ1^½ Σ2 Σ1^½ (same eigenvalues
    as Σ1 Σ2), which avoids the complex results that a general matrix square root gives.
    """
    if real.size(0) < 2 or fake.size(0) < 2:
        raise ArtforgeError("FID needs at least 2 images on each side")
    mu1, s1 = _stats(real)
    mu2, s2 = _stats(fake)
    root1 = _sqrtm_psd(s1)
    tr_covmean = torch.linalg.eigvalsh(root1 @ s2 @ root1).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + s1.trace() + s2.trace() - 2 * tr_covmean)


def kid(
    real: torch.Tensor, fake: torch.Tensor, subset_size: int = 1000, subsets: int = 100, seed: int = 0
) -> tuple[float, float]:
    """Mean and standard deviation of the unbiased MMD² over ``subsets`` random subsets.

    Each subset holds ``subset_size`` pictures per side, at most half the smaller set, so that
    subsets differ and their standard deviation means something (Bińkowski et al. use 1,000).
    """
    n = min(real.size(0), fake.size(0))
    if n < 2:
        raise ArtforgeError("KID needs at least 2 images on each side")
    m = min(subset_size, max(2, n // 2))  # subsets must differ, or the std says nothing
    d = real.size(1)
    gen = torch.Generator().manual_seed(seed)
    kernel = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    values = []
    for _ in range(subsets):
        x = real.double()[torch.randperm(real.size(0), generator=gen)[:m]]
        y = fake.double()[torch.randperm(fake.size(0), generator=gen)[:m]]
        kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
        off = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
        values.append(float(off - 2 * kxy.mean()))
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std(unbiased=True)) if len(values) > 1 else 0.0


def _radii(x: torch.Tensor, k: int) -> torch.Tensor:
    # distance to the k-th nearest *other* point (index k, since index 0 is the point itself)
    return torch.cdist(x, x).kthvalue(k + 1, dim=1).values


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Precision: share of fakes inside the real k-NN manifold; recall: share of reals inside the fake one."""
    if min(real.size(0), fake.size(0)) <= k:
        raise ArtforgeError(f"precision/recall with k={k} needs more than {k} images on each side")
    real, fake = real.double(), fake.double()

    def coverage(ref: torch.Tensor, query: torch.Tensor) -> float:
        radii = _radii(ref, k)
        return float((torch.cdist(query, ref) <= radii[None, :]).any(dim=1).double().mean())

    return coverage(real, fake), coverage(fake, real)


METRICS: dict[str, Callable] = {"fid": fid, "kid": kid, "pr": precision_recall}
