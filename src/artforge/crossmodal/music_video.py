"""Music drives a latent walk: every frame's latent comes from what the sound does at that moment.

- **Harmony chooses the picture.** K key latents share the 12 pitch classes (class i → key i mod K); each
  frame's latent is the chroma-weighted blend of the keys (``Method.latent_blend``), smoothed over ``smooth``
  seconds, so a chord change glides to another picture.  With ``beat_jump`` each beat rotates which key answers
  which pitch class, so a repeated chord still moves on.
- **Harmonic loudness moves it.** A slow orbit through four more latents advances with the harmonic RMS
  (``speed`` stops per second at full loudness); the picture leans toward the orbit by ``motion`` × loudness.
- **Percussive onsets pulse it.** Each hit jumps the latent toward a pulse latent by ``pulse`` × its strength,
  decaying over 0.15 s — on StyleGAN only the fine (texture, colour) layers pulse and the layout holds.

Frames are decoded ``batch`` at a time and piped to ffmpeg (imageio-ffmpeg's binary): memory does not grow with
the length of the piece.  The sound is then muxed in as AAC from the original file (its own quality, cut to the
same start and duration); the video holds exactly round(duration × fps) frames.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from artforge.crossmodal.audio import AudioFeatures, analyse, load_audio
from artforge.errors import ArtforgeError
from artforge.fileio import atomic_write, new_temp_file
from artforge.generate import mp4_writer, parse_keys, seed_latents
from artforge.methods.base import Method
from artforge.pictures import to_uint8

PULSE_DECAY_S = 0.15  # a hit fades over this long: short enough that the next sixteenth note pulses again
ORBIT_STOPS = 4
SHARPEN = 3.0  # chroma weights are raised to this power, so the loudest pitch class leads the blend


@dataclass
class MusicVideoSettings:
    fps: float = 24.0
    start: float = 0.0
    duration: float | None = None  # seconds of audio from start (default: to the end)
    size: int = 256  # frame side in pixels (the model's pictures are resized)
    pulse: float = 0.5  # 0…1: how far a strong hit moves the picture toward the pulse latent
    motion: float = 0.3  # 0…1: how far harmonic loudness takes the picture along the orbit
    speed: float = 0.25  # orbit stops per second at full harmonic loudness
    smooth: float = 0.5  # seconds: time constant for harmony and loudness (0 = follow every frame)
    keys: str = "12"  # number of random key latents, or comma-separated seeds / latent files
    seed: int = 0
    beat_jump: bool = False
    truncation: float | None = None
    batch: int = 16  # frames decoded at once
    prompt: str | None = None  # text choosing the key, orbit and pulse pictures (artforge.crossmodal.prompt)
    prompt_search: object = None  # a PromptSearch (how hard unconditional models look); None: its defaults


class LatentTimeline:
    """The latent of any frame, computed when asked (a 128-px diffusion model's noise for a whole song would not
    fit in memory; the per-frame controls are a few numbers each)."""

    def __init__(self, model: Method, features: AudioFeatures, settings: MusicVideoSettings):
        self.model, self.features, self.s = model, features, settings
        keys = parse_keys(model, settings.keys, settings.truncation)
        if settings.prompt:
            self.keys, more = self._prompted(model, keys, settings)
        else:
            self.keys = seed_latents(model, keys, settings.seed, settings.truncation) if isinstance(keys, int) else keys
            more = seed_latents(model, ORBIT_STOPS + 1, settings.seed + 1, settings.truncation)
        if self.keys.dim() > more.dim() and hasattr(model, "per_layer"):  # projected w+ keys: all in w+
            more = model.per_layer(more)
        self.orbit, self.pulse_target = more[:ORBIT_STOPS], more[ORBIT_STOPS:]
        self.key_weights = key_weights(features, len(self.keys), settings.smooth, settings.beat_jump)
        loudness = smoothed(features.harmonic, features.fps, settings.smooth)
        self.lean = settings.motion * loudness
        self.phase = np.cumsum(settings.speed * loudness / features.fps)  # in orbit stops
        self.hit = settings.pulse * decaying_peaks(features.onset, features.fps, PULSE_DECAY_S)

    def __len__(self) -> int:
        return self.features.frames

    @staticmethod
    def _prompted(model: Method, keys, s: MusicVideoSettings) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys, orbit and pulse all drawn for the prompt: the video stays on its subject while it moves."""
        from artforge.crossmodal.prompt import prompt_latents

        if not isinstance(keys, int):
            raise ArtforgeError("--prompt chooses the key pictures itself: give --keys a number, not seeds or files")
        chosen = prompt_latents(model, s.prompt, keys + ORBIT_STOPS + 1, s.seed, s.truncation, s.prompt_search)
        return chosen[:keys], chosen[keys:]

    @torch.no_grad()
    def __call__(self, frames: range) -> torch.Tensor:
        idx = np.asarray(frames)
        m = self.model
        home = m.latent_blend(self.keys, torch.from_numpy(self.key_weights[idx]).float())
        stop = np.floor(self.phase[idx]).astype(int)
        a = self.orbit[torch.from_numpy(stop % ORBIT_STOPS)]
        b = self.orbit[torch.from_numpy((stop + 1) % ORBIT_STOPS)]
        on_orbit = m.latent_path(a, b, self._column(self.phase[idx] - stop, a))
        base = m.latent_path(home, on_orbit, self._column(self.lean[idx], home))
        target = self.pulse_target.expand_as(base)
        pulsed = m.latent_path(base, target, self._column(self.hit[idx], base))
        if hasattr(m, "mix") and hasattr(m, "num_ws"):  # StyleGAN: layout from base, texture and colour pulse
            return m.mix(base, pulsed, range(m.num_ws // 2))
        return pulsed

    @staticmethod
    def _column(t: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        """Per-row interpolation amounts shaped to broadcast over a latent batch (F × 1 × …)."""
        return torch.from_numpy(t).to(like).reshape(-1, *([1] * (like.dim() - 1)))


def smoothed(x: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """Exponential moving average with time constant ``seconds`` (0: unchanged); along axis 0."""
    if seconds <= 0:
        return x.astype(float)
    alpha = 1.0 - math.exp(-1.0 / (fps * seconds))
    out = np.empty_like(x, dtype=float)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = out[i - 1] + alpha * (x[i] - out[i - 1])
    return out


def decaying_peaks(x: np.ndarray, fps: float, decay_s: float) -> np.ndarray:
    """Rise at once to each peak, then fade exponentially: an envelope that jumps on a hit and settles."""
    keep = math.exp(-1.0 / (fps * decay_s))
    out = np.empty(len(x))
    level = 0.0
    for i, v in enumerate(x):
        level = max(float(v), level * keep)
        out[i] = level
    return out


def key_weights(features: AudioFeatures, k: int, smooth_s: float, beat_jump: bool) -> np.ndarray:
    """F × K blend weights: pitch class i feeds key (i + shift) mod K, shift counting beats when ``beat_jump``."""
    chroma = smoothed(features.chroma, features.fps, smooth_s) ** SHARPEN
    shift = np.cumsum(features.beats) if beat_jump else np.zeros(features.frames, int)
    weights = np.zeros((features.frames, k))
    for pitch in range(12):
        np.add.at(weights, (np.arange(features.frames), (pitch + shift) % k), chroma[:, pitch])
    return weights + 1e-4  # silence still blends all keys evenly instead of dividing by zero


def render_music_video(
    model: Method,
    audio: str | Path,
    out: str | Path,
    settings: MusicVideoSettings | None = None,
    progress: bool = True,
    on_frames: Callable[[int, int], None] | None = None,
) -> dict:
    """Write ``out`` (MP4, H.264 + AAC) for ``audio`` drawn by ``model``; returns what was made and how fast.
    ``on_frames(done, total)`` is called after each batch (an exception raised there stops the render and
    leaves nothing behind)."""
    s = settings or MusicVideoSettings()
    _check(s)
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise ArtforgeError(f"-o {out}: the music video is written as MP4; give a name ending in .mp4")
    t0 = time.perf_counter()
    y, sr = load_audio(audio, s.start, s.duration)
    features = analyse(y, sr, s.fps, s.start)
    del y
    analysis_s = time.perf_counter() - t0
    timeline = LatentTimeline(model, features, s)
    out.parent.mkdir(parents=True, exist_ok=True)
    silent = new_temp_file(out, ".video.mp4")
    t1 = time.perf_counter()
    try:
        stream_frames(model, timeline, len(timeline), silent, s, progress, on_frames)
        render_s = time.perf_counter() - t1
        span = features.frames / features.fps
        atomic_write(out, lambda tmp: mux_sound(silent, audio, features.start, span, tmp), ".tmp.mp4")
    finally:
        silent.unlink(missing_ok=True)
    return {
        "path": out,
        "frames": features.frames,
        "seconds": features.duration,
        "analysis_s": analysis_s,
        "render_s": render_s,
        "frames_per_s": features.frames / max(render_s, 1e-9),
    }


def _check(s: MusicVideoSettings) -> None:
    problems = []
    if not 1 <= s.fps <= 120:
        problems.append("--fps must be between 1 and 120")
    if not 16 <= s.size <= 2048:
        problems.append("--size must be between 16 and 2048 pixels")
    for name in ("pulse", "motion"):
        if not 0 <= getattr(s, name) <= 1:
            problems.append(f"--{name} must be between 0 and 1")
    if s.speed < 0 or s.smooth < 0:
        problems.append("--speed and --smooth must be 0 or more")
    if problems:
        raise ArtforgeError("; ".join(problems))


def stream_frames(
    model: Method,
    latents: Callable[[range], torch.Tensor],
    count: int,
    path: Path,
    s: MusicVideoSettings,
    progress: bool,
    on_frames: Callable[[int, int], None] | None = None,
) -> None:
    """Decode ``count`` frames, the latents of each batch of ``s.batch`` from ``latents(frames)``, resize them to
    ``s.size`` and pipe them to ffmpeg: only one batch of pictures is ever in memory."""
    from tqdm import tqdm

    side = s.size - s.size % 2  # yuv420p needs even sides
    writer = mp4_writer(path, (side, side), s.fps)
    bar = tqdm(total=count, unit="frame", desc="music video", disable=not progress)
    try:
        for first in range(0, count, s.batch):
            frames = range(first, min(first + s.batch, count))
            for picture in to_uint8(model.decode(latents(frames))):
                image = Image.fromarray(picture).resize((side, side), Image.Resampling.LANCZOS)
                writer.send(np.ascontiguousarray(np.asarray(image)))
            bar.update(len(frames))
            if on_frames is not None:
                on_frames(frames.stop, count)
    finally:
        bar.close()
        writer.close()


def mux_sound(video: Path, audio: str | Path, start: float, span: float, out: str) -> None:
    """Put ``span`` seconds of ``audio`` from ``start`` beside the video stream (copied, not re-encoded) as AAC,
    from the original file at its own quality."""
    import imageio_ffmpeg

    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(video),
        "-ss", f"{start:.6f}", "-t", f"{span:.6f}", "-i", str(audio),
        "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", out,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ArtforgeError(f"ffmpeg could not add the sound of {Path(audio).name}: {done.stderr.strip()[-300:]}")


def probe(path: str | Path) -> dict:
    """What an MP4 holds: frames, seconds, and its audio codec (None when it has no sound)."""
    import imageio_ffmpeg

    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    info = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr  # ffmpeg describes its input on stderr (and exits 1: no output was asked for)
    audio = re.search(r"Stream #\S+.*?: Audio: (\w+)", info)
    return {"frames": frames, "seconds": seconds, "audio_codec": audio.group(1) if audio else None}
