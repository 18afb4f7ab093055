"""The measures of bench/style_anchor.py, and one method run end to end on a scikit-image pair."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench" / "style_anchor.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("style_anchor", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["style_anchor"] = module
    spec.loader.exec_module(module)
    return module


def smooth_picture(seed: int = 0, side: int = 64) -> torch.Tensor:
    """A soft picture: low-frequency noise upsampled."""
    low = torch.rand(1, 3, side // 8, side // 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return torch.nn.functional.interpolate(low, size=(side, side), mode="bicubic", align_corners=False).clamp(-1, 1)


def test_speckle_is_zero_for_the_photo_and_grows_with_fine_noise(bench):
    photo, painting = smooth_picture(0), smooth_picture(1)
    assert bench.speckle(photo, photo, painting)["speckle"] == 0
    noise = torch.randn(photo.shape, generator=torch.Generator().manual_seed(2))
    light = bench.speckle((photo + 0.05 * noise).clamp(-1, 1), photo, painting)
    heavy = bench.speckle((photo + 0.2 * noise).clamp(-1, 1), photo, painting)
    assert 0 < light["speckle"] < heavy["speckle"]
    assert heavy["speckle_excess"][0] > heavy["speckle_excess"][2]  # pixel noise lives in the finest octave


def test_texture_the_painting_has_is_not_speckle(bench):
    """Fine texture no stronger than the painting's own is allowed (it is the style)."""
    photo = smooth_picture(0)
    gen = torch.Generator().manual_seed(3)
    painting = (smooth_picture(1) + 0.2 * torch.randn(photo.shape, generator=gen)).clamp(-1, 1)
    output = (photo + 0.1 * torch.randn(photo.shape, generator=gen)).clamp(-1, 1)
    assert bench.speckle(output, photo, painting)["speckle"] < 0.05


def test_sliced_wasserstein(bench):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 3))
    assert bench.sliced_wasserstein(a, a) == 0
    near, far = bench.sliced_wasserstein(a, a + 1), bench.sliced_wasserstein(a, a + 5)
    assert 0 < near < far and far == pytest.approx(5 * near, rel=1e-6)


def test_gatys_overrides_parse_by_field_type(bench):
    got = bench.gatys_overrides(["coarse_size=256", "init=fast", "style_weight=40", "style_layers=stem+stage3"])
    assert got == {"coarse_size": 256, "init": "fast", "style_weight": 40.0, "style_layers": ("stem", "stage3")}
    with pytest.raises(SystemExit, match="no field"):
        bench.gatys_overrides(["nonsense=1"])


def test_missing_wallpapers_say_what_to_install(bench, monkeypatch, tmp_path):
    from artforge.errors import ArtforgeError

    monkeypatch.setattr(bench, "WALLPAPERS", tmp_path)
    with pytest.raises(ArtforgeError, match="apt-get install plasma-workspace-wallpapers"):
        bench.picture_path("wallpaper:Autumn")


def test_fast_method_on_a_pair_is_measured(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "PAIRS", (("skimage:chelsea.png", "skimage:coffee.png"),))
    pairs = bench.assemble_pairs(tmp_path / "pairs", 1, max_side=128)
    timing = bench.run_method("fast", pairs, tmp_path / "fast", size=64, threads=1)
    name = pairs[0]["name"]
    assert set(timing["seconds"]) == {name} and timing["seconds"][name] > 0
    figures = bench.measure(tmp_path / "fast" / f"{name}.png", pairs[0], size=64)
    assert 0 < figures["style_progress"] < 1.5 and -0.5 < figures["content_kept"] < 1
    assert figures["colour"] > 0 and len(figures["speckle_excess"]) == bench.OCTAVES
