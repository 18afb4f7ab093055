"""Where a run reports: progress bar, stats.jsonl, TensorBoard.  Only rank 0 reports."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from artforge.fileio import atomic_write_bytes


class RunLogger:
    def __init__(
        self, run_dir: Path, total_steps: int, start_step: int, tensorboard: bool, progress: bool, images_per_step: int
    ):
        self.run_dir = Path(run_dir)
        self.stats_path = self.run_dir / "stats.jsonl"
        self._truncate_stats(start_step)
        self.images_per_step = images_per_step
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # import is slow; only when asked

            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=start_step + 1)
        self.bar = tqdm(
            total=total_steps, initial=start_step, disable=not progress, unit="step", dynamic_ncols=True, smoothing=0.1
        )
        self._last_time, self._last_step = time.perf_counter(), start_step

    def _truncate_stats(self, start_step: int) -> None:
        # A resumed run repeats the steps after its state; drop the rows a killed run wrote past it.
        if not self.stats_path.exists():
            return
        keep = []
        for line in self.stats_path.read_text().splitlines():
            try:
                if json.loads(line).get("step", 0) <= start_step:
                    keep.append(line)
            except json.JSONDecodeError:
                continue  # a half-written last line from kill -9
        # Atomically: a kill during this rewrite must not cost the rows of the steps before the state.
        atomic_write_bytes(self.stats_path, "".join(line + "\n" for line in keep).encode())

    def step(self, step: int, losses: dict[str, float]) -> None:
        self.bar.update(1)
        if self.bar.disable:
            return
        self.bar.set_postfix(
            {k.split("/")[0][0] + ":" + k.split("/")[-1]: f"{v:.3f}" for k, v in losses.items() if k.endswith("/loss")},
            refresh=False,
        )

    def log(self, step: int, losses: dict[str, float]) -> dict:
        now = time.perf_counter()
        rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
        self._last_time, self._last_step = now, step
        row = {
            "step": step,
            "time": time.time(),
            "steps_per_s": rate,
            "images_per_s": rate * self.images_per_step,
            **losses,
        }
        with self.stats_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("step", "time"):
                    self.writer.add_scalar(key, value, step)
        self.bar.set_postfix_str(
            f"{row['images_per_s']:.0f} img/s "
            + " ".join(f"{k}={v:.3f}" for k, v in losses.items() if k.endswith("/loss")),
            refresh=True,
        )
        return row

    def metrics(self, step: int, figures: dict[str, float]) -> dict:
        """A stats row and TensorBoard scalars for evaluation figures (no speed columns)."""
        row = {"step": step, "time": time.time(), **figures}
        with self.stats_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for key, value in figures.items():
                self.writer.add_scalar(key, value, step)
        self.write(f"step {step}: " + ", ".join(f"{k.split('/')[-1]} {v:.4g}" for k, v in figures.items()))
        return row

    def image(self, tag: str, picture, step: int) -> None:
        if self.writer is not None:
            self.writer.add_image(tag, np.asarray(picture), step, dataformats="HWC")

    def write(self, message: str) -> None:
        tqdm.write(message, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()
