"""Run ``artforge studio`` in a child process and wait until it answers: for tests, benchmarks and scripts
that drive the studio with ``gradio_client`` or, through Playwright, Debian's chromium (:func:`chromium`).

Example::

    proc, url = start_studio_process(home, runs, log=Path("studio.log"))
    Client(url).predict("default", 0, 4, 1.0, api_name="/create")
    proc.kill()
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

STARTUP_S = 120.0  # the first start imports torch and gradio: seconds on a laptop, more on a loaded CI machine
# Without these, a headless chromium on a machine with no network keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str | None:
    """Debian's chromium (``make browser`` installs it), for Playwright; never a downloaded browser."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_studio_process(
    home: str | Path,
    runs: str | Path,
    log: str | Path,
    env: dict | None = None,
    timeout: float = STARTUP_S,
    model: str | Path | None = None,
) -> tuple[subprocess.Popen, str]:
    """(the process, its URL) once the page answers; the process's output goes to ``log``.  ``model``: the
    model the page opens on (default: the studio's own choice)."""
    port = free_port()
    command = [sys.executable, "-m", "artforge", "studio", *([str(model)] if model else [])]
    command += ["--home", str(home), "--runs", str(runs), "--port", str(port)]
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env or dict(os.environ))
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the studio exited with {proc.returncode}: {Path(log).read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the studio did not answer within {timeout:.0f} s; see {log}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
