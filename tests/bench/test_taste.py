"""bench/taste.py runs end to end on a few pictures: a person's ratings move the critic toward their taste, and the
additive ceiling is a real trade-off (the taste alone ranks no faults, the shipped score weighted up ranks them)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import taste  # noqa: E402


def test_short_study_learns_the_taste_and_reports_the_ceiling(tmp_path):
    out = taste.main(
        ["--pool", "40", "--held", "40", "--repeats", "1", "--counts", "25", "--grid", "0", "--tastes", "warm",
         "--json", str(tmp_path / "t.json")]
    )  # fmt: skip
    warm = out["tastes"]["warm"]
    assert warm["curve"][25]["taste"] > warm["shipped"] + 0.2  # 25 ratings teach the critic the person's taste
    ceiling = {c["beta"]: c for c in warm["additive_ceiling"]}
    assert ceiling[0.0]["taste"] > 0.99 and abs(ceiling[0.0]["technical"]) < 0.3  # the taste says nothing of faults
    weighted = ceiling[10.0]  # the shipped verdict weighted up ranks the faults, and no longer the taste
    assert weighted["technical"] > 0.6 and weighted["taste"] < ceiling[0.0]["taste"] - 0.2
    assert json.loads((tmp_path / "t.json").read_text())["tastes"]["warm"]["additive_ceiling"]
