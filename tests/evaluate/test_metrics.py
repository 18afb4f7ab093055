import numpy as np
import pytest
import torch

from artforge.errors import ArtforgeError
from artforge.evaluate import fid, kid, precision_recall

scipy_linalg = pytest.importorskip("scipy.linalg")


def _reference_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula with SciPy's general matrix square root."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy_linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_matches_scipy_on_random_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16))
    b = rng.normal(0.3, 1.2, size=(400, 16)) @ rng.normal(size=(16, 16))
    ours = fid(torch.from_numpy(a), torch.from_numpy(b))
    ref = _reference_fid(a, b)
    assert abs(ours - ref) / ref < 1e-4


def test_fid_orders_same_and_shifted_sets():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(600, 8, generator=g), torch.randn(600, 8, generator=g)
    assert fid(a, b) < 0.1 < fid(a, b + 1.0)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(300, 8, generator=g), torch.randn(300, 8, generator=g)
    same_mean, same_std = kid(a, b, subset_size=100, subsets=50)
    diff_mean, _ = kid(a, b + 0.5, subset_size=100, subsets=50)
    assert abs(same_mean) < 3 * same_std + 1e-3
    assert diff_mean > 10 * max(same_std, 1e-4)
    mean_big, _ = kid(a, b, subset_size=10_000, subsets=3)  # subset larger than N: clipped, still works
    assert np.isfinite(mean_big)


def test_precision_recall_identical_disjoint_and_partial():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(200, 4, generator=g)
    assert precision_recall(a, a.clone()) == (1.0, 1.0)
    p, r = precision_recall(a, a + 100)
    assert p == 0.0 and r == 0.0
    # fakes covering only half of the real modes: high precision, lower recall
    real = torch.cat([torch.randn(100, 4, generator=g), torch.randn(100, 4, generator=g) + 20])
    fake = torch.randn(100, 4, generator=g)
    p, r = precision_recall(real, fake)
    assert p > 0.8 and r < 0.6
    with pytest.raises(ArtforgeError):
        precision_recall(a[:3], a[:3])
