"""Robust loading of a folder of pictures into one uint8 tensor.

Artists' folders are messy: phone photos with EXIF rotation, PNGs with
transparency, 16-bit scans, CMYK JPEGs from print work, animated GIFs, half
copied files, ``.DS_Store``, an SVG or two.  Every regular file is tried
(``artforge.data.decode`` turns one file into pixels); whatever cannot be used is
*skipped and reported* (path + reason), never a crash, and the decoded result is
cached so the second run starts at once.

Scale: the first load decodes in parallel worker processes straight into a raw
uint8 file in the cache folder; every later load *maps* that file (copy-on-write)
instead of reading it, so ``ImageSet.images`` is backed by the page cache.  Eight
training processes on one machine then share one copy of the pictures, and a data
set larger than RAM still works (pages are read from disk as batches need them).

Example::

    >>> from artforge.data import load_folder
    >>> ds = load_folder("my_paintings", size=64)     # doctest: +SKIP
    >>> ds.images.shape, ds.summary()                 # doctest: +SKIP
    (torch.Size([1391, 3, 64, 64]), 'used 1,391 of 1,449 files; skipped 58')
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import multiprocessing
import operator
import os
import re
import secrets
import select
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import numpy as np
from tqdm import tqdm

from artforge.data.decode import DEFAULT_MAX_PIXELS, BadImage, check_fit, decode_file, load_image
from artforge.errors import DataError
from artforge.fileio import atomic_write_bytes, fsync_dir, fsync_file

# torch is imported only where tensors are made: decoding workers import this module, and torch
# would cost each of them about a second and 250 MB.
if TYPE_CHECKING:
    import torch

# Informational only: files are NOT filtered by extension.  Every regular file is
# tried with Pillow, because artists' files often carry wrong or no extensions.
IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .png .apng .gif .webp .bmp .dib .tif .tiff .avif .heic .ico "
    ".ppm .pgm .pbm .pnm .tga .psd .jp2 .j2k .jfif".split()
)
SIDECAR_SUFFIX = ".txt"  # NAME.txt next to NAME.jpg holds the caption
CACHE_VERSION = 2  # bump when decoding or the cache layout changes, so old caches are not reused (2: raw .u8)
# Each worker may hold one full-resolution picture (up to max_pixels x 3 bytes: 270 MB at the default),
# and few disks feed more decoders than this.
MAX_DEFAULT_WORKERS = 32
POOL_MIN_FILES = 64  # below this, starting worker processes costs more than it saves
_COMPACT_BYTES = 32 << 20  # rows moved per step when closing the gaps of skipped files (bounded memory)


@dataclass
class SkippedFile:
    """A file left out of the data set, with a short human reason."""

    path: str
    reason: str


@dataclass
class ImageSet:
    """Decoded pictures plus what was left out and why.

    ``images`` is uint8 N x 3 x S x S (RGB); ``captions[i]`` and ``paths[i]``
    describe ``images[i]``.  For a folder it is usually a copy-on-write memory
    map of the cache file: ``images[idx]`` copies just those rows, and writing
    into ``images`` changes this process's view only, never the cache.
    """

    images: torch.Tensor
    captions: list[str | None]
    paths: list[str]
    skipped: list[SkippedFile] = field(default_factory=list)
    source: str = ""
    total_files: int = 0
    text_embeddings: torch.Tensor | None = None  # N × 384 caption embeddings, set by text-conditioned training

    def __len__(self) -> int:
        return len(self.paths)

    def summary(self) -> str:
        """One line for the log, e.g. ``used 1,391 of 1,449 files; skipped 58``."""
        return f"used {len(self.paths):,} of {self.total_files:,} files; skipped {len(self.skipped):,}"

    def write_skipped(self, path) -> None:
        """Write one ``PATH<TAB>REASON`` line per skipped file (crash-safely: the old file or the new one)."""
        lines = "".join(f"{s.path}\t{s.reason}\n" for s in self.skipped)
        atomic_write_bytes(Path(path), lines.encode("utf-8", errors="backslashreplace"))


def print_to_stderr(message: str) -> None:
    """Default ``warn``: a line on stderr that does not break a tqdm bar."""
    tqdm.write(message, file=sys.stderr)


# --------------------------------------------------------------------------- scanning


def scan_folder(folder: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Candidate files under ``folder`` (recursive, sorted) and the entries skipped.

    Hidden entries (name starts with ``.``) are skipped and reported; ``.txt``
    files are caption sidecars, not candidates; symlinked folders are followed
    once, so a symlink loop cannot recurse forever.
    """
    candidates, _sidecars, skipped = _scan(Path(folder))
    return candidates, skipped


