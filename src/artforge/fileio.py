"""Crash-safe file writing shared by checkpoints, exports and galleries.

Every writer goes the same way: write a new temp file beside the target (``.NAME.XXXXXXXX.tmp``
in the same folder, so the rename stays on one file system), fsync it, ``os.replace`` it onto the
target, then fsync the folder so that the rename itself survives a power loss.  A crash at any
moment (even ``kill -9``) leaves the old file or the new one, never half of one.

The process umask is never touched: changing it (even briefly, to read it) races with other
threads creating files.  Temp files are created with mode 0o666 and the kernel applies the umask,
so the result gets the usual permissions (0644 under umask 022), unlike ``mkstemp``'s 0600.

Example::

    atomic_write_bytes(Path("out/index.html"), page.encode())
    atomic_write(Path("model.safetensors"), lambda tmp: save_file(tensors, tmp))
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_NAME_TRIES = 100  # 8 random hex digits: a clash is already unlikely; a hundred in a row means something else


def new_temp_file(path: Path, suffix: str = ".tmp") -> Path:
    """Create an empty file ``.NAME.XXXXXXXX{suffix}`` beside ``path`` that no one else has; return its path.

    ``O_EXCL`` makes the creation fail rather than reuse a name another writer (thread or process)
    just took, so every writer gets its own file; on a clash a new random name is tried.
    """
    path = Path(path)
    for _ in range(_NAME_TRIES):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, _CREATE_FLAGS, 0o666)  # the kernel applies the umask
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temp file beside {path} after {_NAME_TRIES} tries")


def fsync_file(path: str | Path) -> None:
    """Flush ``path``'s contents to the disk (whatever wrote it may have closed it without fsync).

    Opened for writing: Windows flushes only a handle that may write (POSIX does not mind).
    """
    with open(path, "r+b") as f:
        os.fsync(f.fileno())


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (a rename into it) to the disk, where the OS allows opening folders.

    Windows cannot open a folder for fsync (and makes renames durable by itself); some network
    file systems refuse it too.  Neither is worth failing a finished write for.
    """
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_replace(tmp: str | Path, path: str | Path) -> None:
    """Make the finished file ``tmp`` the file ``path``: fsync it, rename it over ``path``, fsync the folder.

    ``tmp`` must be in ``path``'s folder (a rename across file systems is not atomic).
    """
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(Path(path).parent)


def atomic_write(path: Path, write: Callable[[str], None], suffix: str = ".tmp") -> None:
    """Call ``write(tmp_path)`` on a fresh temp file beside ``path``, then make it ``path`` crash-safely.

    ``write`` may open ``tmp_path`` by name and overwrite it (it exists, empty).  ``suffix`` ends the
    temp name, for writers that choose a format by extension (ffmpeg: ``suffix=".tmp.mp4"``).  When
    ``write`` raises, the temp file is removed and the old ``path``, if any, is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_temp_file(path, suffix)
    try:
        write(str(tmp))
        atomic_replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` crash-safely (see :func:`atomic_write`)."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_save_npy(path: Path, array) -> None:
    """``np.save`` crash-safely, never pickling (through a file object: np.save would append ".npy" to a temp name)."""
    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)

    atomic_write(path, write)


def unique_stem(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``, … if already in ``taken`` (e.g. two ``cat.*`` from two folders); adds it."""
    name, k = stem, 1
    while name in taken:
        k += 1
        name = f"{stem}-{k}"
    taken.add(name)
    return name


def save_tensors_with_config(path: Path, tensors: dict, config: dict) -> None:
    """``tensors`` as safetensors with ``config`` (JSON) in the file's metadata — one atomic file, no pickle —
    and a readable ``config.json`` copy beside it (the critic's and the matcher's format)."""
    import json

    from safetensors.torch import save_file

    text = json.dumps(config, indent=1)
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata={"config": text}))
    atomic_write_bytes(Path(path).parent / "config.json", text.encode())


def load_tensors_with_config(path: Path) -> tuple[dict, dict]:
    """(config, tensors) of a file written by :func:`save_tensors_with_config`; any failure raises (the
    caller turns it into one clear line naming what it was reading)."""
    import json

    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return json.loads(f.metadata()["config"]), {k: f.get_tensor(k) for k in f.keys()}
