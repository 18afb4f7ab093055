"""CycleGAN on the shared trainer: two unaligned domains, exact resume, clear errors for bad domains."""

import json

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from artforge.cli import main
from artforge.errors import ArtforgeError
from artforge.models import load_export
from artforge.train import TrainConfig, config_for_resume, train
from artforge.train.checkpoint import list_states, load_latest_state
from artforge.train.distributed import DistInfo
from artforge.train.trainer import PairedStream

TINY_FLAGS = [
    "--model",
    "cyclegan",
    "--size",
    "16",
    "--width",
    "8",
    "--res-blocks",
    "1",
    "--batch",
    "2",
    "--n-builtin",
    "6",
    "--precision",
    "fp32",
    "--no-tensorboard",
    "--no-progress",
    "--log-every",
    "2",
    "--sample-every",
    "2",
    "--ckpt-every",
    "2",
]


def tiny(tmp_path, **kw) -> TrainConfig:
    base = dict(
        model="cyclegan",
        domain_a="builtin:shapes",
        domain_b="builtin:glyphs",
        n_builtin=6,
        size=16,
        width=8,
        res_blocks=1,
        batch=2,
        steps=4,
        log_every=2,
        sample_every=2,
        ckpt_every=2,
        keep=2,
        pool_size=3,
        tensorboard=False,
        progress=False,
        precision="fp32",
        out=str(tmp_path / "run"),
    )
    base.update(kw)
    return TrainConfig(**base)


def _folder(path, colour, n=4):
    path.mkdir(parents=True)
    rng = np.random.default_rng(sum(colour))
    for i in range(n):
        noise = rng.integers(0, 40, (20, 24, 3))
        Image.fromarray(np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)).save(path / f"p{i}.png")
    return path


def test_cli_trains_on_a_folder_and_a_builtin(tmp_path, capsys):
    horses = _folder(tmp_path / "horses", (150, 90, 40))
    (horses / "broken.jpg").write_bytes(b"not a picture")
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--domain-a",
                str(horses),
                "--domain-b",
                "builtin:glyphs",
                "--steps",
                "4",
                "--out",
                str(run),
                *TINY_FLAGS,
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "domain A" in err and "used 4 of 5 files; skipped 1" in err and "artforge translate" in err
    assert "broken.jpg" in (run / "skipped.txt").read_text()
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert (cfg["domain_a"], cfg["domain_b"]) == (str(horses), "builtin:glyphs")
    assert (cfg["source"], cfg["loss"]) == ("", "lsgan")
    assert (cfg["lr"], cfg["beta1"], cfg["beta2"], cfg["latent_dim"]) == (2e-4, 0.5, 0.999, None)
    assert [s for s, _ in list_states(run)] == [2, 4]
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert {"generator/adv", "generator/cycle", "generator/identity", "discriminator/d_a"} <= set(rows[-1])
    grid = Image.open(run / "samples" / "step-00000004.png")
    assert grid.size == (4 * 18 + 2, 4 * 18 + 2)  # A, G(A), B, F(B) × 4 rows (domain A has 4 pictures)
    nets, config = load_export(run / "model")
    assert sorted(nets) == ["g_ab", "g_ba"] and config["domains"] == [str(horses), "builtin:glyphs"]
    assert config["method_kwargs"] == {"loss": "lsgan", "cycle_weight": 10.0, "identity": 0.5, "pool_size": 50}


def test_resumed_run_ends_with_the_same_weights_and_pools(tmp_path):
    full = train(tiny(tmp_path / "a", steps=6, ckpt_every=3))
    part = train(tiny(tmp_path / "b", steps=3, ckpt_every=3))
    train(config_for_resume(part, {"steps": 6}), resume=part)
    a, _ = load_latest_state(full)
    b, _ = load_latest_state(part)
    assert a["step"] == b["step"] == 6 and b["stream"] == a["stream"]
    for kind in ("nets", "ema"):
        for name in a[kind]:
            for key, value in a[kind][name].items():
                torch.testing.assert_close(b[kind][name][key], value, msg=f"{kind}.{name}.{key}")
    for pool in ("pool_a", "pool_b"):
        assert a["method"][pool]["images"].shape[0] == 3  # 6 steps × 2 fakes filled the pool of 3
        assert torch.equal(a["method"][pool]["images"], b["method"][pool]["images"])
    steps = [json.loads(line)["step"] for line in (part / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]


def test_lr_decay_falls_linearly_over_the_second_half(tmp_path):
    run = train(tiny(tmp_path, steps=6, ckpt_every=6, lr_decay=True, lr_d=1e-4))
    state, _ = load_latest_state(run)
    # the last step (index 5) ran at (6 - 5) / (6 - 3) of the base rate
    assert state["optimizers"]["generator"]["param_groups"][0]["lr"] == pytest.approx(2e-4 / 3)
    assert state["optimizers"]["discriminator"]["param_groups"][0]["lr"] == pytest.approx(1e-4 / 3)
    scales = [json.loads(line)["lr_scale"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert scales == pytest.approx([1.0, 1.0, (2 / 3 + 1 / 3) / 2])  # mean of steps 0-1, 2-3, 4-5


def test_paired_stream_keeps_two_orders_and_resumes():
    s = PairedStream(5, 7, 3, DistInfo(), seed=0)
    batches = [s.next() for _ in range(4)]
    flat_a, flat_b = sum((a for a, _ in batches), []), sum((b for _, b in batches), [])
    assert sorted(flat_a[:5]) == list(range(5)) and sorted(flat_b[:7]) == list(range(7))
    again = PairedStream(5, 7, 3, DistInfo(), seed=0)
    again.next()
    again.next()
    resumed = PairedStream(5, 7, 3, DistInfo(), seed=0)
    resumed.load_state_dict(again.state_dict())
    assert [resumed.next() for _ in range(2)] == batches[2:]


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--domain-a", "{tmp}/nope", "--domain-b", "builtin:glyphs"], "domain A (--domain-a): no such folder"),
        (["--domain-a", "builtin:shapes", "--domain-b", "{tmp}/empty"], "domain B (--domain-b): no usable image"),
        (["--domain-a", "builtin:shapes", "--domain-b", "{tmp}/file.txt"], "domain B (--domain-b): not a folder"),
        (["--domain-a", "builtin:shapes"], "pass both --domain-a FOLDER and --domain-b FOLDER"),
        (["--domain-a", "builtin:shapes", "--domain-b", "builtin:pebbles"], "unknown built-in data set"),
    ],
)
def test_bad_domains_exit_2_with_one_line(flags, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    argv = ["train", *[f.format(tmp=tmp_path) for f in flags], "--steps", "1", *TINY_FLAGS]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("artforge: error:") and message in err[0], err
    assert not (tmp_path / "runs").exists()  # refused before any run folder was made


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(model="dcgan"), "--domain-a/--domain-b are for two-domain models"),
        (dict(source="my_pictures/"), "not on my_pictures/"),
        (dict(loss="hinge"), "least-squares GAN loss"),
        (dict(size=18), "multiple of 4"),
        (dict(eval_every=2), "--eval-every"),
        (dict(model="dcgan", domain_a=None, domain_b=None, res_blocks=2), "--res-blocks is for --model cyclegan"),
    ],
)
def test_option_mix_ups_are_user_errors(kw, message, tmp_path):
    with pytest.raises(ArtforgeError, match=message.replace("(", r"\(")):
        train(tiny(tmp_path, **kw))
