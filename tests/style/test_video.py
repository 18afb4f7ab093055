"""Fast style transfer of a video: streamed frames, sound kept, flicker damped, clear errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from artforge.cli import main
from artforge.errors import ArtforgeError
from artforge.style.video import VideoSettings, frame_change, is_video, stylize_video

pytestmark = pytest.mark.usefixtures("one_thread")
BENCH = Path(__file__).resolve().parents[2] / "bench" / "style_video.py"


def write_clip(path, frames: int = 12, size=(64, 48), sound: bool = True):
    """bench/style_video.py's clip: a still scene with sensor noise and a small moving square, a tone beside it."""
    spec = importlib.util.spec_from_file_location("style_video", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.write_clip(path, frames=frames, size=size, sound=sound, fps=12)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("video") / "clip.mp4")


def test_is_video():
    assert is_video("a/b.MP4") and is_video("x.webm") and not is_video("photo.png")


def test_frame_change_is_mean_absolute_difference():
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.full((2, 2, 3), 51, np.uint8)
    assert frame_change(a, b) == pytest.approx(0.2) and frame_change(a, a) == 0


def test_video_keeps_frames_size_and_sound(clip, picture_files, tmp_path):
    from artforge.crossmodal.music_video import probe

    out = tmp_path / "styled.mp4"
    summary = stylize_video(clip, [picture_files / "style.png"], out, VideoSettings(size=64), progress=False)
    info = probe(out)
    assert summary["frames"] == 12 and info["frames"] == 12
    assert summary["size"] == [48, 64] and summary["sound"] and info["audio_codec"] == "aac"
    assert not list(tmp_path.glob(".*silent*")), "the temporary silent video is removed"


def test_smoothing_reduces_flicker_on_a_still_scene(clip, picture_files, tmp_path):
    style = [picture_files / "style.png"]
    off = stylize_video(clip, style, tmp_path / "off.mp4", VideoSettings(size=64, smooth=0), progress=False)
    on = stylize_video(clip, style, tmp_path / "on.mp4", VideoSettings(size=64, smooth=0.6), progress=False)
    assert off["change_in"] == pytest.approx(on["change_in"])
    assert on["flicker"] < 0.8 * off["flicker"], (on["flicker"], off["flicker"])


def test_silent_video_and_max_frames(tmp_path, picture_files):
    from artforge.crossmodal.music_video import probe

    clip = write_clip(tmp_path / "silent.mp4", frames=6, sound=False)
    out = tmp_path / "out.mp4"
    summary = stylize_video(
        clip, [picture_files / "style.png"], out, VideoSettings(size=32, max_frames=3), progress=False
    )
    assert summary["frames"] == 3 and not summary["sound"] and probe(out)["audio_codec"] is None


def test_bad_inputs_are_one_line_errors(tmp_path, picture_files):
    style = [picture_files / "style.png"]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    with pytest.raises(ArtforgeError, match="cannot read|no frame"):
        stylize_video(broken, style, tmp_path / "o.mp4", progress=False)
    with pytest.raises(ArtforgeError, match="no such video"):
        stylize_video(tmp_path / "missing.mp4", style, tmp_path / "o.mp4", progress=False)
    with pytest.raises(ArtforgeError, match=".mp4"):
        stylize_video(broken, style, tmp_path / "o.png", progress=False)
    with pytest.raises(ArtforgeError, match="smooth"):
        VideoSettings(smooth=1.5).validate()
    assert not (tmp_path / "o.mp4").exists()


def test_cli_video(clip, picture_files, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    args = ["style", str(clip), str(picture_files / "style.png"), "--fast", "-o", str(out)]
    assert main([*args, "--image-size", "48", "--max-frames", "4", "--no-progress"]) == 0
    assert out.is_file() and "4 frames" in capsys.readouterr().out
    assert main(["style", str(clip), str(picture_files / "style.png"), "-o", str(out)]) == 2
    assert "--fast" in capsys.readouterr().err
