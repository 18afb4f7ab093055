import os
from pathlib import Path

import pytest
import torch

# Two cores on CI: keep torch from oversubscribing them.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Decoded-image caches go to a per-session temp folder, never the user's ~/.cache.
    monkeypatch.setenv("ARTFORGE_CACHE", str(tmp_path_factory.getbasetemp() / "artforge-cache"))


def subprocess_env(tmp_path: Path) -> dict[str, str]:
    """Environment for an artforge child process: this checkout's src first, a private cache, one thread."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {
        **os.environ,
        "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "ARTFORGE_CACHE": str(tmp_path / "cache"),
        "OMP_NUM_THREADS": "1",
    }


def tiny_export(folder: Path, model: str = "dcgan", seed: int = 0, **kwargs) -> Path:
    """An export of an untrained tiny ``model`` (random weights, seeded): enough for sampling code paths."""
    from artforge.models import create_model, get_family, save_export

    sizes = {"stylegan": 32, "fastgan": 32}
    kw = {"image_size": sizes.get(model, 16), "width": 8, **kwargs}
    if model != "ddpm":
        kw.setdefault("latent_dim", 8)
    if model == "stylegan":
        kw.update(max_width=16, mapping_layers=2)
    family = get_family(model)
    torch.manual_seed(seed)
    part = {"gan": "generator", "vae": "vae", "ddpm": "unet"}.get(family.method, "generator")
    nets = create_model(model, parts=(part,), **kw)
    for net in nets.values():
        for m in net.modules():  # torch's default initialisation: pictures that differ from seed to seed
            if m is not net and hasattr(m, "reset_parameters") and not list(m.children()):
                m.reset_parameters()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = None  # statistics of the batches below, as the trainer's refresh does
        if part == "generator":
            with torch.no_grad():
                net.train()(torch.randn(256, kw["latent_dim"]))
        net.eval()
    config = {
        "model": model,
        "model_kwargs": kw,
        "method": family.method,
        "method_kwargs": {"sample_steps": 4} if model == "ddpm" else {},
        "image_size": kw["image_size"],
    }
    return save_export(folder, nets, config)
