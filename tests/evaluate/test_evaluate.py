import torch

from artforge.data.builtin import make_shapes
from artforge.evaluate.evaluate import evaluate, extract_features


def _shapes(n, seed):
    arr, _ = make_shapes(n, 32, seed=seed)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def test_memorization_flags_copies_and_not_new_pictures_of_the_same_kind(tmp_path):
    train = _shapes(40, seed=0)
    copies = train[:12].clone()            # a "model" that returns training pictures verbatim
    fresh = _shapes(12, seed=99)           # unseen pictures of the same kind
    copied = evaluate(copies, train, metrics=("memorization",), out_dir=tmp_path)["memorization"]
    novel = evaluate(fresh, train, metrics=("memorization",))["memorization"]
    assert copied["fraction_flagged"] == 1.0
    assert copied["feature_nearest"] == list(range(12))
    assert novel["fraction_flagged"] <= 0.1
    assert (tmp_path / "memorization-pairs.png").is_file()


def test_two_halves_score_lower_than_blurred_copies():
    import torch.nn.functional as F

    pics = _shapes(80, seed=1)
    a, b = pics[:40], pics[40:]
    blurred = F.avg_pool2d(a.float(), 5, stride=1, padding=2).round().to(torch.uint8)
    same = evaluate(b, a, metrics=("fid", "kid"), kid_subset=20)
    blur = evaluate(blurred, a, metrics=("fid", "kid"), kid_subset=20)
    assert same["fid"] < blur["fid"]
    assert same["kid"] < blur["kid"]


def test_real_features_are_cached_by_content(monkeypatch):
    pics = _shapes(6, seed=2)
    first = extract_features(pics)
    import artforge.evaluate.evaluate as ev

    monkeypatch.setattr(ev, "create_backbone", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    torch.testing.assert_close(extract_features(pics), first)
