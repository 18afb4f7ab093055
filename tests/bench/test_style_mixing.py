import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import style_mixing  # noqa: E402

from artforge.models import create_model, save_export  # noqa: E402


def test_mixing_bench_measures_an_export(tmp_path):
    kwargs = dict(image_size=32, latent_dim=16, width=8, max_width=16, mapping_layers=2)
    torch.manual_seed(0)
    nets = create_model("stylegan", parts=("generator",), **kwargs)
    config = {"model": "stylegan", "model_kwargs": kwargs, "method": "stylegan", "method_kwargs": {}, "image_size": 32}
    save_export(tmp_path / "model", nets, config)
    out = style_mixing.main([str(tmp_path / "model"), "-n", "8", "--json", str(tmp_path / "m.json")])
    assert out["layers_from_a"] == [0, 1, 2, 3] and out["num_ws"] == 8 and out["pairs"] == 8
    assert out["coarse_from_a"]  # even untrained, the layout comes from the coarse layers
    assert (tmp_path / "m.json").is_file()
