"""Synthetic sound with known events: clicks at known times over a tone that changes pitch halfway."""

import numpy as np
import pytest

SR = 22050
CLICKS = [0.4, 1.1, 1.5, 2.3, 3.0, 3.2, 4.1, 4.9, 5.4]  # seconds
SECONDS = 6.0


def clicks_and_tone(tone: bool = True) -> np.ndarray:
    t = np.arange(int(SECONDS * SR)) / SR
    y = np.zeros_like(t)
    if tone:  # A3 (220 Hz) for 3 s, then E4 (329.63 Hz): pitch classes 9 and 4
        y += 0.1 * np.where(t < 3, np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 329.63 * t))
    rng = np.random.default_rng(0)
    for c in CLICKS:  # a short decaying noise burst: a percussive hit with no pitch
        i = int(c * SR)
        y[i : i + 300] += rng.standard_normal(300) * np.exp(-np.arange(300) / 60)
    return y.astype(np.float32)


@pytest.fixture
def clicks_wav(tmp_path):
    import soundfile as sf

    path = tmp_path / "clicks.wav"
    sf.write(path, clicks_and_tone(tone=False), SR)
    return path


@pytest.fixture
def song_wav(tmp_path):
    import soundfile as sf

    path = tmp_path / "song.wav"
    sf.write(path, clicks_and_tone(tone=True), SR)
    return path
