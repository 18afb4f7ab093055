"""Smoke test of bench/train_speed.py: it runs, and its JSON has every figure (no speed assertion)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "train_speed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_quick_run_writes_the_figures(bench, tmp_path):
    out = tmp_path / "speed.json"
    bench.main(["--quick", "--threads", "2", "--json", str(out)])
    data = json.loads(out.read_text())

    assert {"machine", "config", "date", "peak_gflops", "variants", "ratio"} <= set(data)
    assert data["config"]["quick"] is True
    assert _positive(data["peak_gflops"]["fp32"]) and _positive(data["peak_gflops"]["bf16"])
    assert {"baseline", "trainer-fp32", "trainer-auto"} <= set(data["variants"])
    for name, row in data["variants"].items():
        for key in (
            "step_ms_median",
            "images_per_s",
            "gflop_per_step",
            "achieved_gflops",
            "fraction_of_peak",
            "speedup_vs_baseline",
        ):
            assert _positive(row[key]), (name, key, row[key])
        assert row["precision"] in ("fp32", "bf16")
        assert len(row["step_ms_rounds"]) == data["config"]["rounds"]
    assert data["variants"]["trainer-fp32"]["precision"] == "fp32"
    assert set(data["ratio"]) == set(data["variants"]) - {"baseline"}
    assert all(_positive(v) for v in data["ratio"].values())
