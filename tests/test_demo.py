import re

from artforge.demo import run_demo
from artforge.generate import DEFAULT_MODEL, load_model


def test_shipped_default_model_loads_and_samples():
    model = load_model(DEFAULT_MODEL)
    assert model.config["model"] == "dcgan" and model.config["source"] == "builtin:shapes"
    images = model.sample(4)
    assert images.shape == (4, 3, 64, 64)
    assert images.std() > 0.2  # pictures, not a flat grey


def test_demo_writes_a_page_whose_links_all_exist(tmp_path):
    page = run_demo(tmp_path / "demo")
    text = page.read_text()
    links = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert len(links) >= 5
    for link in links:
        assert (page.parent / link).is_file(), link
