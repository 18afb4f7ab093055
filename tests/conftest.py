import os

import pytest
import torch

# Two cores on CI: keep torch from oversubscribing them.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Decoded-image caches go to a per-session temp folder, never the user's ~/.cache.
    monkeypatch.setenv("ARTFORGE_CACHE", str(tmp_path_factory.getbasetemp() / "artforge-cache"))
