"""Real processes: kill -9, Ctrl-C / SIGTERM, and a 2-process torchrun on CPU (gloo)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from artforge.train.checkpoint import list_states, load_latest_state, save_state
from tests.conftest import subprocess_env

TINY_FLAGS = (
    "--n-builtin 24 --model dcgan --size 16 --width 8 --latent-dim 8 --batch 8 --precision fp32 --no-tensorboard "
    "--no-progress --log-every 5 --sample-every 1000"
).split()


def _start(tmp_path, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "artforge", "train", *args],
        cwd=tmp_path,
        env=subprocess_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_state(run: Path, proc, min_step: int, timeout: float = 120) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = list_states(run)
        if states and states[-1][0] >= min_step:
            return states[-1][0]
        if proc.poll() is not None:
            pytest.fail(f"training exited early: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no checkpoint appeared in time")


def test_kill_9_then_resume_latest_continues_from_the_last_saved_step(tmp_path):
    run = tmp_path / "runs" / "r"
    proc = _start(tmp_path, "builtin:shapes", *TINY_FLAGS, "--steps", "100000", "--ckpt-every", "3", "--out", str(run))
    _wait_for_state(run, proc, 9)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state, path = load_latest_state(run)  # the newest complete state always loads
    saved = state["step"]
    assert saved >= 9
    target = saved + 4
    done = subprocess.run(
        [sys.executable, "-m", "artforge", "train", "--resume", "latest", "--steps", str(target)],
        cwd=tmp_path,
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"from step {saved}" in done.stderr
    assert load_latest_state(run)[0]["step"] == target


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_and_exits_cleanly(tmp_path, sig):
    run = tmp_path / "run"
    proc = _start(tmp_path, "builtin:shapes", *TINY_FLAGS, "--steps", "100000", "--ckpt-every", "50", "--out", str(run))
    # wait until training is under way (the first stats row), then interrupt between checkpoints
    deadline = time.time() + 120
    while not (run / "stats.jsonl").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Resume with: artforge train --resume" in err
    state, _ = load_latest_state(run)
    assert state["step"] >= 5 and (run / "model" / "model.safetensors").is_file()


def test_damaged_newest_state_falls_back_to_the_previous(tmp_path):
    save_state(tmp_path, 1, {"x": torch.ones(2)}, keep=5)
    newest = save_state(tmp_path, 2, {"x": torch.ones(2)}, keep=5)
    newest.write_bytes(newest.read_bytes()[:20])
    state, path = load_latest_state(tmp_path)
    assert state["step"] == 1


def test_torchrun_two_processes_on_cpu_write_one_run(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "artforge",
        "train",
        "builtin:shapes",
        *TINY_FLAGS,
        "--steps",
        "4",
        "--ckpt-every",
        "2",
    ]
    done = subprocess.run(cmd, cwd=tmp_path, env=subprocess_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    state, _ = load_latest_state(runs[0])
    assert state["step"] == 4 and len(state["rng"]) == 2  # one RNG state per rank, for exact resume
    assert done.stderr.count("done:") == 1  # only rank 0 reports
