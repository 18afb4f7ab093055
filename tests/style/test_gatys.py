"""Gatys optimisation: losses fall, the picture moves to the style, every control does what it says."""

from __future__ import annotations

import pytest
import torch

from artforge.errors import ArtforgeError
from artforge.style.color import rgb_to_yiq
from artforge.style.gatys import (
    STYLE_BACKBONES,
    GatysConfig,
    StyleObjective,
    blend_weights,
    gram,
    pixel_blend,
    soften,
    stylize,
)

pytestmark = pytest.mark.usefixtures("one_thread")

# effnet-lite0 is the fast backbone (a few ms per iteration at 48 px); the behaviour is the same for all.
FAST = dict(backbone="effnet-lite0", iterations=15, progress=False, image_size=48, init="content")


def cfg(**changes) -> GatysConfig:
    return GatysConfig(**{**FAST, **changes})


def gram_distance(image: torch.Tensor, style: torch.Tensor, backbone: str = "effnet-lite0") -> float:
    """Relative Gram distance to the style on the given backbone's style layers."""
    obj = StyleObjective(cfg(backbone=backbone))
    gi, gs = obj.grams(image), obj.grams(style)
    return sum(float((gi[k] - gs[k]).square().sum() / gs[k].square().sum()) for k in gi) / len(gi)


@pytest.fixture(scope="module")
def full(one_thread, content, style):
    return stylize(content, [style], cfg())


def test_style_loss_decreases_and_output_moves_to_the_style(full, content, style):
    first, last = full.history[0], full.history[-1]
    assert last["style"] < 0.5 * first["style"] and last["loss"] < first["loss"]
    assert full.image.shape == content.shape and full.image.abs().max() <= 1
    assert (full.image - content).abs().mean() > 0.05
    assert gram_distance(full.image, style) < 0.6 * gram_distance(content, style)


def test_style_moves_toward_the_style_on_another_network_too(full, content, style):
    """Not only the optimised network agrees: VGG's statistics move toward the painting's as well."""
    assert gram_distance(full.image, style, "vgg19-random") < gram_distance(content, style, "vgg19-random")


@pytest.mark.parametrize("backbone", ["effnet-lite0-swag", "vgg19-random"])
def test_other_backbones_stylise(backbone, content, style):
    small = content[..., :24, :32]
    result = stylize(small, [style], cfg(backbone=backbone, iterations=8))
    assert result.history[-1]["style"] < result.history[0]["style"]


def test_original_colors_keep_the_content_chroma(full, content, style):
    kept = stylize(content, [style], cfg(original_colors="luminance"))
    chroma = lambda x: rgb_to_yiq(x)[:, 1:]  # noqa: E731
    assert (chroma(kept.image) - chroma(content)).abs().mean() < 0.02
    assert (chroma(full.image) - chroma(content)).abs().mean() > 2 * (chroma(kept.image) - chroma(content)).abs().mean()
    luma = lambda x: rgb_to_yiq(x)[:, :1]  # noqa: E731
    assert (luma(kept.image) - luma(full.image)).abs().mean() < 0.05  # the brushwork (luminance) is the same


def test_histogram_colors_recolour_the_style_first(content, style):
    result = stylize(content, [style], cfg(original_colors="histogram", iterations=10))
    hue = lambda x: rgb_to_yiq(x)[:, 1:].mean(dim=(2, 3))  # noqa: E731
    assert (hue(result.image) - hue(content)).abs().max() < (hue(style) - hue(content)).abs().max()


def test_alpha_zero_is_content_and_alpha_orders_the_style(content, style):
    zero = stylize(content, [style], cfg(alpha=0.0))
    # The style target is the content's own Gram matrix: only the smoothness term moves anything.
    assert (zero.image - content).abs().mean() < 0.02 and (zero.image - content).abs().max() < 0.15
    low = stylize(content, [style], cfg(alpha=0.3))
    high = stylize(content, [style], cfg(alpha=0.7))
    d = [gram_distance(x.image, style) for x in (zero, low, high)]
    assert d[0] > d[1] > d[2]


def test_pixel_mode_is_exactly_the_article_formula(full, content, style):
    blended = stylize(content, [style], cfg(alpha=0.3, alpha_mode="pixel"))
    expected = pixel_blend(content, full.image, article_alpha=0.7)  # x_new = 0.7·x_old + 0.3·G(s)
    assert torch.allclose(blended.image, expected.clamp(-1, 1), atol=1e-6)
    assert torch.equal(pixel_blend(content, full.image, 1.0), content)


