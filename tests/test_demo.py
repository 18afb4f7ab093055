import re

import torch

from artforge.demo import _style_mixing, run_demo
from artforge.generate import DEFAULT_MODEL, load_model
from artforge.methods import create_method
from artforge.models import create_model


def test_shipped_default_model_loads_and_samples():
    model = load_model(DEFAULT_MODEL)
    assert model.config["model"] == "fastgan" and model.config["source"] == "builtin:shapes"
    images = model.sample(4)
    assert images.shape == (4, 3, 64, 64)
    assert images.std() > 0.2  # pictures, not a flat grey


def test_demo_writes_a_page_whose_links_all_exist(tmp_path):
    page = run_demo(tmp_path / "demo")
    text = page.read_text()
    links = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert len(links) >= 5
    assert "Your picture in the model" in text and "edit/projected-edits.png" in links
    for link in links:
        assert (page.parent / link).is_file(), link


def test_a_model_with_layers_gets_a_style_mixing_grid_and_one_without_does_not(tmp_path):
    torch.manual_seed(0)
    nets = create_model("stylegan", parts=("generator",), image_size=32, latent_dim=8, width=4, max_width=8)
    section = _style_mixing(create_method("stylegan", {k: v.eval() for k, v in nets.items()}), tmp_path)
    assert "Style mixing" in section and (tmp_path / "style-mixing.png").is_file()
    assert _style_mixing(load_model(DEFAULT_MODEL), tmp_path / "other") == ""
