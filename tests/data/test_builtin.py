"""Built-in procedural data sets: deterministic, varied, captions that match the pixels."""

from __future__ import annotations

import re

import numpy as np
import pytest

from artforge.data import make_glyphs, make_shapes
from artforge.data.builtin import BUILTINS, GLYPH_CHARS, PALETTE, SHAPE_FAMILIES


def share(image: np.ndarray, colour, tol=12) -> float:
    """Fraction of pixels within ``tol`` of ``colour``."""
    return float((np.abs(image.astype(int) - np.array(colour)).max(axis=-1) <= tol).mean())


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(48, 32, seed=7)


def test_shapes_layout(shapes):
    images, captions = shapes
    assert images.shape == (48, 32, 32, 3) and images.dtype == np.uint8
    assert len(captions) == 48 and all(isinstance(c, str) and c for c in captions)


def test_shapes_are_deterministic_and_seeded(shapes):
    again, captions = make_shapes(48, 32, seed=7)
    assert np.array_equal(again, shapes[0]) and captions == shapes[1]
    other, _ = make_shapes(48, 32, seed=8)
    assert not np.array_equal(other, shapes[0])


def test_shapes_prefix_property():
    short, short_caps = make_shapes(10, 24, seed=3)
    long, long_caps = make_shapes(20, 24, seed=3)
    assert np.array_equal(short, long[:10]) and short_caps == long_caps[:10]


def test_shapes_are_diverse(shapes):
    images, captions = shapes
    flat = images.reshape(len(images), -1)
    assert len({row.tobytes() for row in flat}) == len(images)  # no two identical
    assert len(set(captions)) > len(captions) // 2
    assert images.std(axis=(1, 2, 3)).min() > 20  # bold contrast, never a blank canvas
    for family in SHAPE_FAMILIES:
        assert sum(family in c for c in captions) >= 48 // len(SHAPE_FAMILIES), family


def test_caption_colours_are_in_the_picture(shapes):
    """'green diagonal stripes on cream': both colours really cover the picture."""
    images, captions = shapes
    names = "|".join(sorted(PALETTE, key=len, reverse=True))
    pattern = re.compile(rf"^({names}) (?:\w+ )?(?:stripes|waves|quarter-circle truchet tiles) on ({names})$")
    checked = 0
    for image, caption in zip(images, captions):
        m = pattern.match(caption)
        if m:
            assert share(image, PALETTE[m[1]]) > 0.08, caption
            assert share(image, PALETTE[m[2]]) > 0.1, caption
            checked += 1
    assert checked >= 20


def test_grid_caption_names_its_block_colours(shapes):
    images, captions = shapes
    for image, caption in zip(images, captions):
        if "black grid" in caption:
            blocks = caption.split(" blocks")[0].replace(" and ", ", ").split(", ")
            for colour in blocks:
                assert share(image, PALETTE[colour]) > 0.01, caption
            ground = caption.rsplit(" on ", 1)[1]
            assert share(image, PALETTE[ground]) > 0.05, caption


def test_glyphs_captions_and_look():
    images, captions = make_glyphs(32, seed=0, n=40)
    assert images.shape == (40, 32, 32, 3) and images.dtype == np.uint8
    for image, caption in zip(images, captions):
        assert re.fullmatch(r"(letter [A-Za-z]|digit [0-9]), \S.*", caption), caption
        corners = image[[0, 0, -1, -1], [0, -1, 0, -1]]
        assert corners.min() > 200  # light ground
        assert image.min() < 90  # a dark glyph
    assert len({c.split(", ")[1] for c in captions}) > 1 or captions[0].endswith("Pillow default")


def test_glyphs_cover_every_character_and_subset_is_stable():
    full, full_caps = make_glyphs(16, seed=1)
    assert {c.split(",")[0][-1] for c in full_caps} == set(GLYPH_CHARS)
    assert len(full) % 1 == 0 and len(full) >= len(GLYPH_CHARS)
    part, part_caps = make_glyphs(16, seed=1, n=25)
    assert len(part) == 25
    index = {cap: i for i, cap in enumerate(full_caps)}
    positions = [index[c] for c in part_caps]
    assert positions == sorted(positions)  # a subset, in the full order
    assert all(np.array_equal(part[j], full[i]) for j, i in enumerate(positions))
    again, again_caps = make_glyphs(16, seed=1, n=25)
    assert np.array_equal(again, part) and again_caps == part_caps
    assert make_glyphs(16, seed=2, n=25)[1] != part_caps


def test_glyphs_fall_back_to_pillow_font(tmp_path):
    images, captions = make_glyphs(24, font_dirs=[tmp_path])  # no font files there
    assert len(images) == len(GLYPH_CHARS)
    assert captions[0] == "letter A, Pillow default" and captions[-1] == "digit 9, Pillow default"
    assert images.min() < 90 and images[:, 0, 0].min() > 200


def test_builtins_registry_has_uniform_signature():
    assert set(BUILTINS) == {"shapes", "glyphs", "paintings"}
    for name, make in BUILTINS.items():
        images, captions = make(5, 16, 0)
        assert images.shape == (5, 16, 16, 3) and len(captions) == 5, name
