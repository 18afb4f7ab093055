"""Data parallelism proven, not assumed: real 2-process torchrun (gloo, CPU) against one process.

* 2 processes × 4 pictures end with the same weights as 1 process × 8 pictures after a few steps of
  the same data — the GAN (R1 + DiffAugment, and WGAN-GP) and the VAE, batch norm included.
* A NaN on one rank stops every rank at the same step with the same message (no hang).
* No gloo thread outlives the process group (the cause of the exit abort, see
  ``artforge.train.distributed._import_modules_that_capture_the_default_group``).
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from artforge.train import TrainConfig, train
from artforge.train.checkpoint import load_latest_state
from tests.conftest import subprocess_env

WORKER = Path(__file__).with_name("ddp_worker.py")
TINY = dict(
    source="builtin:shapes",
    n_builtin=21,  # not a multiple of 2: the epoch wraps inside step 3, nothing may be padded
    size=16,
    width=8,
    latent_dim=8,
    batch=8,
    steps=3,
    log_every=1,
    sample_every=1000,
    ckpt_every=1000,
    keep=1,
    tensorboard=False,
    progress=False,
    precision="fp32",
    device="cpu",
)


def _torchrun(tmp_path: Path, config: dict, *extra: str, timeout: float = 240) -> subprocess.CompletedProcess:
    cfg_file = tmp_path / "config.json"
    cfg_file.write_text(json.dumps(config))
    env = subprocess_env(tmp_path)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(WORKER),
        str(cfg_file),
        *extra,
    ]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)


def _threads(tmp_path: Path) -> dict[int, list[str]]:
    """Each rank's thread names once training had returned (written by the worker)."""
    return {int(p.stem.split("-")[1]): json.loads(p.read_text()) for p in tmp_path.glob("threads-*.json")}


def _assert_same_weights(a: dict, b: dict) -> None:
    for kind in ("nets", "ema"):
        for net in a[kind]:
            for key, value in a[kind][net].items():
                other = b[kind][net][key]
                if value.is_floating_point():
                    torch.testing.assert_close(other, value, rtol=1e-4, atol=1e-5, msg=f"{kind}.{net}.{key}")
                else:
                    assert torch.equal(other, value), f"{kind}.{net}.{key}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,model,extra",
    [
        ("gan-r1", "dcgan", {"r1_gamma": 1.0}),  # SN critic, BN generator, DiffAugment (auto)
        # R1's double backward through the critic's batch norm, synced across the ranks
        ("gan-r1-bn", "dcgan", {"r1_gamma": 1.0, "spectral_norm": False, "diffaugment": ""}),
        ("gan-gp", "dcgan", {"loss": "wgan-gp", "n_critic": 2}),  # gradient penalty's random mixes
        ("vae", "vae", {}),  # reparameterisation noise
        # random crops and flips of content and style pictures; a frozen encoder
        (
            "adain",
            "adain",
            {
                "source": "",
                "domain_a": "builtin:shapes",
                "domain_b": "builtin:paintings",
                "size": 32,
                "crop": 16,
                "width": 4,
            },
        ),
    ],
)
def test_two_processes_of_four_train_like_one_process_of_eight(tmp_path, name, model, extra):
    config = {**TINY, "model": model, **extra}
    one = train(TrainConfig(**{**config, "out": str(tmp_path / "one")}))
    done = _torchrun(tmp_path, {**config, "out": str(tmp_path / "two")})
    assert done.returncode == 0, done.stderr[-3000:]
    a, _ = load_latest_state(one)
    b, _ = load_latest_state(tmp_path / "two")
    assert a["step"] == b["step"] == 3 and len(b["rng"]) == 2
    _assert_same_weights(a, b)
    # the exit abort's cause: gloo worker threads alive after the process group was destroyed
    threads = _threads(tmp_path)
    assert sorted(threads) == [0, 1]
    assert not [t for names in threads.values() for t in names if "gloo" in t], threads


@pytest.mark.slow
def test_nan_on_one_rank_stops_every_rank_at_the_same_step_with_one_message(tmp_path):
    config = {**TINY, "model": "dcgan", "steps": 50, "ckpt_every": 2, "out": str(tmp_path / "run")}
    # the generator loss of rank 1 turns NaN at its 3rd call, i.e. in step 3
    done = _torchrun(tmp_path, config, "--nan-rank", "1", "--nan-from-call", "3", timeout=180)
    assert done.returncode != 0
    lines = re.findall(r"artforge: error: .*?wgan-gp\.", done.stderr)
    assert len(lines) == 2 and lines[0] == lines[1], done.stderr[-3000:]  # both ranks, the same message
    assert "diverged at step 3: generator/loss=nan (rank 1)" in lines[0]
    assert "the last good checkpoint (step 2) is intact" in lines[0]
    assert sorted(_threads(tmp_path)) == [0, 1]  # both returned: nobody hung
    state, _ = load_latest_state(tmp_path / "run")
    assert state["step"] == 2


@pytest.mark.slow
def test_a_data_error_on_the_decoding_rank_is_the_same_one_line_on_every_rank(tmp_path):
    (tmp_path / "empty").mkdir()
    done = _torchrun(tmp_path, {**TINY, "model": "dcgan", "source": str(tmp_path / "empty")}, timeout=180)
    assert done.returncode != 0
    lines = re.findall(r"artforge: error: no usable image in [^\n]*", done.stderr)
    assert len(lines) == 2 and lines[0] == lines[1], done.stderr[-3000:]
    assert "Connection closed" not in done.stderr and "GLHF" not in done.stderr  # no rank died in gloo
    assert sorted(_threads(tmp_path)) == [0, 1]
