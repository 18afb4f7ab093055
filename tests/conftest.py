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
