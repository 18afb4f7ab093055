"""Offline, with the shipped weights: EfficientNet-Lite0 recognises skimage's photos."""

import numpy as np
import pytest
import torch
from PIL import Image

from artforge.backbones import create_backbone, list_backbones
from artforge.errors import ArtforgeError
from artforge.pictures import to_unit

skimage_data = pytest.importorskip("skimage.data")


def _photo(name: str, size: int = 224) -> torch.Tensor:
    """Resize the shorter side to ``size``, centre-crop, -> 1×3×S×S in [-1, 1]."""
    im = Image.fromarray(getattr(skimage_data, name)()).convert("RGB")
    w, h = im.size
    scale = size / min(w, h)
    im = im.resize((round(w * scale), round(h * scale)), Image.Resampling.BICUBIC)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    arr = np.array(im.crop((left, top, left + size, top + size)))
    return to_unit(torch.from_numpy(arr).permute(2, 0, 1)[None])


@pytest.fixture(scope="module")
def effnet():
    return create_backbone("effnet-lite0")


@pytest.mark.parametrize("photo,classes", [("chelsea", {285, 281}), ("coffee", {967})])
def test_imagenet_top1(effnet, photo, classes):
    logits = effnet.features(_photo(photo), layers=("logits",))["logits"]
    assert logits.argmax(1).item() in classes  # 285 Egyptian cat, 281 tabby, 967 espresso


def test_feature_taps_any_size_and_batching(effnet):
    x = torch.rand(5, 3, 96, 80) * 2 - 1
    feats = effnet.features(x, layers=("stem", "stage3", "pool"), batch_size=2)
    assert feats["stem"].shape == (5, 32, 48, 40)
    assert feats["stage3"].shape[:2] == (5, 40)
    assert feats["pool"].shape == (5, 1280)
    assert not feats["pool"].requires_grad
    one = effnet.features(x[:1], layers=("pool",))["pool"]
    torch.testing.assert_close(one, feats["pool"][:1], atol=1e-4, rtol=1e-4)


def test_gradients_flow_to_the_image_when_asked(effnet):
    x = (torch.rand(1, 3, 64, 64) * 2 - 1).requires_grad_(True)
    effnet.features(x, layers=("stage2",), grad=True)["stage2"].square().mean().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is None for p in effnet.parameters())  # the backbone itself stays frozen


def test_stays_in_eval_mode_and_registry_errors(effnet):
    effnet.train()
    assert not effnet.net.training
    assert "effnet-lite0" in list_backbones()
    with pytest.raises(ArtforgeError, match="unknown backbone"):
        create_backbone("resnet-9000")
    with pytest.raises(KeyError, match="unknown EfficientNet-Lite0 layer"):
        effnet.features(torch.zeros(1, 3, 32, 32), layers=("block99",))
