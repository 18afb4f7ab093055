"""Feature extraction: cached by 8-bit content, hashed only when cached, converted a batch at a time."""

import hashlib

import pytest
import torch

import artforge.evaluate.features as features
from artforge.data.builtin import make_shapes
from artforge.evaluate.features import content_key, extract_features, nearest
from artforge.pictures import to_unit


def _shapes(n, seed, size=32):
    arr, _ = make_shapes(n, size, seed=seed)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def _no_backbone(monkeypatch):
    monkeypatch.setattr(
        features, "create_backbone", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed"))
    )


def test_real_features_are_cached_by_content(monkeypatch):
    pics = _shapes(6, seed=2)
    first = extract_features(pics)
    assert first.shape == (6, 1280) and first.device.type == "cpu"
    _no_backbone(monkeypatch)
    torch.testing.assert_close(extract_features(pics), first)


def test_uint8_and_the_same_pictures_in_float_share_a_cache_entry(monkeypatch):
    pics = _shapes(4, seed=3)
    as_float = to_unit(pics)
    assert content_key(pics, "effnet-lite0", "pool", "224") == content_key(as_float, "effnet-lite0", "pool", "224")
    assert content_key(pics, "a") != content_key(pics, "b") != content_key(pics.flip(0), "b")
    first = extract_features(as_float)
    _no_backbone(monkeypatch)
    torch.testing.assert_close(extract_features(pics), first)


def test_the_key_does_not_depend_on_how_the_pictures_are_chunked(monkeypatch):
    pics = _shapes(5, seed=4)
    whole = content_key(pics, "x")
    monkeypatch.setattr(features, "_HASH_BATCH", 2)
    assert content_key(pics, "x") == whole


def test_without_the_cache_nothing_is_hashed_and_the_features_are_the_same(monkeypatch):
    pics = to_unit(_shapes(5, seed=5))
    cached = extract_features(pics, cache=True)

    def refuse(*_, **__):
        raise AssertionError("hashed although the cache is off")

    monkeypatch.setattr(hashlib, "sha256", refuse)
    torch.testing.assert_close(extract_features(pics, cache=False), cached)


def test_batches_are_converted_one_at_a_time_and_concatenate_to_the_whole():
    pics = _shapes(6, seed=6)
    whole = extract_features(pics, cache=False, batch_size=2)  # three batches
    parts = torch.cat([extract_features(pics[i : i + 2], cache=False) for i in (0, 2, 4)])
    torch.testing.assert_close(whole, parts)


def test_a_damaged_cache_entry_is_recomputed():
    pics = _shapes(3, seed=7)
    first = extract_features(pics)
    path = features._cache_dir() / f"{content_key(pics, 'effnet-lite0', 'pool', '224')}.npy"
    assert path.is_file()
    path.write_bytes(b"not an array")
    torch.testing.assert_close(extract_features(pics), first)


def test_nearest_and_excluding_self():
    ref = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]])
    dist, idx = nearest(torch.tensor([[0.9, 0.0]]), ref)
    assert idx.tolist() == [1] and dist.item() == pytest.approx(0.1)
    dist, idx = nearest(ref, ref, exclude_self=True)
    assert idx.tolist() == [1, 0, 1] and dist.tolist() == [1.0, 1.0, 4.0]
