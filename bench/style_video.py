"""Flicker of fast video style transfer, with and without the temporal smoothing, on clips made here.

Two 4-second clips (24 fps, 384×288) rendered from scikit-image's astronaut with sensor noise (σ = 6 of 255), a
±3 % light flicker and a small moving square: ``still`` (a fixed camera: what per-frame stylisation makes
flicker) and ``pan`` (the camera moves 3 px a frame: what smoothing must not smear), each with a 440 Hz tone.
Each is stylised by ``artforge.style.video`` at every ``--smooth`` value; reported: ``flicker`` (mean
absolute frame-to-frame change of the output over the input's, both in [0, 1]), frames/s, and whether the
sound came through.

    PYTHONPATH=src .venv/bin/python bench/style_video.py --style PAINTING.png --threads 2 --json bench/style_video.json
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))


def write_clip(path: Path, frames: int = 96, size=(384, 288), pan: int = 0, noise: float = 6.0, sound=True, fps=24):
    """A clip of the astronaut: sensor noise, a light flicker, a moving green square, ``pan`` px/frame of camera
    motion, and (``sound``) a 440 Hz tone beside it.  Deterministic."""
    import imageio_ffmpeg
    from PIL import Image
    from skimage import data

    rng = np.random.default_rng(0)
    w, h = size
    scene = Image.fromarray(data.astronaut()).resize((2 * w, 2 * h), Image.LANCZOS)
    silent = path.with_name(path.stem + "-silent.mp4")
    writer = imageio_ffmpeg.write_frames(
        str(silent), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=1, ffmpeg_log_level="error"
    )
    writer.send(None)
    side = max(4, h // 8)
    for i in range(frames):
        x = min(i * pan, w - 1)
        frame = np.asarray(scene.crop((x, h // 4, x + w, h // 4 + h))).astype(np.float32) * (1 + 0.03 * np.sin(i))
        left = (w // 8 + 2 * i) % (w - side)
        frame[h // 5 : h // 5 + side, left : left + side] = (40, 200, 60)
        frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    if not sound:
        silent.rename(path)
        return path
    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(rate * frames // fps) / rate) * 32767).astype(np.int16)
    wav = path.with_suffix(".wav")
    with wave.open(str(wav), "wb") as f:
        f.setnchannels(1), f.setsampwidth(2), f.setframerate(rate), f.writeframes(tone.tobytes())
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    cmd = [
        ffmpeg,
        "-y",
        "-loglevel",
        "error",
        "-i",
        str(silent),
        "-i",
        str(wav),
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        str(path),
    ]
    subprocess.run(cmd, check=True)
    silent.unlink()
    wav.unlink()
    return path


def main(argv=None) -> dict:
    from artforge.style.video import VideoSettings, stylize_video

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--style", required=True, help="a style picture")
    p.add_argument("--smooth", default="0,0.6,0.85", help="comma-separated --smooth values (default 0,0.6,0.85)")
    p.add_argument("--size", type=int, default=384, help="long side of the output (default 384)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--work", type=Path, default=Path("/tmp/style-video"))
    p.add_argument("--adain", help="an AdaIN decoder folder (default: the shipped one)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    clips = {"still": write_clip(args.work / "still.mp4"), "pan": write_clip(args.work / "pan.mp4", pan=3)}
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads",
        "date": time.strftime("%Y-%m-%d"),
        "style": str(args.style),
        "size": args.size,
        "runs": {},
    }
    for name, clip in clips.items():
        for smooth in (float(v) for v in args.smooth.split(",")):
            settings = VideoSettings(size=args.size, smooth=smooth)
            out = args.work / f"{name}-smooth{smooth}.mp4"
            summary = stylize_video(clip, [args.style], out, settings, args.adain, progress=False)
            keep = ("flicker", "change_in", "change_out", "frames", "frames_per_s", "sound")
            result["runs"][f"{name} smooth={smooth}"] = {k: summary[k] for k in keep}
            print(name, smooth, json.dumps(result["runs"][f"{name} smooth={smooth}"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
