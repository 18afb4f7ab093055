import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "feature_speed.py"


def test_quick_feature_bench_writes_positive_figures(tmp_path):
    out = tmp_path / "f.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert all(v > 0 for v in result["images_per_s"].values()) and result["fid_seconds"]["seconds"] > 0
