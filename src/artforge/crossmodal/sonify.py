"""Pictures become music: the picture is read left to right like a score.

The picture is averaged into a grid: one column per sixteenth note (``seconds`` × ``tempo``), one row per note
of ``scale`` over three octaves (top row = highest note).  In each column the cells that stand out from the
picture's background (by brightness and colour) sound:

- **vertical position → pitch**, quantised to the scale;
- **brightness → loudness** (dark parts play softly, never silently);
- **hue → timbre and stereo pan**: six hue families (red … magenta) each have their own harmonic recipe and place
  in the stereo field, greys a plain sine in the centre;
- **saturation → note density**: a grey column plays one note, a vivid one up to four at once.

A note held over consecutive columns is one longer note.  The same notes go to the WAV (additive synthesis with
an attack–decay–release envelope) and, with ``midi``, to a MIDI file (one track and General-MIDI instrument per
hue family, panned the same).  Everything is deterministic: the same picture and flags give the same bytes.

``sonify_walk`` gives a latent walk its own soundtrack: the score is read from the frames as they are shown.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.colors import rgb_to_hsv
from PIL import Image

from artforge.data.decode import BadImage, decode_rgb
from artforge.errors import ArtforgeError
from artforge.fileio import atomic_write_bytes

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "major-pentatonic": (0, 2, 4, 7, 9),
    "minor-pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "chromatic": tuple(range(12)),
}
ROOT = 45  # A2: three octaves above it stay in a comfortable range
OCTAVES = 3
STEPS_PER_BEAT = 4  # sixteenth notes
MAX_NOTES = 4  # at once, in the most saturated column
STANDS_OUT = 0.12  # a cell sounds when its brightness/colour differs from the background by this much
GREY = 6  # the timbre of unsaturated cells (hue families are 0-5)
# Harmonic recipes (amplitudes of partials 1, 2, 3, …) per hue family, and their General-MIDI programs.
TIMBRES = {
    0: (1.0, 0.5, 0.33, 0.25, 0.2, 0.16),  # red: bright, saw-like — GM 81 lead (sawtooth)
    1: (1.0, 0.6, 0.2, 0.1),  # yellow: warm — GM 1 acoustic grand piano
    2: (1.0, 0.25, 0.05),  # green: soft — GM 74 flute
    3: (1.0, 0.0, 0.3, 0.0, 0.15),  # cyan: hollow, odd partials — GM 72 clarinet
    4: (1.0, 0.0, 0.33, 0.0, 0.2, 0.0, 0.14),  # blue: square-like — GM 81 lead (square)
    5: (1.0, 0.4, 0.4, 0.2, 0.1),  # magenta: nasal — GM 69 oboe
    GREY: (1.0,),  # grey: a plain sine — GM 89 pad
}
GM_PROGRAMS = {0: 81, 1: 0, 2: 73, 3: 71, 4: 80, 5: 68, GREY: 88}
SAMPLE_RATE = 44100


@dataclass(frozen=True)
class Note:
    pitch: int  # MIDI note number
    start: int  # in sixteenth-note steps
    length: int  # in steps
    velocity: int  # 1-127
    timbre: int  # hue family 0-5, or GREY


def pan_of(timbre: int) -> float:
    """-1 (left) … +1 (right): the hue families spread across the field, grey in the centre."""
    return 0.0 if timbre == GREY else -0.8 + 1.6 * timbre / 5


def scale_pitches(scale: str) -> list[int]:
    if scale not in SCALES:
        raise ArtforgeError(f"unknown scale {scale!r}; choose one of: {', '.join(SCALES)}")
    return [ROOT + 12 * o + d for o in range(OCTAVES) for d in SCALES[scale]] + [ROOT + 12 * OCTAVES]


def picture_notes(rgb: np.ndarray, steps: int, scale: str = "minor-pentatonic") -> list[Note]:
    """The notes of an H × W × 3 uint8 picture read in ``steps`` columns."""
    pitches = scale_pitches(scale)
    bands = len(pitches)
    grid = np.asarray(Image.fromarray(rgb).resize((steps, bands), Image.Resampling.BOX), np.float32) / 255
    hsv = rgb_to_hsv(grid)  # bands × steps × 3, each in 0…1
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    background = np.median(val)
    stand_out = 0.6 * np.abs(val - background) + 0.4 * sat
    timbre = np.where(sat < 0.15, GREY, np.round(hue * 6).astype(int) % 6)
    notes: dict[tuple[int, int], list[int]] = {}  # (pitch, timbre) -> [start, length, velocity] of the held note
    done: list[Note] = []
    for step in range(steps):
        count = 1 + int(round(sat[:, step].mean() * (MAX_NOTES - 1)))
        loudest = np.argsort(-stand_out[:, step], kind="stable")[:count]
        for band in (b for b in loudest if stand_out[b, step] >= STANDS_OUT):
            key = (pitches[bands - 1 - band], int(timbre[band, step]))  # row 0 is the top: the highest note
            velocity = int(round(40 + 87 * val[band, step]))
            held = notes.get(key)
            if held and held[0] + held[1] == step:
                held[1] += 1
                held[2] = max(held[2], velocity)
            else:
                if held:
                    done.append(Note(key[0], held[0], held[1], held[2], key[1]))
                notes[key] = [step, 1, velocity]
    done += [Note(p, s, n, v, t) for (p, t), (s, n, v) in notes.items()]
    return sorted(done, key=lambda n: (n.start, n.pitch, n.timbre))


def synthesize(notes: list[Note], step_s: float, total_steps: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Stereo float32 samples (N × 2) of ``notes``: additive partials, attack-decay-release, constant-power pan."""
    release = 0.08
    out = np.zeros((int((total_steps * step_s + release) * sr) + 1, 2), np.float32)
    for note in notes:
        start = int(note.start * step_s * sr)
        t = np.arange(int((note.length * step_s + release) * sr)) / sr
        held = note.length * step_s
        envelope = np.minimum(t / 0.005, 1.0) * (0.6 + 0.4 * np.exp(-t / 0.08))
        envelope *= np.where(t > held, np.exp(-(t - held) / (release / 4)), 1.0)
        freq = 440.0 * 2 ** ((note.pitch - 69) / 12)
        wave = sum(a * np.sin(2 * np.pi * k * freq * t) for k, a in enumerate(TIMBRES[note.timbre], 1) if a)
        wave = (wave / sum(TIMBRES[note.timbre]) * envelope * (note.velocity / 127) ** 2).astype(np.float32)
        angle = (pan_of(note.timbre) + 1) * np.pi / 4
        end = min(len(out), start + len(wave))
        out[start:end, 0] += np.cos(angle) * wave[: end - start]
        out[start:end, 1] += np.sin(angle) * wave[: end - start]
    peak = np.abs(out).max()
    return out * (0.9 / peak) if peak > 0 else out


