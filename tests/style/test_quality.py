"""Quality figures: measured on another network, on a scale set by the trivial outputs."""

from __future__ import annotations

import pytest

from artforge.style.gatys import GatysConfig, stylize
from artforge.style.quality import cover_resize, format_scores, measuring_backbone, score_with_baselines

pytestmark = pytest.mark.usefixtures("one_thread")


def test_measured_on_another_family():
    for name in ("vgg19", "vgg19-random", "effnet-lite0", "effnet-lite0-swag"):
        other = measuring_backbone(name)
        assert other != name and ("vgg" in other) != ("vgg" in name)


def test_trivial_outputs_set_the_scale(content, style):
    unchanged = score_with_baselines(content, content, [style], "vgg19-random", size=64)
    assert unchanged["output"]["content"] == 0 and unchanged["style_progress"] == pytest.approx(0)
    assert unchanged["content_kept"] == pytest.approx(1)
    painted = score_with_baselines(cover_resize(style, content.shape[-2:]), content, [style], "vgg19-random", size=64)
    assert painted["style_progress"] == pytest.approx(1, abs=0.02)
    assert painted["content_kept"] == pytest.approx(0, abs=0.02)
    # The painting is far from the photo's content and close to its own style; the photo the reverse.
    assert painted["output"]["content"] > 0.3
    assert painted["output"]["style_gram"] < 0.3 * unchanged["output"]["style_gram"]


def test_a_stylised_picture_lands_in_between(content, style):
    result = stylize(content, [style], GatysConfig(backbone="effnet-lite0", iterations=20, progress=False))
    table = score_with_baselines(result.image, content, [style], "effnet-lite0", size=64)
    assert table["measured_on"] == "vgg19-random"
    assert 0.1 < table["style_progress"] < 1 and 0 < table["content_kept"] < 1
    assert table["output"]["style_meanstd"] < table["content_unchanged"]["style_meanstd"]
    text = format_scores(table)
    assert "stylised output" in text and "style image resized" in text and "content unchanged" in text


def test_cover_resize_fills_the_frame(style):
    out = cover_resize(style, (30, 70))
    assert out.shape[-2:] == (30, 70)
