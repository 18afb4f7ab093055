"""Picture -> music: each mapping of the issue checked on pictures made to isolate it; WAV and MIDI agree."""

import io

import mido
import numpy as np
import pytest
import soundfile as sf

from artforge.cli import main
from artforge.crossmodal.sonify import (
    GREY,
    ROOT,
    SCALES,
    STEPS_PER_BEAT,
    midi_bytes,
    pan_of,
    picture_notes,
    scale_pitches,
    sonify,
    steps_for,
)
from artforge.errors import ArtforgeError

WHITE = np.full((64, 64, 3), 255, np.uint8)


def with_dot(colour, row: int, col: int = 32, size: int = 8) -> np.ndarray:
    picture = WHITE.copy()
    picture[row : row + size, col : col + size] = colour
    return picture


def test_higher_in_the_picture_is_higher_in_pitch():
    high = picture_notes(with_dot((200, 30, 30), 4), 16)
    low = picture_notes(with_dot((200, 30, 30), 52), 16)
    assert high and low and min(n.pitch for n in high) > max(n.pitch for n in low)


def test_pitches_stay_in_the_scale():
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (48, 96, 3), dtype=np.uint8)
    for scale, degrees in SCALES.items():
        notes = picture_notes(picture, 32, scale)
        assert notes and all((n.pitch - ROOT) % 12 in degrees for n in notes), scale


def test_brighter_is_louder():
    dark = picture_notes(with_dot((90, 10, 10), 24), 16)  # dark red on white
    bright = picture_notes(with_dot((255, 120, 120), 24), 16)  # light red: stands out less, but brighter
    assert max(n.velocity for n in bright) > max(n.velocity for n in dark)


def test_hue_sets_timbre_and_pan():
    red = picture_notes(with_dot((230, 20, 20), 24), 16)
    blue = picture_notes(with_dot((20, 20, 230), 24), 16)
    grey = picture_notes(with_dot((60, 60, 60), 24), 16)
    assert {n.timbre for n in red} == {0} and {n.timbre for n in blue} == {4} and {n.timbre for n in grey} == {GREY}
    assert pan_of(0) < 0 < pan_of(4) and pan_of(GREY) == 0


def test_saturation_brings_more_notes_at_once():
    rng = np.random.default_rng(1)
    hues = rng.integers(0, 3, (64, 64))
    vivid = np.where(hues[..., None] == np.arange(3), 255, 0).astype(np.uint8)  # pure R, G or B pixels in blocks
    vivid = np.kron(vivid[::8, ::8], np.ones((8, 8, 1), np.uint8))
    greyish = np.kron(rng.integers(0, 256, (8, 8, 1), dtype=np.uint8), np.ones((8, 8, 3), np.uint8))

    def per_step(notes):
        return sum(n.length for n in notes) / 16

    assert per_step(picture_notes(vivid, 16)) > 2 * per_step(picture_notes(greyish, 16))


def test_the_same_picture_gives_the_same_bytes_and_midi_holds_the_same_notes(tmp_path):
    rng = np.random.default_rng(2)
    from PIL import Image

    Image.fromarray(rng.integers(0, 256, (40, 80, 3), dtype=np.uint8)).save(tmp_path / "p.png")
    a = sonify(tmp_path / "p.png", tmp_path / "a.wav", tmp_path / "a.mid", tempo=120, seconds=4)
    sonify(tmp_path / "p.png", tmp_path / "b.wav", tmp_path / "b.mid", tempo=120, seconds=4)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    samples, sr = sf.read(tmp_path / "a.wav")
    assert samples.shape[1] == 2 and abs(len(samples) / sr - 4.0) < 0.1 and np.abs(samples).max() > 0.5
    rgb = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    notes = picture_notes(rgb, steps_for(4, 120))
    assert a["notes"] == len(notes)
    song = mido.MidiFile(file=io.BytesIO(midi_bytes(notes, 120)))
    heard = []
    for track in song.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == "note_on":
                heard.append((msg.note, now // (song.ticks_per_beat // STEPS_PER_BEAT), msg.velocity))
    assert sorted(heard) == sorted((n.pitch, n.start, n.velocity) for n in notes)
    assert round(mido.tempo2bpm(song.tracks[0][0].tempo)) == 120


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--scale", "lydian-bebop"], "unknown scale"),
        (["--tempo", "5"], "--tempo must be between"),
        (["-o", "x.mp3"], "WAV"),
    ],
)
def test_user_mistakes_are_one_line(argv, message, tmp_path, capsys):
    picture = tmp_path / "p.png"
    from PIL import Image

    Image.fromarray(WHITE).save(picture)
    assert main(["sonify", str(picture), "-o", str(tmp_path / "x.wav"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_broken_picture_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really")
    with pytest.raises(ArtforgeError, match="cannot use"):
        sonify(bad, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_scale_spans_three_octaves():
    pitches = scale_pitches("major")
    assert pitches[0] == ROOT and pitches[-1] == ROOT + 36 and len(pitches) == 7 * 3 + 1


def test_a_walk_gets_its_own_soundtrack(tmp_path, capsys):
    from artforge.crossmodal.music_video import probe

    out = tmp_path / "walk.mp4"
    argv = ["sonify", "default", "--walk", "-o", str(out), "--keys", "3", "--frames", "8", "--fps", "12"]
    assert main(argv + ["--size", "48", "--midi", str(tmp_path / "walk.mid")]) == 0
    info = probe(out)
    assert info["frames"] == 24 and info["audio_codec"] == "aac" and abs(info["seconds"] - 2.0) <= 1 / 12
    notes = [m for t in mido.MidiFile(tmp_path / "walk.mid").tracks for m in t if m.type == "note_on"]
    assert notes and "24 frames" in capsys.readouterr().out


def test_walk_score_reads_the_frame_on_screen():
    import torch

    from artforge.crossmodal.sonify import walk_score
    from artforge.generate import load_model, walk_latents
    from artforge.pictures import to_uint8

    model = load_model("default")
    latents = walk_latents(model, 2, 8, seed=0)
    score = walk_score(model, latents, fps=8, tempo=120, frames_per_key=8)  # 2 s: 16 steps, one frame per step
    assert score.shape[1] == 16
    frames = to_uint8(torch.cat([model.decode(latents[i : i + 1]) for i in range(16)]))
    for step in (0, 5, 11):
        x = int((step % 8) / 8 * frames.shape[2])
        assert np.array_equal(score[:, step], frames[step][:, x])
