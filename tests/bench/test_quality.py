"""Smoke test of bench/quality.py: a few seconds per contestant on 40 pictures; the JSON, grids and race PNG."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
from PIL import Image

from artforge.data.sources import prepare

BENCH = Path(__file__).resolve().parents[2] / "bench" / "quality.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("quality", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def test_quick_race_writes_figures_and_pictures(bench, tmp_path, capsys):
    data = tmp_path / "shapes"
    prepare("builtin:shapes", data, 64, n_builtin=40, progress=False)
    out = tmp_path / "race"
    argv = ["--quick", "--source", str(data), "--contestants", "baseline,dcgan", "--seconds", "1,2"]
    bench.main(argv + ["--eval-n", "16", "--batch", "16", "--threads", "2", "--out", str(out)])
    result = json.loads((out / "quality.json").read_text())

    assert {"machine", "date", "data", "settings", "contestants", "race_png"} <= set(result)
    assert result["data"]["training_count"] == 40
    assert result["settings"]["eval_n"] == 16
    assert result["settings"]["features"]["backbone"] == "effnet-lite0"
    assert list(result["contestants"]) == ["baseline", "dcgan"]
    assert result["contestants"]["dcgan"]["config"]["model"] == "dcgan"  # the resolved TrainConfig
    for name, r in result["contestants"].items():
        assert [s["budget"] for s in r["snapshots"]] == ["1s", "2s"], name
        first, last = r["snapshots"]
        assert 0 < first["steps"] <= last["steps"], name
        assert last["seconds"] >= 2.0 and _finite(last["images_per_s"]) and last["images_per_s"] > 0, name
        for snap in r["snapshots"]:
            m = snap["metrics"]
            assert _finite(m["fid"]) and _finite(m["kid"]) and _finite(m["kid_std"]), name
            assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1, name
            assert 0 <= m["memorization"]["fraction_flagged"] <= 1, name
            assert Image.open(snap["grid_png"]).size == (bench.grid_width(), bench.grid_width())

    for label in ("1s", "2s"):
        race = Image.open(out / f"race-{label}.png")
        assert race.width == 2 * bench.grid_width() + 3 * bench.GAP
        assert race.height == bench.LABEL_H + bench.grid_width() + bench.GAP
    table = capsys.readouterr().out
    assert "| contestant | model |" in table and "| baseline | dcgan (pytorch/examples) |" in table
    assert "| 1.00 |" in table  # the baseline's own FID ratio


def test_a_missing_model_fails_before_anything_runs(bench):
    with pytest.raises(SystemExit, match="not registered.*registered: "):
        bench.check_contestants(["baseline", "x"], {"x": {"model": "no-such-model"}})
    with pytest.raises(SystemExit, match="unknown TrainConfig field"):
        bench.check_contestants(["x"], {"x": {"no_such_field": 1}})
