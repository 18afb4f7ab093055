"""Training states: everything needed to resume exactly, written crash-safely.

A state is ``RUN/checkpoints/state-00001234.pt``, written with ``torch.save``
to a temporary file, fsynced and renamed, so kill -9 at any moment leaves the
previous states intact.  It holds only tensors and plain containers and is
read back with ``torch.load(weights_only=True)`` — never a full unpickle.
The small export that ``generate`` uses lives beside it in ``RUN/model/``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import torch

from artforge import __version__
from artforge.errors import CheckpointError
from artforge.fileio import atomic_write

STATE_DIR = "checkpoints"
_STATE_RE = re.compile(r"^state-(\d+)\.pt$")


def state_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / STATE_DIR / f"state-{step:08d}.pt"


def list_states(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every complete state, oldest first.  Temp files are not states."""
    folder = Path(run_dir) / STATE_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STATE_RE.match(p.name))]
    return sorted(found)


def save_state(run_dir: Path, step: int, state: dict, keep: int) -> Path:
    """Write a training state atomically and prune to the newest ``keep``."""
    path = state_path(run_dir, step)
    payload = {"format": "artforge-train-state", "artforge_version": __version__, "step": step, **state}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    for _, old in list_states(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    for stray in path.parent.glob(".state-*.tmp"):  # left by a killed writer; never a real state
        if stray.stat().st_mtime < path.stat().st_mtime:
            stray.unlink(missing_ok=True)
    return path


def load_latest_state(run_dir: Path) -> tuple[dict, Path]:
    """Newest state that loads; a damaged newest file falls back to the one before it."""
    states = list_states(run_dir)
    if not states:
        raise CheckpointError(f"{run_dir} has no training state to resume from (no {STATE_DIR}/state-*.pt)")
    for step, path in reversed(states):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated or foreign file: say so, try the previous one
            print(f"warning: cannot read {path} ({exc}); trying an older state", file=sys.stderr)
            continue
        if isinstance(state, dict) and state.get("format") == "artforge-train-state":
            return state, path
        print(f"warning: {path} is not an artforge training state; skipping it", file=sys.stderr)
    raise CheckpointError(f"no readable training state in {run_dir / STATE_DIR}")


def latest_run(runs_root: Path) -> Path:
    """The most recently updated run folder under ``runs_root`` (for ``--resume latest``)."""
    root = Path(runs_root)
    candidates = [p for p in root.iterdir() if (p / "config.yaml").is_file()] if root.is_dir() else []
    if not candidates:
        raise CheckpointError(f"--resume latest: no run folder found in {root}/ (pass the run folder instead)")

    def last_activity(run: Path) -> float:
        states = list_states(run)
        return states[-1][1].stat().st_mtime if states else (run / "config.yaml").stat().st_mtime

    return max(candidates, key=last_activity)


def load_initial_weights(nets: dict[str, torch.nn.Module], export: Path) -> None:
    """Start ``nets`` from the weights of a model export (``model.safetensors``, keys ``PART.…``; a run folder
    means its ``model/``): fine-tuning.  Layers the export lacks (a network grown since) keep their fresh
    initialisation and are named on stderr; a shape that differs is an error."""
    from safetensors.torch import load_file

    file = export / "model.safetensors"
    if not file.is_file() and (export / "model" / "model.safetensors").is_file():
        file = export / "model" / "model.safetensors"
    if not file.is_file():
        raise CheckpointError(f"--init-weights {export}: no model.safetensors there (give a run or model folder)")
    try:
        tensors = load_file(str(file))
    except Exception as exc:  # safetensors has its own error types for damaged files
        raise CheckpointError(f"{file} cannot be read ({str(exc).splitlines()[0]})") from exc
    for name, net in nets.items():
        own = net.state_dict()
        given = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(f"{name}.")}
        wrong = [k for k, v in given.items() if k in own and own[k].shape != v.shape]
        if wrong or not given:
            raise CheckpointError(
                f"{file} does not fit the {name} network ({'no ' + name + ' weights' if not given else wrong[:3]})"
            )
        missing, _ = net.load_state_dict({k: v.to(own[k].dtype) for k, v in given.items() if k in own}, strict=False)
        if missing:
            print(
                f"{name}: {len(missing)} tensors not in {file} keep their initialisation: {missing[:4]}",
                file=sys.stderr,
            )
