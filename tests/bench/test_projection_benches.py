"""The issue-10 benches run end to end on tiny untrained exports (their figures come from trained runs)."""

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ddim_vs_ddpm  # noqa: E402
import directions as directions_bench  # noqa: E402
import projection  # noqa: E402

from tests.conftest import tiny_export  # noqa: E402


def _pictures(folder: Path, n: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (20, 20), (30 * i, 200 - 20 * i, 90)).save(folder / f"p{i}.png")
    return folder


def test_projection_bench_compares_with_the_best_random_sample(tmp_path):
    runs = [str(tiny_export(tmp_path / f, f)) for f in ("dcgan", "ddpm")]
    out = projection.main(
        [
            *runs,
            "--heldout",
            str(_pictures(tmp_path / "held")),
            "-n",
            "2",
            "--steps",
            "3",
            "--candidates",
            "8",
            "--json",
            str(tmp_path / "p.json"),
            "--sheet",
            str(tmp_path / "sheet.png"),
        ]
    )
    assert [r["space"] for r in out["runs"]] == ["z", "noise"]
    ddpm = out["runs"][1]
    assert ddpm["projection_pixel_mse"] < ddpm["best_random_pixel_mse"]  # DDIM inversion gives the picture back
    assert Image.open(tmp_path / "sheet.png").width > 6 * 64


def test_directions_bench_measures_change_against_random(tmp_path):
    run = str(tiny_export(tmp_path / "m", "dcgan", latent_dim=32))
    out = directions_bench.main([run, "-k", "3", "--seeds", "4", "--random", "2", "--figure", str(tmp_path / "f.png")])
    r = out["runs"][0]
    assert len(r["ratio"]) == 3 and all(x > 0 for x in r["ratio"])
    assert (tmp_path / "f.png").is_file()


def test_sampler_bench_measures_each_sampler(tmp_path):
    run = str(tiny_export(tmp_path / "m", "ddpm"))
    out = ddim_vs_ddpm.main(
        [
            run,
            "--real",
            str(_pictures(tmp_path / "real", 8)),
            "-n",
            "8",
            "--samplers",
            "ddim:2,ddpm:3",
            "--grid",
            str(tmp_path / "g.png"),
        ]
    )
    assert set(out["samplers"]) == {"ddim:2", "ddpm:3"}
    assert all(s["seconds"] > 0 and s["fid"] > 0 for s in out["samplers"].values())
    assert (tmp_path / "g.png").is_file()
