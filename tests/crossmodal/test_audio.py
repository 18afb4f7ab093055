"""Audio features land on the right video frames: hits where the clicks are, pitch classes of the tone."""

import numpy as np
import pytest

from artforge.crossmodal.audio import analyse, frame_count, load_audio
from artforge.errors import ArtforgeError
from tests.crossmodal.conftest import CLICKS, SECONDS, SR, clicks_and_tone


def test_onsets_peak_on_the_frames_of_the_clicks():
    fps = 12
    f = analyse(clicks_and_tone(tone=True), SR, fps)
    assert f.frames == frame_count(SECONDS, fps) == 72
    peaks = set(np.flatnonzero(f.onset > 0.5))
    for c in CLICKS:  # frame f covers [f/fps, (f+1)/fps)
        assert {int(c * fps) - 1, int(c * fps), int(c * fps) + 1} & peaks, (c, sorted(peaks))
    quiet = [i for i in range(f.frames) if all(abs(i - c * fps) > 2 for c in CLICKS)]
    assert f.onset[quiet].mean() < 0.15  # the steady tone does not pulse: HPSS keeps it out of the onsets


def test_chroma_follows_the_tone_and_rows_sum_to_one():
    f = analyse(clicks_and_tone(tone=True), SR, 10)
    assert np.allclose(f.chroma.sum(1), 1)
    first, second = f.chroma[5:25].mean(0), f.chroma[35:55].mean(0)
    assert first.argmax() == 9 and second.argmax() == 4  # A, then E
    assert f.harmonic.max() == pytest.approx(1.0, abs=0.05) and f.beats.dtype == bool


def test_start_and_duration_cut_the_audio(song_wav):
    y, sr = load_audio(song_wav, start=1.0, duration=2.5)
    assert sr == SR and len(y) == pytest.approx(2.5 * SR, abs=2)


@pytest.mark.parametrize(
    "content,message",
    [(None, "no audio file"), (b"not audio at all", "cannot read"), (b"", "cannot read")],
)
def test_bad_audio_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "x.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ArtforgeError, match=message):
        load_audio(path)


def test_too_short_after_start_says_so(song_wav):
    with pytest.raises(ArtforgeError, match="less than 0.1 s"):
        load_audio(song_wav, start=5.95)


def test_chunked_analysis_matches_one_pass(monkeypatch):
    """Long pieces are analysed in overlapping chunks (flat memory); the seams must not show in the features."""
    from artforge.crossmodal import audio

    y = np.tile(clicks_and_tone(tone=True), 2)  # 12 s
    whole = analyse(y, SR, 12)
    monkeypatch.setattr(audio, "CHUNK_HOPS", 200)  # 2.3-s chunks: five seams
    chunked = analyse(y, SR, 12)
    assert np.corrcoef(whole.onset, chunked.onset)[0, 1] > 0.97
    assert np.abs(whole.chroma - chunked.chroma).mean() < 0.02
    assert np.abs(whole.harmonic - chunked.harmonic).max() < 0.05


def test_beats_of_a_steady_pulse():
    fps, bpm = 12, 120
    t = np.arange(12 * SR) / SR
    y = np.zeros_like(t, dtype=np.float32)
    rng = np.random.default_rng(3)
    for beat in np.arange(0.25, 12, 60 / bpm):
        i = int(beat * SR)
        y[i : i + 300] += (rng.standard_normal(300) * np.exp(-np.arange(300) / 60)).astype(np.float32)
    f = analyse(y, SR, fps)
    found = np.flatnonzero(f.beats)
    assert 20 <= len(found) <= 25  # 24 hits; the tracker may skip the first
    clicks = (np.arange(0.25, 12, 0.5) * fps).astype(int)
    assert np.median([np.abs(clicks - b).min() for b in found]) <= 1
