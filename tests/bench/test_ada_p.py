import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ada_p.py"


def test_quick_ada_bench_reports_p_and_rt_for_both_set_sizes(tmp_path):
    out = tmp_path / "a.json"
    cmd = [sys.executable, str(BENCH), "--quick", "--model", "dcgan", "--size", "16", "--batch", "8", "--steps", "10"]
    cmd += ["--small", "8", "--large", "24", "--ada-kimg", "0.05", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(out.read_text())["runs"]
    assert [r["pictures"] for r in runs] == [8, 24]
    for r in runs:
        assert r["steps"] == [5, 10] and all(0 <= p <= 1 for p in r["p"]) and all(-1 <= v <= 1 for v in r["rt"])
    assert "| 8 | 10 |" in done.stdout
