"""What a piece of music does, frame by frame of a video: librosa features resampled to the video's frame rate.

Per video frame: percussive onset strength (the pulse: drums, clicks, plucks), harmonic loudness (how much the
tonal part plays: drives motion), chroma (which of the 12 pitch classes sound: chooses between key pictures)
and beats.  The harmonic/percussive split (Fitzgerald 2010, ``librosa.effects.hpss``) keeps a loud sustained
chord from pulsing and a drum hit from moving the harmony.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artforge.errors import ArtforgeError

SAMPLE_RATE = 22050  # librosa's default analysis rate: enough for onsets and chroma, 2x cheaper than 44.1 kHz
HOP = 256  # analysis hop (11.6 ms): several per video frame, so a click is never between two hops unseen


@dataclass
class AudioFeatures:
    """Per-frame features of ``duration`` seconds of audio at ``fps`` (all arrays have ``frames`` rows)."""

    fps: float
    start: float
    duration: float
    onset: np.ndarray  # F, percussive onset strength, 0…1 (1 = the piece's strong hits)
    harmonic: np.ndarray  # F, harmonic RMS loudness, 0…1
    chroma: np.ndarray  # F × 12, pitch-class energy of the harmonic part, each row summing to 1
    beats: np.ndarray  # F, True on frames where a beat falls

    @property
    def frames(self) -> int:
        return len(self.onset)


def frame_count(duration: float, fps: float) -> int:
    """The exact number of video frames for ``duration`` seconds: round(duration × fps), at least one."""
    return max(1, int(round(duration * fps)))


def load_audio(path: str | Path, start: float = 0.0, duration: float | None = None) -> tuple[np.ndarray, int]:
    """Mono samples at :data:`SAMPLE_RATE` from ``start`` for ``duration`` seconds (default: to the end).

    Any format libsndfile or ffmpeg reads (WAV, FLAC, OGG, MP3, …).  A missing, unreadable, silent-length or
    too-short file raises :class:`ArtforgeError` with what to do."""
    import librosa

    path = Path(path)
    if not path.is_file():
        raise ArtforgeError(f"no audio file at {path}")
    if start < 0 or (duration is not None and duration <= 0):
        raise ArtforgeError("--start must be 0 or more and --duration more than 0 seconds")
    try:
        with warnings.catch_warnings():  # librosa warns when it falls back to audioread; our error says enough
            warnings.simplefilter("ignore")
            y, sr = librosa.load(path, sr=SAMPLE_RATE, mono=True, offset=float(start), duration=duration)
    except Exception as exc:  # noqa: BLE001 — soundfile/audioread raise many types; all mean "cannot read it"
        raise ArtforgeError(
            f"cannot read {path.name} as audio ({type(exc).__name__}: {str(exc)[:120]}); use WAV, FLAC, OGG or MP3"
        ) from None
    if y.size < sr // 10:
        where = f" after --start {start:g} s" if start else ""
        raise ArtforgeError(f"{path.name} has less than 0.1 s of audio{where}")
    if not np.isfinite(y).all():
        raise ArtforgeError(f"{path.name} holds invalid samples (NaN or infinite)")
    return y, sr


def analyse(y: np.ndarray, sr: int, fps: float, start: float = 0.0) -> AudioFeatures:
    """Features of samples ``y`` for each frame of a video at ``fps`` (frame f covers [f/fps, (f+1)/fps))."""
    import librosa

    duration = len(y) / sr
    n = frame_count(duration, fps)
    onset, rms, chroma = _hop_features(y, sr)
    _, beat_hops = librosa.beat.beat_track(onset_envelope=onset, sr=sr, hop_length=HOP, bpm=_tempo(onset, sr))
    hop_frame = np.minimum((np.arange(len(onset)) * HOP / sr * fps).astype(int), n - 1)  # video frame of each hop
    onset_f = _per_frame(onset, hop_frame, n, np.maximum)  # the strongest hit in the frame, not an average
    rms_f = _per_frame(rms, hop_frame, n, np.add, mean=True)
    chroma_f = np.stack([_per_frame(c, hop_frame, n, np.add, mean=True) for c in chroma], axis=1)
    beats = np.zeros(n, bool)
    beat_hops = np.asarray(beat_hops, int)
    beats[hop_frame[beat_hops[beat_hops < len(hop_frame)]]] = True
    return AudioFeatures(
        fps=fps,
        start=start,
        duration=duration,
        onset=_unit(onset_f),
        harmonic=_unit(rms_f),
        chroma=chroma_f / np.maximum(chroma_f.sum(1, keepdims=True), 1e-8),
        beats=beats,
    )


CHUNK_HOPS = 2048  # 24 s of audio analysed at a time: spectrograms of a whole song would grow with its length
MARGIN_HOPS = 128  # 1.5 s of context each side: the HPSS median filters and STFT windows see across the seams


def _hop_features(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(percussive onset strength, harmonic RMS, harmonic chroma 12 × T) for every hop of ``y``, computed chunk by
    chunk with overlapping context so memory stays that of one chunk however long the piece."""
    import librosa

    hops = 1 + len(y) // HOP  # librosa's centred frames
    onset, rms, chroma = np.zeros(hops), np.zeros(hops), np.zeros((12, hops))
    for first in range(0, hops, CHUNK_HOPS):
        lo = max(0, first - MARGIN_HOPS)
        piece = y[lo * HOP : (first + CHUNK_HOPS + MARGIN_HOPS) * HOP]
        harmonic, percussive = librosa.effects.hpss(piece)
        o = librosa.onset.onset_strength(y=percussive, sr=sr, hop_length=HOP)
        r = librosa.feature.rms(y=harmonic, hop_length=HOP)[0]
        c = librosa.feature.chroma_stft(y=harmonic, sr=sr, hop_length=HOP, tuning=0.0)  # A440, no estimate
        keep = slice(first - lo, first - lo + min(CHUNK_HOPS, hops - first))
        span = slice(first, first + keep.stop - keep.start)
        onset[span], rms[span], chroma[:, span] = o[keep], r[keep], c[:, keep]
    return onset, rms, chroma


def _tempo(onset: np.ndarray, sr: int) -> float:
    """Beats per minute: the median of tempo estimates over chunk-long windows (librosa's tempogram of a whole
    song takes memory in proportion to its length: 450 MB more at three minutes)."""
    import librosa

    windows = [onset[i : i + CHUNK_HOPS] for i in range(0, len(onset), CHUNK_HOPS)]
    windows = [w for w in windows if len(w) >= CHUNK_HOPS // 4] or [onset]
    estimates = [librosa.feature.tempo(onset_envelope=w, sr=sr, hop_length=HOP)[0] for w in windows]
    return float(np.median(estimates))


def _per_frame(values: np.ndarray, frame_of: np.ndarray, n: int, op, mean: bool = False) -> np.ndarray:
    """Pool per-hop ``values`` into ``n`` video frames with ``op`` (np.maximum or np.add; mean divides by count);
    a frame no hop falls in (fps above the hop rate) takes the previous frame's value."""
    out = np.zeros(n)
    op.at(out, frame_of, values)
    counts = np.bincount(frame_of, minlength=n)
    if mean:
        out = out / np.maximum(counts, 1)
    for f in np.flatnonzero(counts[1:] == 0) + 1:  # in order, so a run of empty frames carries the value on
        out[f] = out[f - 1]
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    """Scale to 0…1 by the 99th percentile (so one freak peak does not flatten everything else)."""
    top = np.percentile(x, 99) if x.size else 0.0
    return np.clip(x / top, 0.0, 1.0) if top > 1e-8 else np.zeros_like(x)