def midi_bytes(notes: list[Note], tempo: float) -> bytes:
    """A type-1 MIDI file of ``notes``: a tempo track, then one track per hue family with its instrument and pan."""
    import mido

    ticks_per_step = 120
    song = mido.MidiFile(type=1, ticks_per_beat=ticks_per_step * STEPS_PER_BEAT)
    song.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0)]))
    for channel, timbre in enumerate(sorted({n.timbre for n in notes})):
        channel += channel >= 9  # channel 10 (index 9) is General MIDI's drum kit
        events = [(0, 0, mido.Message("program_change", channel=channel, program=GM_PROGRAMS[timbre]))]
        pan = int(round((pan_of(timbre) + 1) / 2 * 127))
        events.append((0, 0, mido.Message("control_change", channel=channel, control=10, value=pan)))
        for n in (n for n in notes if n.timbre == timbre):
            on, off = n.start * ticks_per_step, (n.start + n.length) * ticks_per_step
            events.append((on, 2, mido.Message("note_on", channel=channel, note=n.pitch, velocity=n.velocity)))
            events.append((off, 1, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
        track, now = mido.MidiTrack(), 0
        for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):  # offs before ons at the same tick
            track.append(message.copy(time=tick - now))
            now = tick
        song.tracks.append(track)
    buf = io.BytesIO()
    song.save(file=buf)
    return buf.getvalue()


def wav_bytes(samples: np.ndarray, sr: int = SAMPLE_RATE) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def step_seconds(tempo: float) -> float:
    """Length of one column (a sixteenth note) at ``tempo`` beats per minute."""
    return 60 / tempo / STEPS_PER_BEAT


def steps_for(seconds: float, tempo: float) -> int:
    return max(1, int(round(seconds / step_seconds(tempo))))


def sonify(
    image: str | Path,
    out: str | Path,
    midi: str | Path | None = None,
    scale: str = "minor-pentatonic",
    tempo: float = 96.0,
    seconds: float = 20.0,
) -> dict:
    """Write ``out`` (WAV) and optionally ``midi`` for the picture at ``image``; returns what was made."""
    _check(tempo, seconds, out)
    scale_pitches(scale)  # an unknown scale fails before the picture is read
    try:
        rgb = np.asarray(decode_rgb(Path(image))[0])
    except BadImage as exc:
        raise ArtforgeError(f"cannot use {image} as a picture: {exc.reason}") from None
    except FileNotFoundError:
        raise ArtforgeError(f"no picture at {image}") from None
    steps = steps_for(seconds, tempo)
    notes = picture_notes(rgb, steps, scale)
    step_s = step_seconds(tempo)
    atomic_write_bytes(Path(out), wav_bytes(synthesize(notes, step_s, steps)))
    if midi:
        atomic_write_bytes(Path(midi), midi_bytes(notes, tempo))
    return {"notes": len(notes), "steps": steps, "seconds": steps * step_s, "wav": Path(out), "midi": midi}


def walk_score(model, latents, fps: float, tempo: float, frames_per_key: int, batch: int = 16) -> np.ndarray:
    """The picture the soundtrack reads: for every sixteenth note, one column of the frame on screen at that
    moment, the scan line sweeping left to right once per key-to-key leg of the walk — so the music plays the
    pictures as they morph."""
    from artforge.pictures import to_uint8

    total_s = len(latents) / fps
    steps = steps_for(total_s, tempo)
    step_s = step_seconds(tempo)
    shown = [min(len(latents) - 1, int(i * step_s * fps)) for i in range(steps)]
    columns: dict[int, np.ndarray] = {}
    for first in range(0, len(latents), batch):  # decode only the frames the score needs, a batch at a time
        wanted = sorted({f for f in shown if first <= f < first + batch})
        if wanted:
            pictures = to_uint8(model.decode(latents[wanted]))
            columns.update(zip(wanted, pictures))
    score = []
    for frame in shown:
        picture = columns[frame]
        x = int((frame % frames_per_key) / frames_per_key * picture.shape[1])
        score.append(picture[:, x])
    return np.stack(score, axis=1)  # H × steps × 3


def sonify_walk(
    model,
    out: str | Path,
    midi: str | Path | None = None,
    scale: str = "minor-pentatonic",
    tempo: float = 96.0,
    keys: int = 4,
    frames_per_key: int = 48,
    fps: float = 24.0,
    size: int = 256,
    seed: int = 0,
) -> dict:
    """A looping latent walk of ``model`` as an MP4 whose soundtrack is the walk's own pictures, sonified."""
    import tempfile

    from artforge.crossmodal.music_video import MusicVideoSettings, mux_sound, stream_frames
    from artforge.fileio import atomic_write
    from artforge.generate import walk_latents

    scale_pitches(scale)
    _check_tempo(tempo)
    if Path(out).suffix.lower() != ".mp4":
        raise ArtforgeError(f"-o {out}: with --walk the result is a video; give a name ending in .mp4")
    if keys < 2 or frames_per_key < 2:
        raise ArtforgeError("--keys and --frames must be at least 2 for a walk")
    latents = walk_latents(model, keys, frames_per_key, seed)
    score = walk_score(model, latents, fps, tempo, frames_per_key)
    steps = score.shape[1]
    notes = picture_notes(score, steps, scale)
    step_s = step_seconds(tempo)
    span = len(latents) / fps
    with tempfile.TemporaryDirectory(prefix="artforge-walk-") as tmp:
        sound, silent = Path(tmp) / "sound.wav", Path(tmp) / "video.mp4"
        sound.write_bytes(wav_bytes(synthesize(notes, step_s, steps)))
        settings = MusicVideoSettings(fps=fps, size=size)
        stream_frames(model, lambda f: latents[f.start : f.stop], len(latents), silent, settings, progress=False)
        atomic_write(Path(out), lambda t: mux_sound(silent, sound, 0.0, span, t), ".tmp.mp4")
    if midi:
        atomic_write_bytes(Path(midi), midi_bytes(notes, tempo))
    return {"notes": len(notes), "steps": steps, "seconds": span, "frames": len(latents), "video": Path(out)}


def _check_tempo(tempo: float) -> None:
    if not 20 <= tempo <= 300:
        raise ArtforgeError("--tempo must be between 20 and 300 beats per minute")


def _check(tempo: float, seconds: float, out) -> None:
    _check_tempo(tempo)
    if not 0.5 <= seconds <= 600:
        raise ArtforgeError("--seconds must be between 0.5 and 600")
    if Path(out).suffix.lower() != ".wav":
        raise ArtforgeError(f"-o {out}: the sound is written as WAV; give a name ending in .wav")
