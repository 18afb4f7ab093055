"""The studio as a server: every api_name driven with gradio_client against `artforge studio` in a subprocess,
what it serves and refuses, bad uploads as messages, and kill -9 + restart finding every picture."""

import signal
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from artforge.crossmodal.music_video import probe
from artforge.errors import ArtforgeError
from artforge.studio.app import check_host, parse_auth
from artforge.studio.launcher import start_studio_process
from tests.conftest import subprocess_env, tiny_export
from tests.crossmodal.conftest import SR, clicks_and_tone

gradio_client = pytest.importorskip("gradio_client")
Client, handle_file = gradio_client.Client, gradio_client.handle_file


def start_studio(home, runs, tmp_path, log_name="studio.log"):
    env = {**subprocess_env(tmp_path), "GRADIO_TEMP_DIR": str(tmp_path / "gr")}
    return start_studio_process(home, runs, tmp_path / log_name, env)


def status(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("studio")
    runs = tmp / "runs"
    tiny_export(runs / "tiny-stylegan" / "model", "stylegan")
    rng = np.random.default_rng(0)
    for name, size in (("photo.png", (64, 48)), ("style.png", (40, 40))):
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(tmp / name)
    (tmp / "not-a-picture.png").write_text("hello")
    (tmp / "not-a-song.wav").write_text("hello")
    sf.write(tmp / "song.wav", clicks_and_tone()[: 2 * SR], SR)
    proc, url = start_studio(tmp / "home", runs, tmp)
    yield {"url": url, "tmp": tmp, "runs": runs, "home": tmp / "home", "proc": proc}
    proc.kill()
    proc.wait()


def ids_of(text: str) -> list[int]:
    return [int(t) for t in text.replace(",", " ").split()]


def test_every_action_through_the_api_then_kill_9_and_restart(served):
    tmp, url = served["tmp"], served["url"]
    c = Client(url, verbose=False)
    endpoints = set(c.view_api(print_info=False, return_format="dict")["named_endpoints"])
    expected = {"/model_info", "/create", "/edit", "/mix", "/interpolate", "/project", "/breed", "/lineage"}
    expected |= {"/restyle_fast", "/restyle_quality", "/cancel", "/gallery", "/details", "/rate", "/taste", "/export"}
    expected |= {"/music_video", "/music_cancel", "/search", "/for_you"}
    assert expected <= endpoints

    assert "fastgan" in c.predict("default", api_name="/model_info")
    shown, numbers = c.predict("default", 3, 4, 1.0, "", api_name="/create")
    ids = ids_of(numbers)
    assert len(ids) == 4 and all("critic" in item["caption"] for item in shown)
    edited, edited_id = c.predict(ids[0], "", 2.0, 0, 0, 0, 0, 0, 0, -1.0, api_name="/edit")
    strip, video = c.predict(ids[0], ids[1], 4, api_name="/interpolate")
    assert strip and (video is None or str(video).endswith(".mp4") or "video" in video)
    style_key = str(served["runs"] / "tiny-stylegan")
    _, sg_numbers = c.predict(style_key, 1, 2, 1.0, "", api_name="/create")
    a, b = ids_of(sg_numbers)
    _, mixed_id = c.predict(a, b, "0-1", api_name="/mix")
    _, info = c.predict("default", handle_file(str(tmp / "photo.png")), None, 10, api_name="/project")
    assert "perceptual distance" in info

    # three generations deep
    parents = f"{ids[0]}, {ids[1]}"
    for generation in range(3):
        _, kids = c.predict(parents, 4, 0.3, "dimension", generation, True, api_name="/breed")
        parents = ", ".join(map(str, ids_of(kids)[:2]))
    great_grandchild = ids_of(kids)[0]
    tree, ancestors, its_parents = c.predict(great_grandchild, api_name="/lineage")
    assert tree.count("child") >= 3 and f"#{ids[0]} sample" in tree and len(ids_of(its_parents)) == 2

    styled, styled_info = c.predict(
        handle_file(str(tmp / "photo.png")), "", [handle_file(str(tmp / "style.png"))], "", 0.8, False, None, None,
        api_name="/restyle_fast",
    )  # fmt: skip
    assert "restyle" in styled_info
    quality_info = c.predict(
        None, str(ids[0]), None, str(ids[1]), 1.0, False, None, None, 20, 128, api_name="/restyle_quality"
    )[1]
    assert "quality" in quality_info
    assert "cancelling" in c.predict(api_name="/cancel")

    taste = c.predict(great_grandchild, 9, api_name="/rate")
    assert "learnt **1**" in taste
    assert "learnt **1**" in c.predict(api_name="/taste")
    assert f'"id": {great_grandchild}' in c.predict(great_grandchild, api_name="/details")
    _, best = c.predict("rating", 8, api_name="/gallery")
    assert ids_of(best)[0] == great_grandchild
    zipped = c.predict(3, "rating", api_name="/export")
    assert str(zipped).endswith(".zip")
    _, prompted = c.predict("default", 5, 2, 1.0, "a white sun over hills", api_name="/create")
    _, found = c.predict("a white sun over hills", 8, api_name="/search")
    assert len(ids_of(found)) == 8 and set(ids_of(found)[:4]) & set(ids_of(prompted))  # the gallery knows its pictures

    # a bad upload is a message, and the page keeps working
    with pytest.raises(Exception, match="cannot|identify|image"):
        c.predict(
            handle_file(str(tmp / "not-a-picture.png")), "", [handle_file(str(tmp / "style.png"))], "", 0.8, False,
            None, None, api_name="/restyle_fast",
        )  # fmt: skip
    with pytest.raises(Exception, match="whole numbers"):
        c.predict("seven", 4, 0.3, "dimension", 0, True, api_name="/breed")
    with pytest.raises(Exception, match="cannot read not-a-song.wav"):
        song = handle_file(str(tmp / "not-a-song.wav"))
        c.predict("default", song, 2, 0, 64, 0.5, 0.3, 0, "", api_name="/music_video")

    # music: a video with its sound, served from the studio's videos folder
    video, info = c.predict(
        "default", handle_file(str(tmp / "song.wav")), 2, 0, 64, 0.5, 0.3, 0, "", api_name="/music_video"
    )
    video = video["video"] if isinstance(video, dict) else video  # gradio_client versions differ
    assert "done" in info and probe(video)["audio_codec"] == "aac"
    assert len(list((served["home"] / "videos").glob("music-song-*.mp4"))) == 1
    _, all_numbers = c.predict("old", 200, api_name="/gallery")
    saved = ids_of(all_numbers)
    assert {edited_id, mixed_id, great_grandchild} <= set(saved)

    # kill -9 and restart: every picture is there, with its lineage
    served["proc"].send_signal(signal.SIGKILL)
    served["proc"].wait()
    proc, url2 = start_studio(served["home"], served["runs"], tmp, "restart.log")
    served["proc"], served["url"] = proc, url2
    c2 = Client(url2, verbose=False)
    _, again = c2.predict("old", 200, api_name="/gallery")
    assert ids_of(again) == saved
    assert c2.predict(great_grandchild, api_name="/lineage")[0] == tree.replace(
        f"#{great_grandchild} child", f"#{great_grandchild} child ★ 9"
    )
    assert "learnt **1**" in c2.predict(api_name="/taste")


def test_serves_the_gallery_and_nothing_else(served):
    url, home = served["url"], served["home"]
    picture = next((home / "pictures").glob("*/*.png"), None)
    if picture is None:
        Client(url, verbose=False).predict("default", 0, 1, 1.0, api_name="/create")
        picture = next((home / "pictures").glob("*/*.png"))
    assert status(f"{url}gradio_api/file={picture}") == 200
    for path in ("/etc/passwd", home / "gallery.db", served["tmp"] / "photo.png", f"{home}/pictures/../gallery.db"):
        assert status(f"{url}gradio_api/file={path}") in (403, 404), path


def test_host_and_auth_checks():
    check_host("127.0.0.1", None)
    check_host("localhost", None)
    check_host("0.0.0.0", ("me", "secret"))
    with pytest.raises(ArtforgeError, match="--auth"):
        check_host("0.0.0.0", None)
    with pytest.raises(ArtforgeError, match="USER:PASS"):
        parse_auth("nopassword")
    assert parse_auth("me:se:cret") == ("me", "se:cret")


def test_cli_refuses_an_open_host_without_auth(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "artforge", "studio", "--host", "0.0.0.0", "--home", str(tmp_path)],
        capture_output=True, text=True, env=subprocess_env(tmp_path), timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and "--auth" in r.stderr and "Traceback" not in r.stderr
