import pytest
import torch

from artforge.backbones import create_backbone
from artforge.backbones.vgg import VGG19, pretrained_vgg19, random_vgg19
from artforge.errors import ArtforgeError


def test_loader_reads_a_torchvision_style_checkpoint(tmp_path):
    source = random_vgg19(seed=3)
    state = {k: v for k, v in source.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)  # extra classifier keys are ignored, as in the real file
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(state, path)
    net = pretrained_vgg19(path)
    for key, value in source.state_dict().items():
        assert torch.equal(net.state_dict()[key], value)


def test_loader_explains_missing_and_wrong_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("ARTFORGE_VGG19", raising=False)
    with pytest.raises(ArtforgeError, match="vgg19-random"):
        pretrained_vgg19()
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ArtforgeError, match="does not hold VGG-19"):
        pretrained_vgg19(wrong)
    with pytest.raises(ArtforgeError, match="not found"):
        pretrained_vgg19(tmp_path / "nope.pth")


def test_random_vgg_is_reproducible_and_tapped_by_name():
    a, b = random_vgg19(seed=0), random_vgg19(seed=0)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    net = create_backbone("vgg19-random")
    feats = net.features(torch.rand(2, 3, 32, 32) * 2 - 1, layers=("relu1_1", "relu3_1", "pool5"))
    assert feats["relu1_1"].shape == (2, 64, 32, 32)
    assert feats["relu3_1"].shape == (2, 256, 8, 8)
    assert feats["pool5"].shape == (2, 512, 1, 1)
    assert len(VGG19().layer_names) == len(VGG19().features)
    with pytest.raises(KeyError, match="relu4_2"):
        net.features(torch.zeros(1, 3, 32, 32), layers=("relu9_9",))
