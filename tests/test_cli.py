"""The CLI as a user meets it: help everywhere, one-line errors with exit code 2."""

import subprocess
import sys

import pytest

from artforge.cli import build_parser, main


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["train"],
        ["generate"],
        ["data"],
        ["data", "info"],
        ["data", "prepare"],
        ["models"],
        ["demo"],
        ["music-video"],
    ],
)
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv + ["--help"])
    assert exc.value.code == 0
    assert "usage: artforge" in capsys.readouterr().out


def test_train_help_documents_config_fields(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    out = capsys.readouterr().out
    assert "--diffaugment" in out and "DiffAugment policy" in out and "--resume" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "/no/such/folder"], "no such folder"),
        (["train", "builtin:nothing"], "builtin"),
        (["train", "builtin:shapes", "--model", "gpt"], "unknown model 'gpt'"),
        (["train", "builtin:shapes", "--steps", "0"], "--steps must be at least 1"),
        (["train", "--resume", "/no/run"], "not a run folder"),
        (["train"], "say what to train on"),
        (["generate", "/no/model"], "no such model"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv + (["--n-builtin", "8", "--no-progress"] if argv[:2] == ["train", "builtin:shapes"] else [])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("artforge: error:") and message in err[0], err


def test_bad_flag_is_an_argparse_error():
    done = subprocess.run(
        [sys.executable, "-m", "artforge", "train", "x", "--steps", "many"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "invalid int value" in done.stderr and "Traceback" not in done.stderr


def test_models_lists_the_registry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "dcgan-seed" in out and "vae" in out


def test_evaluate_command_prints_a_table_and_writes_json(tmp_path, capsys):
    import json

    out = tmp_path / "eval.json"
    assert (
        main(["evaluate", "default", "--real", "builtin:shapes", "-n", "24", "--json", str(out), "-o", str(tmp_path)])
        == 0
    )
    printed = capsys.readouterr()
    text = printed.out
    assert "fid" in text and "memorization" in text
    assert "features: effnet-lite0 pool, 1280-d, 224 px" in text.splitlines()[0]
    result = json.loads(out.read_text())
    for key in ("fid", "kid", "kid_std", "precision", "recall", "memorization"):
        assert key in result
    assert result["kid_std"] > 0 and (tmp_path / "memorization-pairs.png").is_file()
    assert result["features"] == {"backbone": "effnet-lite0", "layer": "pool", "dim": 1280, "size": 224}
    # 24 pictures per side in a 1280-d space: FID is biased, and the user is told so
    assert len(result["warnings"]) == 1 and "artforge: warning: FID from N = 24" in printed.err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left
