"""The decoded-picture cache (a mapped raw file) and the parallel first decode."""

from __future__ import annotations

import hashlib
import importlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tqdm import tqdm

import artforge.data.images as images_mod
from artforge.data import load_folder
from artforge.errors import DataError

from .conftest import BACKGROUND, BAD_FILES, BOMB_MAX_PIXELS, RED, make_clean_folder, solid

MESSY = dict(background=BACKGROUND, max_pixels=BOMB_MAX_PIXELS, progress=False)


def cached_load(folder, cache, **kw):
    return load_folder(folder, 16, cache_dir=cache, progress=False, warn=lambda m: None, **kw)


def count_decodes(monkeypatch) -> list:
    calls = []
    real = images_mod.load_image

    def counting(path, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(images_mod, "load_image", counting)
    return calls


def count_pools(monkeypatch) -> list:
    """Record the worker count of every decoding pool started."""
    pools = []
    real = images_mod._decoding_pool

    def counting(target, shape, job, workers):
        pools.append(workers)
        return real(target, shape, job, workers)

    monkeypatch.setattr(images_mod, "_decoding_pool", counting)
    return pools


def mapped_file(tensor: torch.Tensor) -> str | None:
    """The file whose mapping holds ``tensor``'s data (from /proc/self/maps), or None for private memory."""
    pointer = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        low, high = (int(x, 16) for x in fields[0].split("-"))
        if low <= pointer < high:
            return fields[5] if len(fields) == 6 and fields[5].startswith("/") else None
    return None


def same_set(a, b) -> None:
    assert torch.equal(a.images, b.images)
    assert a.paths == b.paths and a.captions == b.captions
    assert a.skipped == b.skipped and a.total_files == b.total_files


def cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def pixels_file(cache: Path) -> Path:
    (u8,) = cache.glob("*.u8")
    return u8


needs_proc = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc/self/maps")


# --------------------------------------------------------------------------- hit, miss, invalidation


def test_cache_is_hit_on_second_call(tmp_path, monkeypatch):
    folder, cache = make_clean_folder(tmp_path / "d"), tmp_path / "cache"
    (folder / "img1.txt").write_text("middle")
    first = cached_load(folder, cache)
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".u8"]
    monkeypatch.setattr(images_mod, "load_image", lambda *a, **k: pytest.fail("cache was not used"))
    second = cached_load(folder, cache)
    same_set(first, second)
    assert second.captions == [None, "middle", None]
    assert second.summary() == first.summary()


def test_cache_file_is_raw_pixels_described_by_the_json(tmp_path):
    folder, cache = make_clean_folder(tmp_path / "d"), tmp_path / "cache"
    found = cached_load(folder, cache)
    u8 = pixels_file(cache)
    meta = json.loads(u8.with_suffix(".json").read_text())
    assert meta["shape"] == [3, 3, 16, 16] and meta["dtype"] == "uint8"
    raw = np.fromfile(u8, dtype=np.uint8)
    assert raw.size == 3 * 3 * 16 * 16  # no header
    assert np.array_equal(raw.reshape(3, 3, 16, 16), found.images.numpy())