def collect_pictures(inputs: Iterable[str | Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Files named directly plus every candidate file under named folders (recursively, sorted)."""
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found, left_out = scan_folder(path)
            files += found
            skipped += left_out
        elif path.is_file():
            files.append(path)
        else:
            skipped.append(SkippedFile(str(item), "no such file or folder"))
    return files, skipped


def no_usable_picture(inputs: Iterable[str | Path], skipped: list[SkippedFile], purpose: str) -> str:
    """The error when no named file or folder held a usable picture (``purpose``: e.g. "to translate")."""
    named = ", ".join(str(i) for i in inputs)
    if not skipped:
        return f"no picture {purpose} in {named} (the folders are empty)"
    example = next((s for s in skipped if not s.reason.startswith("hidden")), skipped[0])
    return f"no usable picture {purpose} in {named}: {len(skipped)} skipped (e.g. {example.path}: {example.reason})"


def _scan(folder: Path) -> tuple[list[Path], list[Path], list[SkippedFile]]:
    """Walk ``folder``; return (candidates, sidecar .txt files, skipped entries)."""
    candidates: list[Path] = []
    sidecars: list[Path] = []
    skipped: list[SkippedFile] = []
    seen_dirs: set[tuple[int, int]] = set()

    def on_error(err: OSError) -> None:
        skipped.append(SkippedFile(str(err.filename), f"cannot read folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True, onerror=on_error):
        here = Path(dirpath)
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen_dirs:  # reached again through a symlink
            skipped.append(SkippedFile(str(here), "folder already scanned (symlink loop or duplicate link)"))
            dirnames[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        for name in sorted(d for d in dirnames if d.startswith(".")):
            skipped.append(SkippedFile(str(here / name), "hidden folder"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            _classify(here / name, candidates, sidecars, skipped)
    return candidates, sidecars, skipped


def _classify(path: Path, candidates: list, sidecars: list, skipped: list) -> None:
    """Put one directory entry into the right list."""
    if path.name.startswith("."):
        skipped.append(SkippedFile(str(path), "hidden file"))
    elif path.suffix.lower() == SIDECAR_SUFFIX:
        sidecars.append(path)
    elif path.is_symlink() and not path.exists():
        skipped.append(SkippedFile(str(path), "broken symlink"))
    elif not path.is_file():
        skipped.append(SkippedFile(str(path), "not a regular file"))
    else:
        candidates.append(path)


def _caption_lookup(sidecars: list[Path]) -> dict[tuple[Path, str], Path]:
    """Map (folder, stem) -> sidecar path; ``a.txt`` and ``a.TXT`` both count."""
    return {(p.parent, p.stem): p for p in sidecars}


def _read_caption(path: Path | None) -> str | None:
    """The stripped sidecar text, or None when absent, empty or unreadable."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            text = f.read(1 << 16).strip()  # a caption, not a novel: cap the read
    except OSError:
        return None
    return text or None


# --------------------------------------------------------------------------- folders


def default_cache_dir() -> Path:
    """``$ARTFORGE_CACHE/images``, else ``$XDG_CACHE_HOME/artforge/images`` (~/.cache)."""
    root = os.environ.get("ARTFORGE_CACHE")
    if root:
        return Path(root).expanduser() / "images"
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "artforge" / "images"


def default_workers() -> int:
    """Decoding processes when ``workers`` is None: the CPUs this process may use, at most 32."""
    try:
        cpus = len(os.sched_getaffinity(0))  # honours taskset and cgroup cpusets, unlike os.cpu_count()
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def load_folder(
    folder,
    size: int,
    fit: str = "crop",
    background=(255, 255, 255),
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    cache_dir: Path | None = None,
    progress: bool = True,
    warn: Callable[[str], None] = print_to_stderr,
    workers: int | None = None,
) -> ImageSet:
    """Load every usable picture under ``folder`` (recursively) at ``size`` px.

    Skipped files are reported through ``warn`` and kept in ``.skipped``.
    The decoded pictures are cached in ``cache_dir`` (default
    :func:`default_cache_dir`) as one raw file that later loads *map* rather
    than read, so the processes of one machine share a single copy in the page
    cache; adding, removing or touching any file invalidates it.
    ``cache_dir=False`` turns the cache off.  ``workers`` processes decode
    (None: :func:`default_workers`; 1: in this process).

    >>> ds = load_folder("paintings", 64, fit="pad")       # doctest: +SKIP
    >>> ds.images.dtype, ds.summary()                      # doctest: +SKIP
    (torch.uint8, 'used 40 of 42 files; skipped 2')
    """
    root = _existing_folder(folder)
    check_size_and_fit(size, fit)
    workers = _check_workers(workers)
    job = _DecodeJob(operator.index(size), fit, tuple(int(c) for c in background), max_pixels)
    candidates, sidecars, scan_skipped = _scan(root)
    cache = (
        None
        if cache_dir is False
        else _Cache(
            Path(cache_dir) if cache_dir else default_cache_dir(),
            _settings(root, job),
            _fingerprint(root, candidates, sidecars, scan_skipped),
        )
    )
    found = cache.read(root, str(folder)) if cache else None
    if found is None:
        found = _decode_folder(root, candidates, sidecars, scan_skipped, job, workers, progress, cache, warn)
        found.source = str(folder)
    for s in found.skipped:
        warn(f"skipped {s.path}: {s.reason}")
    if not found.paths:
        raise DataError(_nothing_usable(folder, found.skipped))
    return found


def _existing_folder(folder) -> Path:
    root = Path(folder).expanduser()
    if not root.exists():
        raise DataError(f"no such folder: {folder}")
    if not root.is_dir():
        raise DataError(f"not a folder: {folder} (pass the folder that holds the pictures)")
    return root


def check_size_and_fit(size: int, fit: str) -> None:
    """Raise :class:`DataError` unless ``size`` is a whole number of pixels >= 1 and ``fit`` is known.

    >>> check_size_and_fit(64, "crop")
    """
    try:
        ok = operator.index(size) >= 1  # ints and numpy ints, not 64.0
    except TypeError:
        ok = False
    if not ok:
        raise DataError(f"image size must be a positive whole number of pixels, got {size!r}")
    check_fit(fit)


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return default_workers()
    try:
        ok = operator.index(workers) >= 1
    except TypeError:
        ok = False
    if not ok:
        raise DataError(
            f"workers must be a whole number of processes, at least 1 (or None: one per CPU), got {workers!r}"
        )
    return operator.index(workers)


def _nothing_usable(folder, skipped: list[SkippedFile]) -> str:
    """One line: how many were skipped and one telling example."""
    if not skipped:
        return f"no usable image in {folder}: the folder has no files"
    # A hidden file is the least telling example; prefer a real decoding failure.
    example = next((s for s in skipped if not s.reason.startswith("hidden")), skipped[0])
    return f"no usable image in {folder}: {len(skipped):,} files skipped (e.g. {example.path}: {example.reason})"


# --------------------------------------------------------------------------- decoding a folder (in parallel)


@dataclass(frozen=True)
class _DecodeJob:
    """How every file of a folder is decoded; picklable, so each worker process receives it once."""

    size: int
    fit: str
    background: tuple[int, int, int]
    max_pixels: int | None


Outcome = tuple[int, str | None]  # (candidate index, skip reason; None when the file was decoded)


def _decode_folder(
    root: Path,
    candidates,
    sidecars,
    scan_skipped,
    job: _DecodeJob,
    workers: int,
    progress: bool,
    cache: _Cache | None,
    warn,
) -> ImageSet:
    """Decode every candidate: into the cache when it is writable, else a scratch file, else memory."""
    shape = (len(candidates), 3, job.size, job.size)
    target, in_cache = _pixels_file(cache, math.prod(shape), warn)
    try:
        outcomes, pixels = _decode_into(target, shape, candidates, job, workers, progress, root)
        kept = (sum(reason is None for _, reason in outcomes), *shape[1:])
        # The file is renamed into the cache *before* it is mapped (Windows cannot rename or delete a
        # mapped file); a scratch file is mapped, or read where it could not be deleted once mapped.
        published = in_cache and cache.publish_pixels(target, warn)
        if published:
            pixels = _map_copy_on_write(cache.pixels, kept)
        elif pixels is None:
            pixels = _map_copy_on_write(target, kept) if os.name != "nt" else _read_pixels(target, kept)
        found = _assemble(candidates, outcomes, pixels, sidecars, scan_skipped)
        if published:
            cache.write_meta(found, root, warn)
    finally:
        if target is not None:  # published: renamed already; otherwise the mapping alone keeps the pixels
            target.unlink(missing_ok=True)
    return found


def _read_pixels(path: Path, shape: tuple) -> np.ndarray:
    """The pixels of ``path`` in memory (where a mapped file could not be deleted afterwards)."""
    return np.fromfile(path, dtype=np.uint8, count=math.prod(shape)).reshape(shape)


def _pixels_file(cache: _Cache | None, nbytes: int, warn) -> tuple[Path | None, bool]:
    """A fresh preallocated file to decode into and whether it belongs to the cache; (None, False): use memory.

    Without a usable cache, a scratch file in the system temp folder still lets worker processes
    write the rows and keeps the pictures out of this process's private memory; it is deleted
    once mapped.  Only when that fails too are the pictures decoded into memory, as before.
    """
    if cache is not None:
        try:
            return cache.new_pixels_file(nbytes), True
        except OSError as e:
            warn(f"could not write the image cache in {cache.dir} ({e}); continuing without it")
    scratch = Path(tempfile.gettempdir()) / f"artforge-decode-{os.getpid()}-{secrets.token_hex(4)}.u8"
    try:
        return _new_reserved_file(scratch, nbytes), False
    except OSError:
        return None, False


def _new_reserved_file(path: Path, nbytes: int) -> Path:
    """Create ``path`` (which must not exist) with ``nbytes`` reserved on disk; a full disk raises OSError now.

    Reserving matters: rows are written through memory maps, and a write into a sparse file
    on a full disk is no exception to catch but a SIGBUS that kills the writing process.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        _reserve(fd, nbytes)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return path


def _reserve(fd: int, nbytes: int) -> None:
    if nbytes == 0:
        return
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, nbytes)
            return
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise  # ENOSPC, EDQUOT, EROFS, ...: the caller falls back
    # No fallocate here (macOS, ZFS): a sparse file; a full disk then stops a worker (reported as such).
    os.ftruncate(fd, nbytes)


def _decode_into(
    target: Path | None, shape: tuple, candidates: list[Path], job: _DecodeJob, workers: int, progress: bool, root: Path
) -> tuple[list[Outcome], np.ndarray | None]:
    """Decode into ``target`` (or memory when None); return the outcomes and, in memory, the good rows.

    Rows are written at their candidate index (workers finish in any order), then the good
    ones are moved to the front and the file is cut to their length (and left unmapped).
    """
    rows = _open_writable(target, shape)
    outcomes = _decode_all(candidates, rows, target, job, workers, progress, root)
    good = [row for row, reason in outcomes if reason is None]
    _compact_rows(rows, good)
    kept = (len(good), *shape[1:])
    if target is None:
        return outcomes, rows[: len(good)]  # a leading slice of a C-contiguous array is contiguous: no copy
    del rows  # unmapped before the file is cut short under it
    os.truncate(target, math.prod(kept))
    return outcomes, None


def _open_writable(target: Path | None, shape: tuple) -> np.ndarray:
    if target is None or math.prod(shape) == 0:  # mmap cannot map zero bytes
        return np.empty(shape, dtype=np.uint8)
    return np.memmap(target, dtype=np.uint8, mode="r+", shape=shape)


def _decode_all(
    candidates: list[Path],
    rows: np.ndarray,
    target: Path | None,
    job: _DecodeJob,
    workers: int,
    progress: bool,
    root: Path,
) -> list[Outcome]:
    """Every candidate's outcome, sorted by index; a worker pool for big folders, this process otherwise."""
    items = [(i, str(p)) for i, p in enumerate(candidates)]
    chunks = _chunks(items, workers)
    in_pool = target is not None and workers > 1 and len(items) >= POOL_MIN_FILES
    outcomes: list[Outcome] = []
    with tqdm(
        total=len(items), desc=f"decoding {root.name or root}", unit="img", disable=not progress, file=sys.stderr
    ) as bar:
        if in_pool:
            with _decoding_pool(target, rows.shape, job, min(workers, len(chunks))) as executor:
                for done in _pool_results(executor, chunks, root):
                    outcomes += done
                    bar.update(len(done))
        else:
            for chunk in chunks:
                done = _decode_rows(chunk, rows, job)
                outcomes += done
                bar.update(len(done))
    outcomes.sort()
    return outcomes


def _chunks(items: list, workers: int) -> list[list]:
    # Many chunks per worker (load balance, a smooth bar), each big enough that sending it costs
    # nothing next to decoding it.
    size = max(4, min(64, len(items) // (16 * workers)))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _decode_rows(items: list[tuple[int, str]], rows: np.ndarray, job: _DecodeJob) -> list[Outcome]:
    """Decode each (index, path) into ``rows[index]``; the same code runs in workers and in-process."""
    outcomes: list[Outcome] = []
    for index, path in items:
        try:
            pixels = load_image(path, job.size, job.fit, job.background, job.max_pixels)
        except BadImage as e:
            outcomes.append((index, e.reason))
            continue
        rows[index] = pixels.transpose(2, 0, 1)
        outcomes.append((index, None))
    return outcomes


@contextlib.contextmanager
def _decoding_pool(target: Path, shape: tuple, job: _DecodeJob, workers: int) -> Iterator[ProcessPoolExecutor]:
    """Worker processes that map ``target``; on any exception (Ctrl-C included) they are killed, not awaited.

    A ProcessPoolExecutor rather than a multiprocessing.Pool: when a worker dies (the OOM killer,
    a crashing codec) the executor reports it, where a Pool waits forever for the lost chunk, or
    hangs in terminate() if the worker died holding the task queue's lock.
    """
    before = set(multiprocessing.active_children())
    executor = ProcessPoolExecutor(
        workers, mp_context=_pool_context(), initializer=_start_worker, initargs=(str(target), shape, job, os.getpid())
    )
    try:
        yield executor
    except BaseException:
        # Stop now rather than after the chunks in progress (ProcessPoolExecutor.terminate_workers
        # arrives only in Python 3.14): our children started since `before` are this pool's workers.
        # The executor sees them die, marks itself broken and joins them; shutdown waits for that.
        for process in set(multiprocessing.active_children()) - before:
            process.terminate()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _pool_context():
    # Never "fork": the caller may hold threads and a gloo process group, and a forked child
    # inherits them in whatever state they were (a lock held by another thread stays held).
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _pool_results(executor: ProcessPoolExecutor, chunks: list, root: Path) -> Iterator[list[Outcome]]:
    """Each chunk's outcomes as it finishes; a worker that died is a :class:`DataError`."""
    futures = [executor.submit(_decode_chunk, chunk) for chunk in chunks]
    try:
        for future in as_completed(futures):
            yield future.result()
    except BrokenProcessPool:
        raise DataError(
            f"a picture-decoding process stopped unexpectedly while decoding {root}: the machine may be out of "
            f"memory, a file may crash the image library, or (when you call artforge from your own script) the "
            f'script lacks an `if __name__ == "__main__":` guard; workers=1 decodes without extra processes'
        ) from None


# Set in each worker process by _start_worker: the output file, mapped once, and the job.
_worker_rows: np.ndarray | None = None
_worker_job: _DecodeJob | None = None


def _start_worker(path: str, shape: tuple, job: _DecodeJob, loader: int) -> None:
    """Pool initializer: map the output file once; only (index, reason) pairs travel back, never pixels."""
    global _worker_rows, _worker_job
    # Ctrl-C reaches the whole process group; the parent alone handles it (it kills the workers),
    # so the terminal shows one KeyboardInterrupt, not one traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_when_gone(loader)
    _worker_rows = np.memmap(path, dtype=np.uint8, mode="r+", shape=shape)
    _worker_job = job


def _decode_chunk(items: list[tuple[int, str]]) -> list[Outcome]:
    return _decode_rows(items, _worker_rows, _worker_job)


def _exit_when_gone(pid: int) -> None:
    """Exit this worker as soon as process ``pid`` (the one loading the folder) is gone.

    After a ``kill -9`` (or torchrun's SIGTERM) of the loading process, its workers would wait
    forever on their task queue, and with forkserver so would the fork server, which lives as
    long as any process it forked.  A thread blocked on a pidfd (Linux) wakes when ``pid`` ends.
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux >= 5.3, or already gone
            while _process_alive(pid):
                time.sleep(1.0)
        else:
            select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="artforge-exit-with-loader", daemon=True).start()


def _compact_rows(rows: np.ndarray, good: list[int]) -> None:
    """Move rows ``good`` (ascending) to the front in order, a bounded number of rows at a time.

    Safe in place: the chunk that writes rows [s, s + m) reads rows >= s, and every row that a
    later chunk reads lies at s + m or beyond.
    """
    step = max(1, _COMPACT_BYTES // max(1, math.prod(rows.shape[1:])))
    for start in range(0, len(good), step):
        picked = good[start : start + step]
        if picked[-1] == start + len(picked) - 1:  # no skipped file before these: already in place
            continue
        rows[start : start + len(picked)] = rows[picked]


def _map_copy_on_write(path: Path, shape: tuple) -> np.ndarray | None:
    """``path`` as a uint8 array of ``shape`` backed by the page cache; None unless its size is exactly that.

    Copy-on-write ("c"): reading shares the file's pages with every process that maps it; a write
    (an in-place augmentation, say) gets a private copy of that page and never reaches the file.
    """
    with open(path, "rb") as f:  # size and mapping from one open file: a rename in between cannot mix them
        if os.fstat(f.fileno()).st_size != math.prod(shape):
            return None
        if math.prod(shape) == 0:  # mmap cannot map zero bytes
            return np.empty(shape, dtype=np.uint8)
        return np.memmap(f, dtype=np.uint8, mode="c", shape=shape)


def _assemble(candidates: list[Path], outcomes: list[Outcome], pixels: np.ndarray, sidecars, scan_skipped) -> ImageSet:
    """The set of a finished decode: paths and captions of the good rows, every skip sorted by path."""
    captions_by_stem = _caption_lookup(sidecars)
    paths, captions, skipped = [], [], list(scan_skipped)
    for index, reason in outcomes:
        path = candidates[index]
        if reason is not None:
            skipped.append(SkippedFile(str(path), reason))
            continue
        paths.append(str(path))
        captions.append(_read_caption(captions_by_stem.get((path.parent, path.stem))))
    skipped.sort(key=lambda s: s.path)
    return ImageSet(
        images=_as_tensor(pixels),
        captions=captions,
        paths=paths,
        skipped=skipped,
        total_files=len(paths) + len(skipped),
    )


def _as_tensor(pixels: np.ndarray) -> torch.Tensor:
    """Wrap without copying: a memory map stays a memory map."""
    import torch  # here, not at the top: see the imports

    return torch.from_numpy(pixels)


# --------------------------------------------------------------------------- cache


def _settings(root: Path, job: _DecodeJob) -> dict:
    """Everything besides the files themselves that changes the decoded pixels."""
    return {
        "version": CACHE_VERSION,
        "folder": str(root.resolve()),
        "size": job.size,
        "fit": job.fit,
        "background": list(job.background),
        "max_pixels": job.max_pixels,
    }


def _fingerprint(root: Path, candidates, sidecars, skipped) -> list:
    """(relative path, size, mtime_ns) of every entry: any change invalidates."""
    rows = []
    for p in sorted([*map(str, candidates), *map(str, sidecars), *(s.path for s in skipped)]):
        try:
            st = os.stat(p)
            rows.append([os.path.relpath(p, root), st.st_size, st.st_mtime_ns])
        except OSError:  # broken links, unreadable entries: their name still counts
            rows.append([os.path.relpath(p, root), -1, -1])
    return rows


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest()[:16]


# Decode temp files are named .NAME.HOST.PID.XXXXXXXX.u8.tmp, so that a later load can tell one
# left by a dead process on this machine (and delete it: it may be as big as the data set).
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
_TEMP_NAME = re.compile(r"^\.[0-9a-f]{16}-[0-9a-f]{16}\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.u8\.tmp$")


class _Cache:
    """One ``NAME.u8`` (raw uint8 N x 3 x S x S, no header) + ``NAME.json`` pair per folder and settings.

    The JSON holds the shape, paths, captions and skips; it is written last and is the commit
    marker.  Pixels are decoded into ``.NAME.HOST.PID.XXXXXXXX.u8.tmp``, fsynced and renamed, so
    a crash never leaves a half-written cache that looks valid, and a reader checks the file's
    exact size as well.  Files are only ever replaced by a rename or unlinked, never truncated in
    place, so a process that mapped an older file keeps reading it safely.
    """

    def __init__(self, directory: Path, settings: dict, fingerprint: list):
        self.dir = directory
        self.prefix = _digest(settings)
        self.name = f"{self.prefix}-{_digest(fingerprint)}"
        self.settings = settings

    @property
    def pixels(self) -> Path:
        return self.dir / f"{self.name}.u8"

    @property
    def meta(self) -> Path:
        return self.dir / f"{self.name}.json"

    def read(self, root: Path, source: str) -> ImageSet | None:
        """The cached set, mapped; None when absent, stale, damaged or truncated (then it is rebuilt)."""
        try:
            meta = json.loads(self.meta.read_text(encoding="utf-8"))
            shape = self._shape_if_valid(meta)
            pixels = None if shape is None else _map_copy_on_write(self.pixels, shape)
            if pixels is None:
                return None
            return ImageSet(
                images=_as_tensor(pixels),
                captions=list(meta["captions"]),
                paths=[str(root / p) for p in meta["paths"]],
                skipped=[SkippedFile(str(root / p), r) for p, r in meta["skipped"]],
                source=source,
                total_files=int(meta["total_files"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or corrupt: decode again and overwrite

    def _shape_if_valid(self, meta: dict) -> tuple | None:
        size = self.settings["size"]
        shape = (len(meta["paths"]), 3, size, size)
        if (
            meta["name"] != self.name
            or meta["settings"] != self.settings
            or meta["dtype"] != "uint8"
            or tuple(meta["shape"]) != shape
            or len(meta["captions"]) != shape[0]
        ):
            return None
        return shape

    def new_pixels_file(self, nbytes: int) -> Path:
        """A fresh temp file of ``nbytes`` in the cache folder, after pruning what is stale; OSError if unwritable."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._prune()  # before reserving: a stale cache of this folder may hold the space the new one needs
        return _new_reserved_file(
            self.dir / f".{self.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.u8.tmp", nbytes
        )

    def publish_pixels(self, tmp: Path, warn) -> bool:
        """Make the finished file ``tmp`` the cached pixels (fsync, rename, fsync the folder); a failure warns."""
        try:
            fsync_file(tmp)
            os.replace(tmp, self.pixels)
            fsync_dir(self.dir)  # the rename must be on disk before the JSON that vouches for it
            return True
        except OSError as e:
            warn(f"could not write the image cache in {self.dir} ({e}); continuing without it")
            return False

    def write_meta(self, found: ImageSet, root: Path, warn) -> None:
        """Write the JSON that vouches for the published pixels (the commit marker); a failure warns."""
        meta = {
            "name": self.name,
            "settings": self.settings,
            "shape": list(found.images.shape),
            "dtype": "uint8",
            "paths": [os.path.relpath(p, root) for p in found.paths],
            "captions": found.captions,
            "skipped": [[os.path.relpath(s.path, root), s.reason] for s in found.skipped],
            "total_files": found.total_files,
        }
        try:
            atomic_write_bytes(self.meta, json.dumps(meta).encode("utf-8", "surrogatepass"))
        except OSError as e:
            warn(f"could not write the image cache in {self.dir} ({e}); continuing without it")

    def _prune(self) -> None:
        """Drop what can no longer be used.

        That is: this folder and settings' caches with other fingerprints or from older cache
        versions (the ``.npy`` files of version 1), and temp files of decodes on this machine
        whose process is gone (``kill -9``, power loss): each may be as big as the data set.
        """
        keep = {self.pixels.name, self.meta.name}
        for prefix in self._prefixes():
            for old in self.dir.glob(f"{prefix}-*"):
                if old.name not in keep:
                    old.unlink(missing_ok=True)
            for tmp in self.dir.glob(f".{prefix}-*.u8.tmp"):
                if _abandoned(tmp.name):
                    tmp.unlink(missing_ok=True)

    def _prefixes(self) -> list[str]:
        """This folder and settings' name prefix in every cache version so far (the version is in the digest)."""
        return [_digest({**self.settings, "version": v}) for v in range(1, CACHE_VERSION + 1)]


def _abandoned(temp_name: str) -> bool:
    """True for a decode's temp file written on this machine by a process that no longer runs."""
    m = _TEMP_NAME.match(temp_name)
    if m is None or m["host"] != _HOST:  # another machine's (a shared cache folder): not ours to judge
        return False
    return not _process_alive(int(m["pid"]))


def _process_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there; never guess, never delete
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


# --------------------------------------------------------------------------- inspection


def inspect_folder(folder, size: int = 64, fit: str = "crop", max_pixels: int | None = DEFAULT_MAX_PIXELS) -> dict:
    """Facts about a folder for ``artforge data info`` (decodes every file, no cache).

    ``sizes`` are per dimension: ``min`` = [smallest width, smallest height].

    >>> inspect_folder("paintings")["formats"]             # doctest: +SKIP
    {'JPEG': 30, 'PNG': 12}
    """
    root = _existing_folder(folder)
    check_size_and_fit(size, fit)
    candidates, sidecars, skipped = _scan(root)
    captions_by_stem = _caption_lookup(sidecars)
    formats, modes, sizes, n_captions = Counter(), Counter(), [], 0
    for path in candidates:
        try:
            _pixels, meta = decode_file(path, size, fit, (255, 255, 255), max_pixels)
        except BadImage as e:
            skipped.append(SkippedFile(str(path), e.reason))
            continue
        formats[meta["format"]] += 1
        modes[meta["mode"]] += 1
        sizes.append(meta["size"])
        n_captions += _read_caption(captions_by_stem.get((path.parent, path.stem))) is not None
    skipped.sort(key=lambda s: s.path)
    return {
        "folder": str(folder),
        "files": len(candidates),
        "usable": len(sizes),
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
        "formats": dict(formats.most_common()),
        "modes": dict(modes.most_common()),
        "sizes": _size_stats(sizes),
        "captions": n_captions,
    }


def _size_stats(sizes: list[list[int]]) -> dict | None:
    if not sizes:
        return None
    ws, hs = [w for w, _ in sizes], [h for _, h in sizes]
    return {
        "min": [min(ws), min(hs)],
        "max": [max(ws), max(hs)],
        "median": [int(statistics.median(ws)), int(statistics.median(hs))],
    }


def format_info(info: dict, max_skipped: int = 20) -> str:
    """Human-readable text of :func:`inspect_folder`'s result."""
    counts = lambda d: ", ".join(f"{k} {v:,}" for k, v in d.items()) or "-"  # noqa: E731
    lines = [
        f"folder:   {info['folder']}",
        f"files:    {info['files']:,} candidate files, {info['usable']:,} usable, {len(info['skipped']):,} skipped",
        f"formats:  {counts(info['formats'])}",
        f"modes:    {counts(info['modes'])}",
    ]
    if info["sizes"]:
        s = info["sizes"]
        dims = lambda k: f"{s[k][0]}x{s[k][1]}"  # noqa: E731
        lines.append(f"sizes:    min {dims('min')}, median {dims('median')}, max {dims('max')} (width, height)")
    lines.append(f"captions: {info['captions']:,} of {info['usable']:,} usable pictures have a .txt sidecar")
    if info["skipped"]:
        lines.append("skipped:")
        lines += [f"  {s['path']}: {s['reason']}" for s in info["skipped"][:max_skipped]]
        if len(info["skipped"]) > max_skipped:
            lines.append(f"  ... and {len(info['skipped']) - max_skipped:,} more")
    return "\n".join(lines)
