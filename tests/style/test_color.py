"""Colour control: luminance-only transfer and colour histogram (mean/covariance) matching."""

from __future__ import annotations

import pytest
import torch

from artforge.style.color import keep_luminance, match_color, rgb_to_yiq, yiq_to_rgb
from artforge.style.io import resize


def test_yiq_round_trip():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5)


def test_keep_luminance_takes_luma_from_the_stylised_and_chroma_from_the_content(make_photo, make_painting):
    content = make_photo(side=32) * 0.8  # away from the clamp at ±1
    stylized = resize(make_painting(0, 32), content.shape[-2:]) * 0.8
    out = keep_luminance(stylized, content)
    yo, yc, ys = rgb_to_yiq(out), rgb_to_yiq(content), rgb_to_yiq(stylized)
    assert (yo[:, 0] - ys[:, 0]).abs().mean() < 0.01
    assert (yo[:, 1:] - yc[:, 1:]).abs().mean() < 0.01
    assert (ys[:, 1:] - yc[:, 1:]).abs().mean() > 0.05  # the painting's chroma really was different


def test_keep_luminance_resizes_the_content(make_photo):
    out = keep_luminance(torch.zeros(2, 3, 10, 12), make_photo(side=40))
    assert out.shape == (2, 3, 10, 12)


def _moments(x):
    flat = x[0].reshape(3, -1)
    return flat.mean(1), torch.cov(flat)


@pytest.mark.parametrize("mode", ["pca", "cholesky"])
def test_match_color_gives_the_reference_mean_and_covariance(mode, make_photo, make_painting):
    image, reference = make_painting(1, 32) * 0.5, make_photo(side=40) * 0.5  # moderate colours: no clamping
    out = match_color(image, reference, mode=mode)
    mo, co = _moments(out)
    mr, cr = _moments(reference)
    mi, ci = _moments(image)
    assert (mo - mr).abs().max() < 1e-3 and (co - cr).abs().max() < 1e-3
    assert (ci - cr).abs().max() > 0.01  # they did differ before


def test_match_color_rejects_unknown_mode():
    with pytest.raises(ValueError):
        match_color(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), mode="lab")
