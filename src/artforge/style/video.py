"""Fast style transfer of a video: frames streamed through ffmpeg, sound kept, flicker damped.

Frames are decoded one at a time (imageio-ffmpeg's reader), stylised with AdaIN and piped into an
H.264 encoder, so memory does not grow with the video's length; the source's sound is then copied
beside the new picture (re-encoded as AAC).  The style's statistics are computed once.

Flicker: a feed-forward stylisation of each frame on its own flickers, because small changes of a
frame (sensor noise, compression, light) move the decoder's output a lot.  Without optical flow,
``smooth`` (β, 0 = off) damps it in two places:

- the content statistics AdaIN normalises with follow an exponential moving average over frames
  (the global brightness and colour of the output no longer jump with each frame's) — at every AdaIN
  pass, and so do the output's colour moments that the style's colours are mapped from;
- at every pass, each feature cell keeps β·exp(−(d/τ)²) of its previous stylised value, where d is
  how much that cell's features changed since the previous frame (relative): still parts of the
  picture stay put, moving ones follow the new frame.

``flicker`` in the summary is the mean absolute frame-to-frame change of the output over that of
the input (both in [0, 1] pixels, at the output size): 1 = the output changes as much as the video.

Example::

    >>> stylize_video("clip.mp4", ["starry.jpg"], "styled.mp4", VideoSettings(size=512))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artforge.errors import ArtforgeError
from artforge.fileio import atomic_write
from artforge.pictures import to_uint8
from artforge.style.adain import (
    Rendering,
    _pad_to_multiple,
    adain_targets,
    channel_stats,
    finish_rendering,
    load_adain,
    resize_to,
    style_statistics,
    with_content,
    working_size,
)
from artforge.style.color import colour_moments
from artforge.style.io import fit_long_side, from_uint8, read_image

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".gif")
CHANGE_SCALE = 0.5  # τ: a cell whose features changed by 50 % (relative) keeps e^-1 of the smoothing
PIXEL_CHANGE = 0.04  # τ of the picture stage: a blurred input pixel that moved by 4 % keeps e^-1 of it
BLUR = 2  # the input is compared after a (2·BLUR+1)² box blur: sensor noise is not motion


@dataclasses.dataclass
class VideoSettings:
    size: int = 512  # long side of the output frames (even sides)
    smooth: float = 0.6  # β: temporal smoothing, 0 (off) .. 0.95
    alpha: float = 1.0  # content (0) .. style (1)
    weights: tuple[float, ...] | None = None  # one per style picture
    preserve_color: bool = False  # keep the video's colours (the styles are recoloured to the first frame)
    max_frames: int | None = None  # stop after this many frames (a preview)
    device: str = "cpu"
    rendering: Rendering = Rendering()  # how the decoder's output becomes the frame (as for a picture)

    def validate(self) -> "VideoSettings":
        problems = []
        if not 16 <= self.size <= 4096:
            problems.append(f"--image-size must be between 16 and 4096 for a video, got {self.size}")
        if not 0 <= self.smooth <= 0.95:
            problems.append(f"--smooth must be between 0 (off) and 0.95, got {self.smooth}")
        if not 0 <= self.alpha <= 1:
            problems.append(f"--alpha must be between 0 and 1, got {self.alpha}")
        if self.max_frames is not None and self.max_frames < 1:
            problems.append("--max-frames must be at least 1")
        if problems:
            raise ArtforgeError("; ".join(problems))
        self.rendering.validate()
        return self


def is_video(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


class TemporalAdaIN:
    """AdaIN for one frame after another, with the flow-free smoothing described in the module docstring."""

    def __init__(self, model, stats, settings: VideoSettings):
        self.model, self.stats, self.s = model, stats, settings
        self.prev_frame = self.prev_out = None
        self.previous: dict = {}  # per pass: the previous frame's (features, targets)
        self.ema: dict = {}  # smoothed content statistics and output colour moments

    def __call__(self, frame: torch.Tensor) -> torch.Tensor:
        model, r = self.model, self.s.rendering
        size = tuple(frame.shape[-2:])
        work = working_size(size, r.scale)
        with torch.no_grad():
            fcs = features = model.encode_levels(
                _pad_to_multiple(resize_to(frame.to(model.device), work), model.stride)
            )
            for step in range(r.passes):  # every pass smoothed: its content statistics and its still cells
                own = self._smoothed(f"pass{step}", {k: channel_stats(f) for k, f in features.items()})
                targets = adain_targets(features, self.stats, self.s.weights, content_stats=own)
                targets = self._still_where_unchanged(f"pass{step}", features, with_content(targets, fcs, self.s.alpha))
                out = model.decode_levels(targets).clamp(-1, 1)
                if step + 1 < r.passes:
                    features = model.encode_levels(out)
            out = out[..., : work[0], : work[1]]
            moments = self._smoothed("colour", colour_moments(out[0])) if r.colour else None
            out = finish_rendering(out, self.stats, self.s.weights, self.s.alpha, r, size, moments=moments)
            return self._steady(frame.to(out.device).float(), out)

    def _still_where_unchanged(self, name: str, features: dict, targets: dict) -> dict:
        """The targets of one pass, each feature cell keeping part of its previous value where its features held
        still (:meth:`_keep_still`); remembers this frame's for the next."""
        prev = self.previous.get(name)
        if prev is not None and self.s.smooth > 0:
            targets = {k: self._keep_still(features[k], prev[0][k], t, prev[1][k]) for k, t in targets.items()}
        self.previous[name] = (features, targets)
        return targets

    def _smoothed(self, name: str, value):
        """``value`` (nested tuples/dicts of tensors) as an exponential moving average over frames, weight β."""
        old, beta = self.ema.get(name), self.s.smooth
        if old is not None and beta > 0:
            value = _ema(old, value, beta)
        self.ema[name] = value
        return value

    def _keep_still(self, fc, prev_fc, target, prev_target) -> torch.Tensor:
        """Each feature cell keeps β·exp(−(d/τ)²) of its previous stylised value (d: its relative change)."""
        if prev_target.shape != target.shape:
            return target
        change = (fc - prev_fc).abs().mean(1, keepdim=True) / fc.abs().mean().clamp_min(1e-6)
        keep = self.s.smooth * torch.exp(-((change / CHANGE_SCALE) ** 2))
        return keep * prev_target + (1 - keep) * target

    def _steady(self, frame: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Where the (blurred) input did not change, keep β of the previous output picture."""
        beta = self.s.smooth
        blurred = F.avg_pool2d(frame, 2 * BLUR + 1, stride=1, padding=BLUR, count_include_pad=False)
        if beta > 0 and self.prev_frame is not None and self.prev_out.shape == out.shape:
            change = (blurred - self.prev_frame).abs().mean(1, keepdim=True) / 2  # [-1, 1] pictures: /2 -> [0, 1]
            keep = beta * torch.exp(-((change / PIXEL_CHANGE) ** 2))
            out = keep * self.prev_out + (1 - keep) * out
        self.prev_frame, self.prev_out = blurred, out
        return out


def _ema(old, new, beta: float):
    if isinstance(new, dict):
        return {k: _ema(old[k], v, beta) for k, v in new.items()}
    if isinstance(new, tuple):
        return tuple(_ema(o, n, beta) for o, n in zip(old, new))
    return beta * old + (1 - beta) * new


def open_video(path: Path):
    """(frame iterator of H×W×3 uint8, metadata) from imageio-ffmpeg, or an ArtforgeError a person can act on."""
    import imageio_ffmpeg

    if not path.is_file():
        raise ArtforgeError(f"no such video: {path}")
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as exc:
        raise ArtforgeError(f"cannot read {path} as a video: {str(exc).strip()[-300:]}") from None
    w, h = meta["size"]
    frame_bytes = w * h * 3

    def frames():
        try:
            for raw in reader:
                if len(raw) == frame_bytes:
                    yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        finally:
            reader.close()

    return frames(), meta


def frame_change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two H×W×3 uint8 frames, in [0, 1]."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()) / 255.0


def stylize_video(
    video,
    style_paths: Sequence,
    out,
    settings: VideoSettings | None = None,
    adain_path=None,
    progress: bool = True,
) -> dict:
    """Stylise every frame of ``video`` with the AdaIN decoder and write ``out`` (MP4) with the source's sound."""
    from tqdm import tqdm

    from artforge.crossmodal.music_video import probe
    from artforge.generate import mp4_writer

    s = (settings or VideoSettings()).validate()
    video, out = Path(video), Path(out)
    if out.suffix.lower() != ".mp4":
        raise ArtforgeError(f"a stylised video is written as MP4: -o must end in .mp4, got {out}")
    if not style_paths:
        raise ArtforgeError("give at least one style image")
    frames, meta = open_video(video)
    w, h = meta["size"]
    th, tw = (max(2, side - side % 2) for side in fit_long_side((h, w), s.size))  # yuv420p needs even sides
    fps = float(meta.get("fps") or 25.0)
    model = load_adain(adain_path, device=s.device)
    styles = [read_image(p, max_side=max(s.size, 256)) for p in style_paths]
    out.parent.mkdir(parents=True, exist_ok=True)
    silent = out.with_name(f".{out.stem}.silent.mp4")
    start, count, change_in, change_out = time.perf_counter(), 0, [], []
    writer, prev_in, prev_out, stylise = mp4_writer(silent, (tw, th), fps), None, None, None
    total = meta.get("duration", 0) * fps or None
    bar = tqdm(total=s.max_frames or (round(total) if total else None), unit="frame", disable=not progress)
    try:
        for frame in frames:
            picture = np.asarray(Image.fromarray(frame).resize((tw, th), Image.Resampling.LANCZOS))
            tensor = from_uint8(picture)
            if stylise is None:  # the first frame sets the colours that --preserve-color keeps
                stylise = TemporalAdaIN(model, style_statistics(model, styles, tensor if s.preserve_color else None), s)
            styled = to_uint8(stylise(tensor))[0]
            writer.send(np.ascontiguousarray(styled))
            if prev_in is not None:
                change_in.append(frame_change(picture, prev_in))
                change_out.append(frame_change(styled, prev_out))
            prev_in, prev_out, count = picture, styled, count + 1
            bar.update(1)
            if s.max_frames and count >= s.max_frames:
                break
    finally:
        bar.close()
        writer.close()
    try:
        if count == 0:
            raise ArtforgeError(f"{video} has no frame that could be decoded")
        audio = probe(video)["audio_codec"] is not None
        atomic_write(out, lambda tmp: _finish(silent, video if audio else None, count / fps, tmp), ".tmp.mp4")
    finally:
        silent.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    mean_in = sum(change_in) / len(change_in) if change_in else 0.0
    mean_out = sum(change_out) / len(change_out) if change_out else 0.0
    return {
        "out": str(out),
        "frames": count,
        "fps": fps,
        "size": [th, tw],
        "sound": audio,
        "seconds": seconds,
        "frames_per_s": count / max(seconds, 1e-9),
        "change_in": mean_in,
        "change_out": mean_out,
        "flicker": mean_out / mean_in if mean_in > 0 else 0.0,
    }


def _finish(silent: Path, sound_from: Path | None, seconds: float, target: str) -> None:
    """The stylised picture with the first ``seconds`` of the source's sound beside it, or the picture alone."""
    import shutil

    from artforge.crossmodal.music_video import mux_sound

    if sound_from is None:
        shutil.copyfile(silent, target)
    else:
        mux_sound(silent, sound_from, 0.0, seconds, target)
