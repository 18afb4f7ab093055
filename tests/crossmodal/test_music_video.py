"""Music video end to end: the picture jumps on the hits, the file has exactly round(duration × fps) frames and
an AAC sound stream, every generator family can drive it, and bad input is one line with nothing half-written."""

import imageio_ffmpeg
import numpy as np
import pytest
import torch

from artforge.cli import main
from artforge.crossmodal.audio import analyse, load_audio
from artforge.crossmodal.music_video import LatentTimeline, MusicVideoSettings, probe, render_music_video
from artforge.generate import load_model
from tests.conftest import tiny_export
from tests.crossmodal.conftest import SECONDS


def read_frames(path) -> np.ndarray:
    frames = imageio_ffmpeg.read_frames(str(path))
    next(frames)  # the metadata
    return np.stack([np.frombuffer(b, np.uint8).astype(np.float32) for b in frames])


def test_the_picture_changes_on_the_hits(clicks_wav, tmp_path):
    """The issue's measure: onset envelope vs frame-to-frame change of the video, correlation >= 0.5."""
    fps = 12
    out = tmp_path / "clicks.mp4"
    made = render_music_video(load_model("default"), clicks_wav, out, MusicVideoSettings(fps=fps, size=64), False)
    assert made["frames"] == round(SECONDS * fps) == 72
    info = probe(out)
    assert info["frames"] == 72 and info["audio_codec"] == "aac"
    assert abs(info["seconds"] - SECONDS) <= 1 / fps
    change = np.abs(np.diff(read_frames(out), axis=0)).mean(1)
    y, sr = load_audio(clicks_wav)
    onset = analyse(y, sr, fps).onset
    assert np.corrcoef(change, onset[1:])[0, 1] >= 0.5


def test_start_duration_and_fps_give_exact_frame_count(song_wav, tmp_path, capsys):
    out = tmp_path / "part.mp4"
    argv = ["music-video", "default", str(song_wav), "-o", str(out), "--start", "1.5", "--duration", "2.3"]
    assert main(argv + ["--fps", "10", "--size", "48", "--no-progress", "--beat-jump", "--keys", "3"]) == 0
    info = probe(out)
    assert info["frames"] == 23 and info["audio_codec"] == "aac" and "23 frames" in capsys.readouterr().out


@pytest.mark.parametrize("family", ["dcgan", "vae", "fastgan", "pggan", "stylegan", "ddpm"])
def test_every_family_follows_the_music(family, song_wav, tmp_path):
    model = load_model(tiny_export(tmp_path / family, family))
    if family == "ddpm":
        model.sample_steps = 2
    y, sr = load_audio(song_wav, duration=2.0)
    timeline = LatentTimeline(model, analyse(y, sr, 8), MusicVideoSettings(keys="4"))
    latents = timeline(range(0, 16))
    if family == "stylegan":
        assert latents.shape[1:] == (model.num_ws, model.latent_dim)  # w+: coarse layers hold, fine ones pulse
    pictures = model.decode(latents)
    assert pictures.shape[0] == 16 and torch.isfinite(pictures).all()
    assert (pictures[1:] - pictures[:-1]).abs().mean() > 0  # it moves


def test_keys_are_blended_on_the_gaussian_shell():
    model = load_model("default")
    keys = model.latents(12, torch.Generator().manual_seed(0))
    blend = model.latent_blend(keys, torch.rand(200, 12))
    d = keys.shape[1]
    assert blend.norm(dim=1).mean().item() == pytest.approx(d**0.5, rel=0.15)  # as typical as a fresh draw


def test_an_interrupted_render_leaves_nothing_behind(clicks_wav, tmp_path, monkeypatch):
    model = load_model("default")
    calls = []

    def decode_then_stop(z):
        calls.append(len(z))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return type(model).decode(model, z)

    monkeypatch.setattr(model, "decode", decode_then_stop)
    with pytest.raises(KeyboardInterrupt):
        render_music_video(model, clicks_wav, tmp_path / "v.mp4", MusicVideoSettings(fps=12, size=32), False)
    assert list(tmp_path.iterdir()) == [clicks_wav]  # no video, no temp file


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--prompt", "a red sun", "--keys", "1,2"], "--prompt chooses the key pictures itself"),
        (["-o", "x.gif"], "MP4"),
        (["--pulse", "3"], "--pulse must be between 0 and 1"),
        (["--fps", "0"], "--fps must be between"),
        (["--keys", "1"], "--keys must be at least 2"),
    ],
)
def test_user_mistakes_are_one_line(extra, message, clicks_wav, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["music-video", "default", str(clicks_wav), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("artforge: error:") and message in err[0], err


def test_unreadable_audio_exits_2(tmp_path, capsys):
    bad = tmp_path / "song.mp3"
    bad.write_bytes(b"ID3 but nothing after")
    assert main(["music-video", "default", str(bad), "-o", str(tmp_path / "v.mp4"), "--no-progress"]) == 2
    assert "cannot read song.mp3" in capsys.readouterr().err
    assert not (tmp_path / "v.mp4").exists()


def test_projected_w_plus_keys_drive_a_stylegan(tmp_path, song_wav):
    from artforge.latents import save_latent

    model = load_model(tiny_export(tmp_path / "sg", "stylegan"))
    keys = []
    for i in range(2):
        w_plus = model.per_layer(model.latents(1, torch.Generator().manual_seed(i)))
        keys.append(str(save_latent(tmp_path / f"k{i}.safetensors", w_plus, model, "w+")))
    y, sr = load_audio(song_wav, duration=1.0)
    timeline = LatentTimeline(model, analyse(y, sr, 8), MusicVideoSettings(keys=",".join(keys)))
    assert timeline(range(8)).shape == (8, model.num_ws, model.latent_dim)
