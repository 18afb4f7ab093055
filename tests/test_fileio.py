"""Crash-safe writes: never the umask, usual permissions, old file kept on failure, safe under threads."""

import os
import stat
import threading

import numpy as np
import pytest

import artforge.fileio as fileio
from artforge.fileio import atomic_replace, atomic_save_npy, atomic_write, atomic_write_bytes, new_temp_file


@pytest.fixture
def no_umask(monkeypatch):
    """Reading the umask means setting it, which races with other threads: it must never be called."""

    def refuse(*_):
        raise AssertionError("os.umask was called")

    monkeypatch.setattr(os, "umask", refuse)


def _current_umask() -> int:
    # Read once, outside the code under test (this test runs before any other thread starts here).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_new_file_gets_the_usual_mode_without_touching_the_umask(tmp_path, no_umask):
    target = tmp_path / "sub" / "picture.png"
    atomic_write_bytes(target, b"png")
    assert target.read_bytes() == b"png"
    assert _leftovers(target.parent) == []


def test_mode_is_0666_less_the_umask(tmp_path):
    expected = 0o666 & ~_current_umask()
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    atomic_save_npy(tmp_path / "a.npy", np.arange(3))
    for name in ("a.bin", "a.npy"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected


def test_a_failing_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, no_umask):
    target = tmp_path / "state.pt"
    target.write_bytes(b"old")

    def half_then_crash(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_crash)
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_temp_names_keep_the_pattern_checkpoints_prune(tmp_path):
    seen = []

    def write(tmp):
        seen.append(os.path.basename(tmp))
        assert [p.name for p in tmp_path.glob(".state-*.tmp")] == seen  # what checkpoint.py prunes

    atomic_write(tmp_path / "state-00000100.pt", write)
    assert _leftovers(tmp_path) == []


def test_name_clashes_are_retried_not_reused(tmp_path, monkeypatch):
    tokens = iter(["aaaaaaaa", "aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(fileio.secrets, "token_hex", lambda n: next(tokens))
    first = new_temp_file(tmp_path / "x")
    second = new_temp_file(tmp_path / "x")
    assert first.name == ".x.aaaaaaaa.tmp" and second.name == ".x.bbbbbbbb.tmp"


def test_concurrent_writers_all_succeed_and_leave_one_complete_version(tmp_path, no_umask):
    target = tmp_path / "shared.bin"
    versions = [bytes([i]) * 200_000 for i in range(16)]
    errors = []
    start = threading.Barrier(len(versions))

    def writer(data):
        try:
            start.wait()
            atomic_write_bytes(target, data)
        except BaseException as e:  # noqa: BLE001 — collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes() in versions
    assert _leftovers(tmp_path) == []


def test_atomic_replace_moves_a_finished_file(tmp_path, no_umask):
    tmp = new_temp_file(tmp_path / "video.mp4", suffix=".tmp.mp4")
    tmp.write_bytes(b"frames")
    atomic_replace(tmp, tmp_path / "video.mp4")
    assert (tmp_path / "video.mp4").read_bytes() == b"frames" and not tmp.exists()
