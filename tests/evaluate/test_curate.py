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
    assert (
        main(
            [
                "critic",
                "score",
                str(rated_folder),
                "--critic",
                str(critic),
                "--csv",
                str(scores_csv),
                "-o",
                str(tmp_path / "page"),
            ]
        )
        == 0
    )
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


def test_rating_without_a_critic_folder_keeps_the_shipped_critic_unchanged(rated_folder, tmp_path, monkeypatch, capsys):
    from artforge.evaluate.curate import DEFAULT_CRITIC, critic_dir

    monkeypatch.setenv("ARTFORGE_HOME", str(tmp_path / "home"))
    shipped = (DEFAULT_CRITIC / "critic.safetensors").read_bytes()
    pic = str(next((rated_folder / "high").glob("*.png")))
    assert main(["critic", "rate", pic, "9"]) == 0
    assert (DEFAULT_CRITIC / "critic.safetensors").read_bytes() == shipped
    assert critic_dir() == tmp_path / "home" / "critic"  # later scoring uses the taught critic
    assert "saved in" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["critic", "rate", "a.png"], "give pairs"),
        (["critic", "rate", "a.png", "x"], "scores are numbers"),
        (["critic", "train", "/no/such/folder", "--out", "c"], "high/ mid/ low/"),
        (["critic", "score", "/no/such/folder"], "no such folder"),
        (["curate", ".", "--top", "0", "-o", "picks"], "--top must be at least 1"),
    ],
)
def test_user_mistakes_get_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTFORGE_HOME", str(tmp_path / "home"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("make_empty_folder", [False, True])
def test_rating_into_a_new_or_empty_critic_folder_starts_from_the_shipped_critic(
    rated_folder, tmp_path, capsys, monkeypatch, make_empty_folder
):
    from artforge.evaluate.critic import Critic
    from artforge.evaluate.curate import DEFAULT_CRITIC

    monkeypatch.setenv("ARTFORGE_HOME", str(tmp_path / "home"))
    shipped = (DEFAULT_CRITIC / "critic.safetensors").read_bytes()
    new = tmp_path / "my" / "critic"
    if make_empty_folder:
        new.mkdir(parents=True)
    pics = sorted((rated_folder / "high").glob("*.png"))[:3]
    argv = ["critic", "rate", str(pics[0]), "9", str(pics[1]), "8", str(pics[2]), "7", "--critic", str(new)]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert f"created {new} from the shipped critic" in out.err
    assert Critic.load(new).cfg.n_ratings == 3
    assert (DEFAULT_CRITIC / "critic.safetensors").read_bytes() == shipped
    assert not (tmp_path / "home" / "critic").exists()  # the user's default critic is not touched either
    assert main(["critic", "rate", str(pics[0]), "9", "--critic", str(new)]) == 0  # now it is a critic: it learns on
    assert Critic.load(new).cfg.n_ratings == 4 and "created" not in capsys.readouterr().err


@pytest.mark.parametrize("what", ["folder with other files", "file"])
def test_rating_into_something_that_is_not_a_critic_is_refused_in_one_line(rated_folder, tmp_path, capsys, what):
    target = tmp_path / "notes"
    if what == "file":
        target.write_text("my notes")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("my notes")
    pic = str(next((rated_folder / "high").glob("*.png")))
    assert main(["critic", "rate", pic, "9", "--critic", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("artforge: error:") and "holds no critic" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_the_shipped_critic_folder_is_never_rated_into(rated_folder, capsys):
    from artforge.evaluate.curate import DEFAULT_CRITIC

    pic = str(next((rated_folder / "high").glob("*.png")))
    assert main(["critic", "rate", pic, "9", "--critic", str(DEFAULT_CRITIC)]) == 2
    assert "never changed" in capsys.readouterr().err
