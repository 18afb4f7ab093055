"""Music video speed and memory: frames/s at each size, peak RSS as the piece gets longer, and the cost of the
music beside the cost of the pictures.

For each (seconds, size) it writes a synthetic piece (chords changing every 2 s, kick and hi-hat at 120 bpm),
runs ``artforge music-video MODEL`` on it in a child process and reads the child's peak RSS from the kernel
(``wait4``).  The baseline is the same number of frames decoded from random latents, resized and piped to ffmpeg by the
same writer (``stream_frames``) — the video without any audio analysis, latent path or sound.
Peak RSS should not grow with the length of the piece (frames are streamed, never all in memory).

    PYTHONPATH=src .venv/bin/python bench/music_video.py --seconds 30,180 --sizes 64,128 --json bench/music_video.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

SR = 22050
CHORDS = [(220.0, 277.18, 329.63), (196.0, 246.94, 293.66), (174.61, 220.0, 261.63), (164.81, 207.65, 246.94)]


def synthetic_piece(seconds: float, seed: int = 0) -> np.ndarray:
    """Chords changing every 2 s under a kick on every beat and a hi-hat on the off-beats, 120 bpm."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    chord = np.asarray(CHORDS)[(t // 2).astype(int) % len(CHORDS)]
    y = 0.08 * np.sin(2 * np.pi * chord * t[:, None]).sum(1)
    for beat in np.arange(0, seconds, 0.5):
        i = int(beat * SR)
        n = min(2000, len(y) - i)
        y[i : i + n] += 0.6 * np.sin(2 * np.pi * 60 * np.arange(n) / SR) * np.exp(-np.arange(n) / 400)
        j, m = int((beat + 0.25) * SR), 400
        if j + m < len(y):
            y[j : j + m] += 0.2 * rng.standard_normal(m) * np.exp(-np.arange(m) / 80)
    return y.astype(np.float32)


def run_child(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_maxrss / 1024


BASELINE = """
import sys
from pathlib import Path
from artforge.generate import load_model, seed_latents
from artforge.crossmodal.music_video import MusicVideoSettings, stream_frames
model, frames, size = load_model(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
z = seed_latents(model, frames, 0)  # random latents, no audio: what the frames cost on their own
stream_frames(model, lambda f: z[f.start : f.stop], frames, Path(sys.argv[4]), MusicVideoSettings(size=size), False)
"""


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="default")
    p.add_argument("--seconds", default="30,180", help="lengths of the piece, comma-separated")
    p.add_argument("--sizes", default="64,128", help="frame sides, comma-separated")
    p.add_argument("--fps", type=float, default=24.0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    import soundfile as sf

    work = Path(tempfile.mkdtemp(prefix="music-video-bench-"))
    env_python = [sys.executable]
    rows = []
    for seconds in [float(s) for s in args.seconds.split(",")]:
        audio = work / f"piece-{seconds:g}s.wav"
        sf.write(audio, synthetic_piece(seconds), SR)
        frames = int(round(seconds * args.fps))
        for size in [int(s) for s in args.sizes.split(",")]:
            video, plain = work / "v.mp4", work / "plain.mp4"
            music = [
                run_child(
                    env_python
                    + ["-m", "artforge", "music-video", args.model, str(audio), "-o", str(video)]
                    + ["--size", str(size), "--fps", str(args.fps), "--no-progress"]
                )  # fmt: skip
                for _ in range(args.repeats)
            ]
            base = [
                run_child(env_python + ["-c", BASELINE, args.model, str(frames), str(size), str(plain)])
                for _ in range(args.repeats)
            ]
            wall, base_wall = statistics.median(m[0] for m in music), statistics.median(b[0] for b in base)
            row = {
                "seconds": seconds, "size": size, "frames": frames,
                "music_video_s": round(wall, 1), "music_video_frames_per_s": round(frames / wall, 1),
                "peak_rss_mb": round(max(m[1] for m in music)),
                "frames_only_s": round(base_wall, 1), "frames_only_frames_per_s": round(frames / base_wall, 1),
                "frames_only_peak_rss_mb": round(max(b[1] for b in base)),
                "ratio_vs_frames_only": round(wall / base_wall, 2),
            }  # fmt: skip
            print(json.dumps(row))
            rows.append(row)
    result = {
        "command": "bench/music_video.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d"),
        "model": args.model,
        "fps": args.fps,
        "rows": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
