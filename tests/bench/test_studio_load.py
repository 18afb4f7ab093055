"""bench/studio_load.py runs end to end: a short run with few clients has zero errors and times every action."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import studio_load  # noqa: E402


def test_short_load_run_has_no_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = studio_load.main(
        ["--clients", "3", "--seconds", "5", "--rounds", "2", "--home", str(tmp_path / "home"),
         "--json", str(tmp_path / "r.json")]
    )  # fmt: skip
    assert out["errors"] == 0, out["error_examples"]
    assert out["actions"] >= 3 and "create" in out["latency_s"]
    rss = out["rss_mb"]
    assert rss["start"] > 0 and len(rss["after_each_round"]) == 2 and rss["peak"] >= max(rss["after_each_round"])
    assert (tmp_path / "r.json").is_file()
