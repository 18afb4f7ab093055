"""Procedural paintings: deterministic, varied, stroke-textured, captioned, fast."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from artforge.data import open_source
from artforge.data.paintings import FAMILIES, FAMILY_WORDS, make_paintings, make_paintings_captioned


@pytest.fixture(scope="module")
def paintings():
    return make_paintings_captioned(10, 64, seed=3)


def test_layout_and_dtype():
    images = make_paintings(3, (48, 80), seed=0)
    assert images.shape == (3, 3, 48, 80) and images.dtype == torch.uint8


def test_deterministic_seeded_and_prefix(paintings):
    images, captions = paintings
    again, captions_again = make_paintings_captioned(10, 64, seed=3)
    assert np.array_equal(again, images) and captions == captions_again
    short, _ = make_paintings_captioned(4, 64, seed=3)
    assert np.array_equal(short, images[:4])
    other, _ = make_paintings_captioned(4, 64, seed=4)
    assert not np.array_equal(other, images[:4])


def test_families_take_turns_and_captions_name_them(paintings):
    _, captions = paintings
    for i, caption in enumerate(captions):
        assert FAMILY_WORDS[FAMILIES[i % len(FAMILIES)]] in caption, caption
        assert caption.startswith(("a landscape", "an abstract composition"))


def test_pictures_are_varied_and_colourful(paintings):
    images, _ = paintings
    flat = images.reshape(len(images), -1).astype(np.float32)
    assert len({row.tobytes() for row in images.reshape(len(images), -1)}) == len(images)
    assert images.std(axis=(1, 2, 3)).min() > 15  # never a flat canvas
    distances = np.abs(flat[:, None] - flat[None]).mean(-1)
    assert distances[~np.eye(len(images), dtype=bool)].min() > 10  # no near-duplicates
    palettes = [np.unique(im.reshape(-1, 3) // 32, axis=0).shape[0] for im in images]
    assert min(palettes) >= 8  # several colours per picture


def _oriented_energy(image: np.ndarray) -> float:
    """How anisotropic the local gradients are (0 = isotropic noise, 1 = all parallel): strokes are oriented."""
    g = image.astype(np.float32).mean(-1)
    gy, gx = np.gradient(g)
    # Local coherence, averaged over 16×16 windows (the structure tensor of Bigün & Granlund).
    h, w = g.shape
    coherences = []
    for y in range(0, h - 15, 16):
        for x in range(0, w - 15, 16):
            sl = np.s_[y : y + 16, x : x + 16]
            a, b, c = (gx[sl] ** 2).sum(), (gy[sl] ** 2).sum(), (gx[sl] * gy[sl]).sum()
            coherences.append(np.sqrt((a - b) ** 2 + 4 * c * c) / (a + b + 1e-6))
    return float(np.mean(coherences))


def test_brush_strokes_are_oriented_unlike_noise():
    """Swirls and hatching have a dominant local direction; white noise has none."""
    images, _ = make_paintings_captioned(2, 128, seed=0, families=("swirls", "impressionist"))
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3)).astype(np.uint8)
    assert min(_oriented_energy(im) for im in images) > 2 * _oriented_energy(noise)


def test_same_picture_at_two_sizes():
    """Geometry is in fractions of the picture: 64 px is roughly the 128 px picture shrunk."""
    small = make_paintings(3, 64, seed=1).float()
    large = make_paintings(3, 128, seed=1).float()
    shrunk = torch.nn.functional.avg_pool2d(large, 2)
    same = (shrunk - small).abs().mean()
    other = (shrunk - small.roll(1, 0)).abs().mean()
    assert same < 0.6 * other


def test_builtin_source_and_unknown_family():
    data = open_source("builtin:paintings", 32, n_builtin=5)
    assert data.images.shape == (5, 3, 32, 32) and all(c for c in data.captions)
    with pytest.raises(ValueError, match="unknown painting family"):
        make_paintings(1, 32, families=("cubism",))


def test_fast_enough():
    """At least 20 pictures/s at 256 px on one quiet core; asserted with slack for a busy CI machine."""
    make_paintings(1, 256, seed=0)
    start = time.process_time()
    make_paintings(10, 256, seed=0)
    per_second = 10 / (time.process_time() - start)
    assert per_second > 10, f"{per_second:.1f} pictures/s"