def test_cache_invalidated_by_touch_add_and_settings(tmp_path, monkeypatch):
    folder, cache = make_clean_folder(tmp_path / "d"), tmp_path / "cache"
    cached_load(folder, cache)
    calls = count_decodes(monkeypatch)
    st = os.stat(folder / "img0.png")
    os.utime(folder / "img0.png", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    cached_load(folder, cache)
    assert len(calls) == 3  # touched -> decoded again
    solid(RED).save(folder / "new.png")
    assert len(cached_load(folder, cache)) == 4 and len(calls) == 7
    cached_load(folder, cache, fit="pad")  # other settings -> their own entry
    assert len(calls) == 11
    cached_load(folder, cache)
    assert len(calls) == 11
    # the stale entries of the same settings were pruned: one pair per settings
    assert len(list(cache.glob("*.u8"))) == 2 and len(list(cache.glob("*.json"))) == 2


def test_caption_edit_invalidates_cache(tmp_path):
    folder, cache = make_clean_folder(tmp_path / "d"), tmp_path / "cache"
    (folder / "img0.txt").write_text("old")
    assert cached_load(folder, cache).captions[0] == "old"
    (folder / "img0.txt").write_text("new caption")
    assert cached_load(folder, cache).captions[0] == "new caption"


@pytest.mark.parametrize("damage", ["truncated", "grown", "missing", "json", "shape", "dtype"])
def test_damaged_cache_is_rebuilt_not_trusted(tmp_path, monkeypatch, damage):
    folder, cache = make_clean_folder(tmp_path / "d"), tmp_path / "cache"
    first = cached_load(folder, cache)
    # A copy, and the mapping dropped: damaging the file in place (which artforge itself never does) would
    # change what a mapping of it shows, or raise SIGBUS when it is read past the new end.
    first.images = first.images.clone()
    u8 = pixels_file(cache)
    meta_path = u8.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    if damage == "truncated":
        os.truncate(u8, u8.stat().st_size // 2)
    elif damage == "grown":
        with open(u8, "ab") as f:
            f.write(b"\0" * 16)
    elif damage == "missing":
        u8.unlink()
    elif damage == "json":
        meta_path.write_text("{not json")
    elif damage == "shape":
        meta_path.write_text(json.dumps({**meta, "shape": [2, 3, 16, 16]}))
    else:
        meta_path.write_text(json.dumps({**meta, "dtype": "float32"}))
    calls = count_decodes(monkeypatch)
    again = cached_load(folder, cache)
    assert len(calls) == 3
    same_set(again, first)
    monkeypatch.setattr(images_mod, "load_image", lambda *a, **k: pytest.fail("rebuilt cache not used"))
    same_set(cached_load(folder, cache), first)


def test_old_npy_caches_and_dead_temp_files_are_pruned(tmp_path):
    folder, cache = make_clean_folder(tmp_path / "d"), tmp_path / "cache"
    cache.mkdir()
    # The name prefix of a version-1 cache of the same folder and settings (its own format, rebuilt here).
    v1_settings = {
        "version": 1,
        "folder": str(folder.resolve()),
        "size": 16,
        "fit": "crop",
        "background": [255, 255, 255],
        "max_pixels": images_mod.DEFAULT_MAX_PIXELS,
    }
    v1 = hashlib.sha256(json.dumps(v1_settings, sort_keys=True).encode()).hexdigest()[:16]
    np.save(cache / f"{v1}-0123456789abcdef.npy", np.zeros((3, 3, 16, 16), np.uint8))
    (cache / f"{v1}-0123456789abcdef.json").write_text("{}")
    (cache / "ffffffffffffffff-0123456789abcdef.npy").write_bytes(b"another folder's cache: kept")
    prefix = images_mod._digest(
        images_mod._settings(folder, images_mod._DecodeJob(16, "crop", (255,) * 3, images_mod.DEFAULT_MAX_PIXELS))
    )
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    temp = f".{prefix}-0123456789abcdef.{images_mod._HOST}.{{pid}}.0badc0de.u8.tmp"
    (cache / temp.format(pid=dead.stdout.strip())).write_bytes(b"left by a kill -9")
    (cache / temp.format(pid=os.getpid())).write_bytes(b"a decode still running")
    (cache / temp.replace(images_mod._HOST, "other-machine").format(pid=1)).write_bytes(b"not ours to judge")
    cached_load(folder, cache)
    names = cache_files(cache)
    assert not any(n.startswith(v1) for n in names)
    assert "ffffffffffffffff-0123456789abcdef.npy" in names
    assert temp.format(pid=dead.stdout.strip()) not in names
    assert temp.format(pid=os.getpid()) in names  # a decode still running
    assert temp.replace(images_mod._HOST, "other-machine").format(pid=1) in names  # not ours to judge
    assert len([n for n in names if n.endswith(".u8")]) == 1


def test_unwritable_cache_only_warns(tmp_path):
    folder = make_clean_folder(tmp_path / "d")
    (tmp_path / "blocker").write_text("a file where the cache folder should be")
    warnings = []
    found = load_folder(folder, 16, cache_dir=tmp_path / "blocker" / "c", progress=False, warn=warnings.append)
    assert len(found) == 3
    assert [w for w in warnings if "could not write the image cache" in w] == [warnings[0]]  # once


def test_no_disk_at_all_decodes_into_memory(tmp_path, monkeypatch, big_messy_folder):
    def full(path, nbytes):
        raise OSError(28, "No space left on device")

    expected = load_folder(big_messy_folder, 16, cache_dir=False, warn=lambda m: None, workers=1, **MESSY)
    monkeypatch.setattr(images_mod, "_new_reserved_file", full)
    pools = count_pools(monkeypatch)
    warnings = []
    found = load_folder(big_messy_folder, 16, cache_dir=tmp_path / "c", warn=warnings.append, workers=2, **MESSY)
    same_set(found, expected)
    assert pools == []  # workers need a file to write into: this one decoded in-process
    assert sum("could not write the image cache" in w for w in warnings) == 1


def test_default_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTFORGE_CACHE", str(tmp_path / "root"))
    make_clean_folder(tmp_path / "d", 1)
    load_folder(tmp_path / "d", 16, progress=False)
    assert len(list((tmp_path / "root" / "images").glob("*.u8"))) == 1


def test_bad_worker_count_is_a_data_error(tmp_path):
    make_clean_folder(tmp_path / "d", 1)
    for bad in (0, -2, 1.5):
        with pytest.raises(DataError, match="workers must be a whole number"):
            load_folder(tmp_path / "d", 16, progress=False, workers=bad)


# --------------------------------------------------------------------------- mapped, shared, copy-on-write


@needs_proc
def test_cached_pictures_are_a_mapping_of_the_cache_file(tmp_path):
    folder, cache = make_clean_folder(tmp_path / "d"), tmp_path / "cache"
    decoded = cached_load(folder, cache)
    loaded = cached_load(folder, cache)
    u8 = str(pixels_file(cache).resolve())
    assert mapped_file(decoded.images) == u8  # the first decode already returns the mapped file
    assert mapped_file(loaded.images) == u8
    assert loaded.images.dtype == torch.uint8 and loaded.images.is_contiguous()
    batch = loaded.images[[2, 0]]
    assert mapped_file(batch) is None  # indexing a batch copies only those rows
    assert torch.equal(batch, decoded.images[[2, 0]])


@needs_proc
def test_without_cache_pictures_live_in_a_deleted_scratch_file(tmp_path, big_messy_folder):
    found = load_folder(big_messy_folder, 16, cache_dir=False, warn=lambda m: None, workers=2, **MESSY)
    backing = mapped_file(found.images)
    assert backing is not None and backing.endswith(" (deleted)")
    assert not list(Path(tempfile.gettempdir()).glob(f"artforge-decode-{os.getpid()}-*"))


def test_writing_into_the_pictures_never_reaches_the_cache(tmp_path):
    folder, cache = make_clean_folder(tmp_path / "d"), tmp_path / "cache"
    first = cached_load(folder, cache)
    original = first.images.clone()
    first.images[0] = 0  # e.g. an in-place augmentation
    assert torch.equal(cached_load(folder, cache).images, original)


def test_two_processes_loading_at_once_both_get_the_right_pictures(tmp_path, big_messy_folder):
    cache = tmp_path / "cache"
    expected = load_folder(big_messy_folder, 16, cache_dir=False, warn=lambda m: None, workers=1, **MESSY)
    script = (
        "import hashlib, sys; from artforge.data import load_folder; "
        f"ds = load_folder(sys.argv[1], 16, background={BACKGROUND}, max_pixels={BOMB_MAX_PIXELS}, "
        "cache_dir=sys.argv[2], progress=False, warn=lambda m: None, workers=2); "
        "print(hashlib.sha256(ds.images.numpy().tobytes()).hexdigest(), len(ds), len(ds.skipped))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(big_messy_folder), str(cache)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    want = f"{hashlib.sha256(expected.images.numpy().tobytes()).hexdigest()} {len(expected)} {len(expected.skipped)}"
    assert [out.strip() for out, _err in outputs] == [want, want], outputs
    assert [n.rsplit(".", 1)[1] for n in cache_files(cache)] == ["json", "u8"]  # one pair, no temp file left


# --------------------------------------------------------------------------- parallel decoding


def test_parallel_decode_matches_in_process_decode(tmp_path, big_messy_folder, monkeypatch):
    one_warnings, two_warnings = [], []
    one = load_folder(big_messy_folder, 24, cache_dir=tmp_path / "c1", warn=one_warnings.append, workers=1, **MESSY)
    pools = count_pools(monkeypatch)
    two = load_folder(big_messy_folder, 24, cache_dir=tmp_path / "c2", warn=two_warnings.append, workers=2, **MESSY)
    assert pools == [2]
    same_set(one, two)
    assert one_warnings == two_warnings and len(one.skipped) == len(BAD_FILES) + 1  # + many/050.png
    assert [s.path for s in two.skipped] == sorted(s.path for s in two.skipped)
    assert {Path(s.path).name: s.reason for s in two.skipped}["050.png"] == "empty file"
    assert (
        np.fromfile(pixels_file(tmp_path / "c1"), np.uint8).tobytes()
        == np.fromfile(pixels_file(tmp_path / "c2"), np.uint8).tobytes()
    )
    # and the same again from the cache, and without one
    same_set(load_folder(big_messy_folder, 24, cache_dir=tmp_path / "c2", warn=lambda m: None, workers=2, **MESSY), one)
    same_set(load_folder(big_messy_folder, 24, cache_dir=False, warn=lambda m: None, workers=2, **MESSY), one)


def test_small_folders_decode_in_process(tmp_path, monkeypatch):
    pools = count_pools(monkeypatch)
    cached_load(make_clean_folder(tmp_path / "d", 5), tmp_path / "c", workers=8)
    assert pools == []


class _InterruptedBar(tqdm):
    """A progress bar whose first update is where Ctrl-C lands."""

    def update(self, n=1):
        raise KeyboardInterrupt


def test_ctrl_c_in_the_pool_stops_the_workers_and_leaves_no_cache(tmp_path, big_messy_folder, monkeypatch):
    cache = tmp_path / "c"
    monkeypatch.setattr(images_mod, "tqdm", _InterruptedBar)
    before = set(multiprocessing.active_children())
    with pytest.raises(KeyboardInterrupt):
        load_folder(big_messy_folder, 16, cache_dir=cache, warn=lambda m: None, workers=2, **MESSY)
    assert set(multiprocessing.active_children()) == before  # the workers were terminated and joined
    assert cache_files(cache) == []  # no pixels, no JSON, no temp file
    monkeypatch.undo()
    expected = load_folder(big_messy_folder, 16, cache_dir=False, warn=lambda m: None, workers=1, **MESSY)
    same_set(load_folder(big_messy_folder, 16, cache_dir=cache, warn=lambda m: None, workers=2, **MESSY), expected)


def test_exception_mid_decode_leaves_no_valid_looking_cache(tmp_path, monkeypatch):
    folder, cache = make_clean_folder(tmp_path / "d", 4), tmp_path / "c"
    real = images_mod.load_image
    calls = []

    def failing(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(images_mod, "load_image", failing)
    with pytest.raises(KeyboardInterrupt):
        cached_load(folder, cache)
    assert cache_files(cache) == []
    monkeypatch.undo()
    calls = count_decodes(monkeypatch)
    again = cached_load(folder, cache)
    assert len(calls) == 4 and len(again) == 4
    same_set(again, load_folder(folder, 16, cache_dir=False, progress=False, warn=lambda m: None))


def test_a_killed_worker_is_an_error_not_a_hang(tmp_path, big_messy_folder, monkeypatch):
    before = set(multiprocessing.active_children())

    class KillingBar(tqdm):
        def update(self, n=1):
            for worker in set(multiprocessing.active_children()) - before:
                os.kill(worker.pid, signal.SIGKILL)  # as the out-of-memory killer would
            return super().update(n)

    def hung(signum, frame):
        raise AssertionError("the load hung after its workers were killed")

    monkeypatch.setattr(images_mod, "tqdm", KillingBar)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)  # a hang fails this test instead of stalling the whole run
    try:
        found = load_folder(big_messy_folder, 16, cache_dir=tmp_path / "c", warn=lambda m: None, workers=2, **MESSY)
    except DataError as e:
        assert "decoding process stopped unexpectedly" in str(e)
        assert cache_files(tmp_path / "c") == []  # no JSON, no pixels, no temp file
    else:  # the workers were killed between chunks, so nothing was lost: then the result must be right
        monkeypatch.undo()
        same_set(found, load_folder(big_messy_folder, 16, cache_dir=False, warn=lambda m: None, workers=1, **MESSY))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert set(multiprocessing.active_children()) == before


def processes_using(folder: Path) -> list[int]:
    """Processes that have a file under ``folder`` open or mapped."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            links = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
            if any(str(folder) in link for link in links) or str(folder) in (proc / "maps").read_text():
                pids.append(int(proc.name))
        except OSError:  # gone meanwhile, or another user's
            continue
    return pids


@needs_proc
def test_workers_exit_when_the_loading_process_is_killed(tmp_path, big_messy_folder):
    cache = tmp_path / "cache"
    script = (
        "import os, signal, sys, tqdm\n"
        "import artforge.data.images as m\n"
        "class KilledBar(tqdm.tqdm):\n"
        "    def update(self, n=1):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 mid-decode, workers running\n"
        "m.tqdm = KilledBar\n"
        f"m.load_folder(sys.argv[1], 16, cache_dir=sys.argv[2], background={BACKGROUND}, "
        f"max_pixels={BOMB_MAX_PIXELS}, progress=False, warn=print, workers=2)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(big_messy_folder), str(cache)], timeout=60)
    assert done.returncode == -signal.SIGKILL
    (temp,) = cache.glob(".*.u8.tmp")  # what a kill -9 leaves
    for _ in range(100):  # the workers notice at once; the loop only absorbs scheduling delays
        if not processes_using(cache):
            break
        time.sleep(0.1)
    orphans = processes_using(cache)
    for pid in orphans:  # this test's own processes: do not leave them behind when it fails
        os.kill(pid, signal.SIGKILL)
    assert orphans == []  # no orphaned worker still holds the temp file
    found = load_folder(big_messy_folder, 16, cache_dir=cache, warn=lambda m: None, workers=2, **MESSY)
    assert not temp.exists()  # the dead decode's temp file is pruned by the next load, which decodes again
    same_set(found, load_folder(big_messy_folder, 16, cache_dir=False, warn=lambda m: None, workers=1, **MESSY))


def test_decoding_workers_do_not_import_torch():
    # Each worker imports artforge.data.images; torch would cost each of them a second and ~250 MB.
    code = "import sys, artforge.data.images; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_every_public_name_of_the_lazy_package_resolves():
    import artforge.data as data

    assert sorted(data._MODULE_OF) == sorted(data.__all__)
    for name in data.__all__:
        assert getattr(data, name) is getattr(importlib.import_module(f"artforge.data.{data._MODULE_OF[name]}"), name)
    with pytest.raises(AttributeError):
        getattr(data, "no_such_name")
