"""Generated vs real: the metric suite, its feature-space label and small-N warning, the memorisation check."""

import torch

from artforge.data.builtin import make_shapes
from artforge.evaluate.compare import format_result, measure_against_real, selection_metric, small_sample_warnings
from artforge.pictures import to_unit


def _shapes(n, seed):
    arr, _ = make_shapes(n, 32, seed=seed)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def test_memorization_flags_copies_and_not_new_pictures_of_the_same_kind(tmp_path):
    train = _shapes(40, seed=0)
    copies = to_unit(train[:12])  # a "model" that returns training pictures verbatim (as floats)
    fresh = _shapes(12, seed=99)  # unseen pictures of the same kind
    copied = measure_against_real(copies, train, metrics=("memorization",), out_dir=tmp_path)["memorization"]
    novel = measure_against_real(fresh, train, metrics=("memorization",))["memorization"]
    assert copied["fraction_flagged"] == 1.0
    assert copied["feature_nearest"] == list(range(12)) and copied["pixel_nearest"] == list(range(12))
    assert novel["fraction_flagged"] <= 0.1
    assert (tmp_path / "memorization-pairs.png").is_file()


def test_two_halves_score_lower_than_blurred_copies():
    import torch.nn.functional as F

    pics = _shapes(80, seed=1)
    a, b = pics[:40], pics[40:]
    blurred = F.avg_pool2d(a.float(), 5, stride=1, padding=2).round().to(torch.uint8)
    same = measure_against_real(b, a, metrics=("fid", "kid"), kid_subset=20)
    blur = measure_against_real(blurred, a, metrics=("fid", "kid"), kid_subset=20)
    assert same["fid"] < blur["fid"]
    assert same["kid"] < blur["kid"]


def test_results_name_their_feature_space_and_warn_about_fid_below_the_dimension():
    pics = _shapes(24, seed=2)
    result = measure_against_real(pics[:12], pics[12:], metrics=("fid", "kid"), kid_subset=4)
    assert result["features"] == {"backbone": "effnet-lite0", "layer": "pool", "dim": 1280, "size": 224}
    (warning,) = result["warnings"]
    assert "N = 12" in warning and "1280" in warning and "biased upward" in warning and "KID" in warning
    lines = format_result(result)
    assert lines[0] == "12 generated vs 12 real, features: effnet-lite0 pool, 1280-d, 224 px"
    assert any(line.split()[0] == "fid" for line in lines[1:])
    no_fid = measure_against_real(pics[:12], pics[12:], metrics=("kid",), kid_subset=4)
    assert no_fid["warnings"] == []  # the warning is about FID


def test_selection_metric_switches_to_kid_below_the_feature_dimension():
    assert selection_metric(500, 1280) == "kid"
    assert selection_metric(1280, 1280) == "kid"  # N pictures give a covariance of rank N − 1 at most
    assert selection_metric(1281, 1280) == "fid"
    assert small_sample_warnings(5000, 2000, 1280) == []
    assert len(small_sample_warnings(5000, 1000, 1280)) == 1  # the smaller side decides
