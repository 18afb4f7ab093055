import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "style_speed.py"


def test_quick_style_bench_writes_positive_figures(tmp_path):
    out = tmp_path / "s.json"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--threads",
            "1",
            "--json",
            str(out),
            "--backbones",
            "effnet-lite0",
            "--memory-backbones",
            "effnet-lite0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["speed"][0]["seconds"] > 0
    tiled, untiled = result["memory"]
    assert tiled["tile"] and not untiled["tile"] and tiled["peak_rss_gb"] > 0 and untiled["peak_rss_gb"] > 0
