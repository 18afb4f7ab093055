import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "adain_speed.py"


def test_quick_adain_bench_writes_positive_figures(tmp_path):
    out = tmp_path / "a.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--threads", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["ms"] and all(v > 0 for row in result["ms"].values() for v in row.values())
