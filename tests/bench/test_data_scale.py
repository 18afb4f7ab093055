import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "data_scale.py"


def test_quick_data_scale_bench_measures_real_torchrun_ranks(tmp_path):
    out = tmp_path / "d.json"
    cmd = [sys.executable, str(BENCH), "--quick", "--versions", "after", "--ranks", "1"]  # 300 pictures
    cmd += ["--folder", str(tmp_path / "pictures"), "--jobs", "2", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {(r["cache"], r["metric"]): r["after"] for r in json.loads(out.read_text())["table"]}
    assert rows[("cold", "load_s (rank 0)")] > 0 and rows[("warm", "peak RSS per rank (VmHWM, max)")] > 50
    assert len([p for p in (tmp_path / "pictures").rglob("*") if p.suffix in (".jpg", ".png")]) == 300
