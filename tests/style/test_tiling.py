"""Pyramid and tiles: global statistics, no seams, and the same result as untiled where it must be."""

from __future__ import annotations

import pytest
import torch

from artforge.style.gatys import GatysConfig, StyleObjective, make_targets, optimize, stylize
from artforge.style.tiling import feather, optimize_tiled, pyramid_sizes, tile_starts, tiled_grams

pytestmark = pytest.mark.usefixtures("one_thread")


def cfg(**changes) -> GatysConfig:
    return GatysConfig(**{**dict(backbone="effnet-lite0", iterations=12, progress=False), **changes})


def test_pyramid_halves_down_to_the_tile_size():
    assert pyramid_sizes((2048, 1536), 512) == [(512, 384), (1024, 768), (2048, 1536)]
    assert pyramid_sizes((300, 200), 512) == [(300, 200)]


@pytest.mark.parametrize("length,tile,overlap", [(2048, 512, 128), (700, 512, 128), (96, 64, 32), (64, 64, 16)])
def test_tiles_cover_everything_with_the_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] + min(tile, length) == length
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))  # neighbours share >= overlap


def test_feather_ramps_only_toward_neighbours():
    w = feather(64, 0, 200, 16)
    assert w[0] == 1 and w[-1] < 0.01 and torch.all(w[:48] == 1)
    assert torch.all(w.diff()[48:] < 0)  # smooth, monotone ramp down
    up = feather(64, 100, 200, 16)
    assert up[0] < 0.01 and up[-1] < 0.01 and up[32] == 1
    edge = feather(64, 136, 200, 16)
    assert edge[-1] == 1  # the picture's border: no ramp
    # Two raised-cosine ramps over the same overlap add up to exactly 1: the blend keeps the picture's level.
    assert torch.allclose(feather(64, 0, 112, 16)[48:] + feather(64, 48, 112, 16)[:16], torch.ones(16))


@pytest.mark.parametrize("backbone", ["effnet-lite0", "effnet-lite0-swag", "vgg19-random"])
def test_tiled_gram_matrices_equal_the_whole_picture_ones(backbone, make_photo):
    image = make_photo(side=160)
    mask = torch.zeros(1, 1, *image.shape[-2:])
    mask[..., :, :70] = 1
    obj = StyleObjective(cfg(backbone=backbone, tile_size=4096))
    for m in (None, mask):
        whole, tiled = obj.grams(image, m), tiled_grams(obj, image, m, tile=64, margin=64)
        for layer in obj.style_layers[:3]:  # shallow layers: no border effect at all with 64 px of context
            assert (tiled[layer] - whole[layer]).norm() / whole[layer].norm() < 1e-3, layer


def _level(content, style, config):
    obj = StyleObjective(config)
    targets = make_targets(obj, content, [style], config)
    return obj, targets


def test_one_tile_is_exactly_the_untiled_optimisation(make_photo, style):
    content = make_photo(side=64)
    config = cfg(tile_size=64)
    obj, targets = _level(content, style, config)
    untiled = optimize(content, obj, targets, config)
    tiled = optimize_tiled(content, content, None, obj, targets.regions, config)
    assert torch.equal(tiled.image, untiled.image)


@pytest.fixture(scope="module")
def tiled_and_untiled(one_thread, make_photo, style):
    content = make_photo(side=128)
    config = cfg(tile_size=64, iterations=15)
    obj, targets = _level(content, style, config)
    untiled = optimize(content, obj, targets, config).image
    tiled = optimize_tiled(content, content, None, obj, targets.regions, config).image
    return content, tiled, untiled


def test_tiled_approximates_untiled(tiled_and_untiled, style):
    """Brush textures differ pixel by pixel between any two runs; what must agree are the statistics:
    how close each gets to the style (Gram matrices) and how much of the content it keeps."""
    content, tiled, untiled = tiled_and_untiled
    obj = StyleObjective(cfg())
    target = obj.grams(style)
    content_feats = obj.features(content)

    def distances(x):
        g, f = obj.grams(x), obj.features(x)
        style_d = sum(float((g[k] - target[k]).square().sum() / target[k].square().sum()) for k in g)
        content_d = sum(
            float((f[k] - content_feats[k]).square().sum() / content_feats[k].square().sum())
            for k in obj.content_layers
        )
        return style_d, content_d

    (st, ct), (su, cu), (s0, _) = distances(tiled), distances(untiled), distances(content)
    assert st < 0.8 * s0 and su < 0.8 * s0  # both moved toward the style
    assert 0.7 < st / su < 1.4 and 0.7 < ct / cu < 1.4  # equally


def test_no_seams_along_tile_borders(tiled_and_untiled):
    """The gradient energy across tile borders is no higher than across any other column/row."""
    content, tiled, _ = tiled_and_untiled
    h, w = tiled.shape[-2:]
    side, overlap = 64, 32
    borders_x = {s + side for s in tile_starts(w, side, overlap)[:-1]} | set(tile_starts(w, side, overlap)[1:])
    borders_y = {s + side for s in tile_starts(h, side, overlap)[:-1]} | set(tile_starts(h, side, overlap)[1:])
    dx = (tiled[..., :, 1:] - tiled[..., :, :-1]).square().mean(dim=(0, 1, 2))  # energy between column j-1 and j
    dy = (tiled[..., 1:, :] - tiled[..., :-1, :]).square().mean(dim=(0, 1, 3))
    on_x = torch.stack([dx[j - 1] for j in borders_x if 0 < j < w]).mean()
    on_y = torch.stack([dy[i - 1] for i in borders_y if 0 < i < h]).mean()
    assert on_x < 1.5 * dx.median() and on_y < 1.5 * dy.median()


def test_stylize_large_runs_the_pyramid_with_tiles(make_photo, style):
    content = make_photo(side=144)
    steps = []
    result = stylize(
        content,
        [style],
        cfg(tile_size=64, iterations=6, save_every=1),
        callback=lambda step, img: steps.append((step, tuple(img.shape[-2:]))),
    )
    assert result.image.shape == content.shape
    assert steps[0][1] == (24, 36) and steps[-1][1] == tuple(content.shape[-2:])  # coarse to fine
    assert (result.image - content).abs().mean() > 0.05


def test_coarse_size_runs_a_pyramid_below_the_tile_size(make_photo, style):
    content = make_photo(side=96)
    sizes = []
    stylize(
        content,
        [style],
        cfg(coarse_size=48, iterations=3, save_every=1),
        callback=lambda step, img: sizes.append(tuple(img.shape[-2:])),
    )
    assert sizes[0] == (32, 48) and sizes[-1] == tuple(content.shape[-2:])  # 48 px first, then the full size
    assert pyramid_sizes((64, 96), tile_size=512, coarse_size=24) == [(16, 24), (32, 48), (64, 96)]


def test_no_tile_optimises_in_one_piece(make_photo, style):
    content = make_photo(side=80)
    result = stylize(content, [style], cfg(tile_size=64, tile=False, iterations=3))
    assert len(result.history) == 3  # one level, one optimisation: no pyramid
