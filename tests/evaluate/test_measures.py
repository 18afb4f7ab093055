import torch
import torch.nn.functional as F

from artforge.data.builtin import make_shapes
from artforge.evaluate.measures import MEASURES, compute_measures, gini_mean_difference
from artforge.pictures import to_unit


def _shapes(n, size=64, seed=0):
    arr, _ = make_shapes(n, size, seed=seed)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def _solid(rgb, size=64):
    return torch.tensor(rgb, dtype=torch.uint8).view(1, 3, 1, 1).expand(1, 3, size, size).contiguous()


def test_every_measure_is_reported_per_picture_for_uint8_and_float_inputs():
    pics = _shapes(5)
    a = compute_measures(pics)
    b = compute_measures(to_unit(pics))
    assert set(a) == set(MEASURES)
    for m in MEASURES:
        assert a[m].shape == (5,)
        assert torch.allclose(a[m], b[m], rtol=1e-3, atol=1e-3), m


def test_grey_pictures_have_no_colour_and_pure_colours_are_saturated_and_colourful():
    grey, red = compute_measures(_solid((128, 128, 128))), compute_measures(_solid((255, 0, 0)))
    assert grey["colorfulness"].item() < 1e-3 and grey["saturation"].item() == 0
    assert red["saturation"].item() == 1.0
    # a flat colour has no spread: M = 0.3·|μ_rgyb| = 0.3·√(255² + 127.5²) exactly
    assert abs(red["colorfulness"].item() - 0.3 * (255**2 + 127.5**2) ** 0.5) < 0.05
    halves = torch.cat([_solid((255, 0, 0))[..., :32], _solid((0, 255, 0))[..., 32:]], -1)
    assert compute_measures(halves)["colorfulness"].item() > 200  # "extremely colourful" is above ~109


def test_contrast_entropy_and_sharpness_fall_when_a_picture_is_flattened_or_blurred():
    pics = _shapes(6, seed=1)
    blurred = F.avg_pool2d(pics.float(), 5, stride=1, padding=2, count_include_pad=False).round().to(torch.uint8)
    flat = (pics.float() * 0.2 + 100).round().to(torch.uint8)
    m, mb, mf = compute_measures(pics), compute_measures(blurred), compute_measures(flat)
    assert (mb["sharpness"] < 0.5 * m["sharpness"]).all()
    assert (mf["contrast"] < 0.3 * m["contrast"]).all()
    assert compute_measures(_solid((10, 200, 30)))["entropy"].item() == 0
    noise = torch.randint(0, 256, (1, 3, 256, 256), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    assert compute_measures(noise)["entropy"].item() > 7.0


def test_symmetry_is_one_for_mirror_images_and_low_for_unrelated_halves():
    g = torch.Generator().manual_seed(0)
    left = torch.randint(0, 256, (1, 3, 64, 32), generator=g, dtype=torch.uint8)
    mirrored = torch.cat([left, left.flip(-1)], -1)
    noise = torch.randint(0, 256, (1, 3, 64, 64), generator=g, dtype=torch.uint8)
    assert compute_measures(mirrored)["symmetry"].item() > 0.9
    assert compute_measures(noise)["symmetry"].item() < 0.2


def test_gini_mean_difference_matches_the_pairwise_definition():
    x = torch.rand(2, 50, dtype=torch.float64)
    direct = (x[:, :, None] - x[:, None, :]).abs().mean((1, 2))
    assert torch.allclose(gini_mean_difference(x), direct)


def test_rule_of_thirds_prefers_a_subject_on_a_thirds_point_to_one_in_the_centre():
    def blob(cy, cx, size=96):
        t = torch.arange(size, dtype=torch.float) / size
        d = (t[:, None] - cy) ** 2 + (t[None, :] - cx) ** 2
        img = 40 + 200 * (d < 0.004).float()
        return img.round().to(torch.uint8).expand(1, 3, size, size).contiguous()

    on_thirds = compute_measures(blob(1 / 3, 2 / 3))["thirds"].item()
    centred = compute_measures(blob(0.5, 0.5))["thirds"].item()
    assert on_thirds > 1.5 and centred < 1.0
