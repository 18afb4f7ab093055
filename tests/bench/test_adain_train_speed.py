import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "adain_train_speed.py"


def test_quick_adain_train_bench_times_the_shared_trainer(tmp_path):
    out = tmp_path / "a.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["steps"] == [1, 3] and len(result["runs"]["after"][0]["long"]) == 1
    assert all(t > 0 for run in result["runs"]["after"] for t in run["short"] + run["long"])