def test_mask_keeps_the_style_in_the_white_region(make_photo, style):
    content = make_photo(side=96)  # deep layers are 1/16 of the picture: the mask needs room
    mask = torch.zeros(1, 1, *content.shape[-2:])
    half = content.shape[-1] // 2
    mask[..., :half] = 1
    result = stylize(content, [style], cfg(iterations=25, image_size=96), mask=mask)
    change = (result.image - content).abs().mean(dim=(0, 1, 2))
    inside, outside = change[: half - 12].mean(), change[half + 12 :].mean()
    assert inside > 3 * outside
    assert outside < 1e-4  # with one style, the black region stays the content picture (feathered edge)


def test_mask_with_two_styles_gives_each_region_its_style(content, style, style2):
    mask = torch.zeros(1, 1, *content.shape[-2:])
    mask[..., : content.shape[-1] // 2] = 1
    result = stylize(content, [style, style2], cfg(iterations=25), mask=mask)
    half = content.shape[-1] // 2
    left, right = result.image[..., : half - 2], result.image[..., half + 2 :]
    assert gram_distance(left, style) < gram_distance(left, style2)
    assert gram_distance(right, style2) < gram_distance(right, style)


def test_blend_weights_interpolate_the_targets(content, style, style2):
    only_first = stylize(content, [style, style2], cfg(style_blend_weights=(1.0, 0.0)))
    single = stylize(content, [style], cfg())
    assert torch.allclose(only_first.image, single.image, atol=1e-5)
    assert blend_weights((3, 1), 2) == [0.75, 0.25]
    with pytest.raises(ArtforgeError, match="one per style image"):
        blend_weights((1.0,), 2)


def test_random_and_file_init_and_adam(content, style, tmp_path):
    rnd = stylize(content, [style], cfg(init="random", seed=1, iterations=10))
    again = stylize(content, [style], cfg(init="random", seed=1, iterations=10))
    assert torch.equal(rnd.image, again.image)
    adam = stylize(content, [style], cfg(optimizer="adam", learning_rate=0.05, iterations=10))
    assert adam.history[-1]["loss"] < adam.history[0]["loss"]
    from artforge.style.io import write_image

    write_image(tmp_path / "start.png", style)
    from_file = stylize(content, [style], cfg(init=str(tmp_path / "start.png"), iterations=1))
    assert (from_file.image - content).abs().mean() > 0.1  # it started from the painting, not the photo


def test_fast_init_starts_from_the_adain_result(content, style):
    from artforge.style.adain import load_adain, stylize_fast

    start = stylize_fast(load_adain(), content, [style])
    zero = stylize(content, [style], cfg(init="fast", iterations=0))
    assert (zero.image - start).abs().max() < 1e-5  # no iteration: exactly the fast result
    refined = stylize(content, [style], cfg(init="fast", iterations=5))
    assert refined.history[-1]["loss"] < refined.history[0]["loss"]


def test_callback_runs_every_save_every(content, style):
    seen = []
    stylize(content, [style], cfg(iterations=6, save_every=2), callback=lambda step, img: seen.append(step))
    assert seen == [2, 4, 6]


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(style_layers=("relu9_9",)), "bad layer name"),
        (dict(content_layers=("nope",)), "bad layer name"),
        (dict(backbone="resnet"), "unknown style backbone"),
        (dict(alpha=1.5), "--alpha"),
        (dict(init="/no/such.png"), "--init"),
        (dict(optimizer="sgd"), "--optimizer"),
        (dict(coarse_size=8), "--coarse-size"),
    ],
)
def test_bad_settings_are_artforge_errors(changes, message, content, style):
    with pytest.raises(ArtforgeError, match=message):
        stylize(content, [style], cfg(**changes))


def test_soften_is_a_scaled_softmax_and_size_free():
    x = torch.randn(1, 4, 6, 6)
    s = soften(x)
    assert torch.allclose(s.sum(), torch.tensor(float(x.numel())), rtol=1e-5)
    assert torch.allclose(s / x.numel(), torch.softmax(x.flatten(), 0).view_as(x), atol=1e-7)
    tiled = soften(x.repeat(1, 1, 2, 2))  # the same statistics over a larger map: the same Gram matrix
    assert torch.allclose(gram(tiled), gram(s), rtol=1e-4)


def test_masked_gram_of_a_full_mask_is_the_plain_gram():
    f = torch.randn(1, 5, 7, 7)
    assert torch.allclose(gram(f, torch.ones(1, 1, 7, 7)), gram(f), atol=1e-6)


def test_every_registered_backbone_has_layers():
    for name, spec in STYLE_BACKBONES.items():
        assert spec.content_layers and spec.style_layers, name
