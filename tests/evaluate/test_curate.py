import csv

import numpy as np
import pytest
from PIL import Image

from artforge.cli import main
from artforge.data.builtin import make_shapes
from artforge.evaluate.critic_data import HEAVY, MILD, degrade


@pytest.fixture(scope="module")
def rated_folder(tmp_path_factory):
    """high/ mid/ low/ subfolders: originals, mild and heavy blur/noise, plus one broken file."""
    root = tmp_path_factory.mktemp("rated")
    arr, _ = make_shapes(12, 96, seed=11)
    rng = np.random.default_rng(0)
    for tier, table in (("high", None), ("mid", MILD), ("low", HEAVY)):
        (root / tier).mkdir()
        for i, pic in enumerate(arr):
            kind = ("blur", "noise")[i % 2]
            out = pic if table is None else degrade(pic, kind, table[kind], rng)
            Image.fromarray(out).save(root / tier / f"{tier}{i:02d}.png")
    (root / "low" / "broken.png").write_bytes(b"not a picture")
    return root


def test_critic_train_score_curate_and_rate_from_the_command_line(rated_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ARTFORGE_HOME", str(tmp_path / "home"))
    critic = tmp_path / "critic"
    assert main(["critic", "train", str(rated_folder), "--out", str(critic), "--folds", "3"]) == 0
    out = capsys.readouterr()
    assert "3-fold cross-validated: Spearman" in out.out and "broken.png" in out.err
    assert (critic / "critic.safetensors").is_file() and (critic / "config.json").is_file()

    scores_csv = tmp_path / "scores.csv"
    assert main(["critic", "score", str(rated_folder), "--critic", str(critic), "--csv", str(scores_csv),
                 "-o", str(tmp_path / "page")]) == 0
    rows = list(csv.DictReader(scores_csv.open()))
    assert {"path", "score", "tier", "colorfulness", "sharpness", "thirds"} <= set(rows[0])
    assert len(rows) == 36
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)
    top = [r["path"] for r in rows[:12]]
    assert sum("/high/" in p for p in top) >= 8  # the critic puts originals first
    page = (tmp_path / "page" / "index.html").read_text()
    assert page.count("<figure") == 36 and "thumbs/00001.jpg" in page

    picks = tmp_path / "picks"
    assert main(["curate", str(rated_folder), "--top", "5", "-o", str(picks), "--critic", str(critic)]) == 0
    copied = sorted(p.name for p in picks.glob("*.png"))
    assert len(copied) == 5 and copied[0].startswith("001-") and (picks / "scores.csv").is_file()

    worst = rows[-1]["path"]
    assert main(["critic", "rate", worst, "10", worst, "10", "--critic", str(critic)]) == 0
    assert "learned 2 rating(s); this critic has learned 2 in all" in capsys.readouterr().out


def test_rating_without_a_critic_folder_keeps_the_shipped_critic_unchanged(rated_folder, tmp_path, monkeypatch,
                                                                           capsys):
    from artforge.evaluate.curate import DEFAULT_CRITIC, critic_dir

    monkeypatch.setenv("ARTFORGE_HOME", str(tmp_path / "home"))
    shipped = (DEFAULT_CRITIC / "critic.safetensors").read_bytes()
    pic = str(next((rated_folder / "high").glob("*.png")))
    assert main(["critic", "rate", pic, "9"]) == 0
    assert (DEFAULT_CRITIC / "critic.safetensors").read_bytes() == shipped
    assert critic_dir() == tmp_path / "home" / "critic"  # later scoring uses the taught critic
    assert "saved in" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["critic", "rate", "a.png"], "give pairs"),
    (["critic", "rate", "a.png", "x"], "scores are numbers"),
    (["critic", "train", "/no/such/folder", "--out", "c"], "high/ mid/ low/"),
    (["critic", "score", "/no/such/folder"], "no such folder"),
    (["curate", ".", "--top", "0", "-o", "picks"], "--top must be at least 1"),
])
def test_user_mistakes_get_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTFORGE_HOME", str(tmp_path / "home"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
