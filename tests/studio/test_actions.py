"""The studio's actions without a browser: every picture lands in the gallery with a recipe that re-makes it
bit-for-bit, breeding keeps lineage, uploads are checked before decoding, ratings teach the critic exactly."""

import json
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from artforge.data.builtin import make_shapes
from artforge.errors import ArtforgeError
from artforge.evaluate.critic import Critic
from artforge.studio import actions
from artforge.studio.actions import Studio, read_upload
from tests.conftest import tiny_export


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    tiny_export(root / "tiny-stylegan" / "model", "stylegan")
    tiny_export(root / "tiny-ddpm" / "model", "ddpm")
    tiny_export(root / "tiny-dcgan" / "model", "dcgan")
    (root / "a-cyclegan" / "model").mkdir(parents=True)
    (root / "a-cyclegan" / "model" / "config.json").write_text(json.dumps({"model": "cyclegan", "method": "cyclegan"}))
    return root


@pytest.fixture
def studio(tmp_path, runs):
    return Studio(tmp_path / "home", runs=runs)


def photo(tmp_path, name: str, seed: int, size=(48, 40)) -> str:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path = tmp_path / name
    Image.fromarray(pixels).save(path)
    return str(path)


def same(studio: Studio, entry) -> bool:
    return np.array_equal(studio.remake(entry.id), studio.gallery.pixels(entry.id))


def test_models_lists_generators_only(studio, runs):
    keys = [m.key for m in studio.models()]
    assert keys[0] == "default"
    assert {str(runs / n) for n in ("tiny-stylegan", "tiny-ddpm", "tiny-dcgan")} <= set(keys)
    assert not any("cyclegan" in k for k in keys)


@pytest.mark.parametrize("name", ["default", "tiny-stylegan", "tiny-ddpm"])
def test_create_remakes_bit_for_bit(studio, runs, name):
    key = name if name == "default" else str(runs / name)
    entries = studio.create(key, seed=4, n=3, truncation=0.8 if name == "tiny-stylegan" else None)
    assert [e.kind for e in entries] == ["sample"] * 3
    assert entries[1].provenance["seed"] == 4 and entries[1].provenance["index"] == 1
    assert len({e.sha256 for e in entries}) == 3
    assert all(same(studio, e) for e in entries)
    # picture i of a seed is the same however many are made
    again = studio.create(key, seed=4, n=1, truncation=0.8 if name == "tiny-stylegan" else None)
    assert again[0].sha256 == entries[0].sha256


def test_edit_mix_breed_keep_lineage_and_remake(studio, runs):
    key = str(runs / "tiny-stylegan")
    a, b = studio.create(key, seed=1, n=2)
    edited = studio.edit(a.id, [2.0, 0, -1.0], layers="0-1")
    assert edited.parents == [a.id] and edited.provenance["edits"] == [[0, 2.0], [2, -1.0]]
    assert edited.sha256 != a.sha256 and same(studio, edited)
    assert (studio.home / "directions").is_dir()  # a model folder of someone else's is never written to
    mixed = studio.mix(a.id, b.id, "0-1")
    assert sorted(mixed.parents) == sorted([a.id, b.id]) and same(studio, mixed)
    kids = studio.breed([a.id, mixed.id], n=3, strength=0.2, crossover="layer", seed=5)
    assert all(sorted(k.parents) == sorted([a.id, mixed.id]) for k in kids) and all(same(studio, k) for k in kids)
    grandkids = studio.breed([kids[0].id], n=2, strength=0.4, sort_by_critic=True)
    tree = studio.gallery.lineage(grandkids[0].id)
    assert tree["parents"][0]["entry"].id == kids[0].id
    assert {p["entry"].id for p in tree["parents"][0]["parents"]} == {a.id, mixed.id}
    strip, files = studio.interpolate(a.id, kids[0].id, frames=4)
    assert strip.shape[1] > strip.shape[0] * 3 and any(f.suffix == ".gif" for f in files)


def test_mixing_models_or_non_model_pictures_is_refused(studio, runs, tmp_path):
    a = studio.create(str(runs / "tiny-stylegan"), seed=1, n=1)[0]
    d = studio.create(str(runs / "tiny-dcgan"), seed=1, n=1)[0]
    with pytest.raises(ArtforgeError, match="different models"):
        studio.breed([a.id, d.id])
    with pytest.raises(ArtforgeError, match="per-layer"):
        studio.mix(d.id, d.id)
    upload = studio.add_upload(photo(tmp_path, "p.png", 0))
    with pytest.raises(ArtforgeError, match="not made by a model"):
        studio.breed([upload.id])
    with pytest.raises(ArtforgeError, match="between 1 and"):
        studio.create("default", n=0)


def test_ddpm_breeding_remakes_with_its_sampling_steps(studio, runs):
    key = str(runs / "tiny-ddpm")
    parent = studio.create(key, seed=2, n=1)[0]
    kid = studio.breed([parent.id], n=1, strength=0.5)[0]
    assert kid.provenance["sample_steps"] == parent.provenance["sample_steps"]
    assert same(studio, kid)


def test_projection_of_an_upload(studio, runs, tmp_path):
    source, entry = studio.project(str(runs / "tiny-dcgan"), photo(tmp_path, "p.png", 1), steps=3)
    assert source.kind == "upload" and entry.kind == "projection" and entry.parents == [source.id]
    assert same(studio, entry)


def test_uploads_are_checked_before_decoding(tmp_path, monkeypatch):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not a picture")
    with pytest.raises(ArtforgeError, match="empty"):
        read_upload(tmp_path / "empty.png")
    with pytest.raises(ArtforgeError, match="not an image"):
        read_upload(tmp_path / "text.png")
    big = photo(tmp_path, "big.png", 0, size=(300, 200))
    with pytest.raises(ArtforgeError, match="decompression bomb"):
        read_upload(big, max_pixels=10_000)
    with pytest.raises(ArtforgeError, match="MB"):
        read_upload(big, max_bytes=1000)
    assert read_upload(big).shape == (200, 300, 3)


def test_restyle_fast_remakes_and_quality_can_be_cancelled(studio, tmp_path):
    content = studio.add_upload(photo(tmp_path, "c.png", 1, (64, 48)))
    style = studio.add_upload(photo(tmp_path, "s.png", 2), "style")
    other = studio.add_upload(photo(tmp_path, "t.png", 3), "style")
    fast = studio.restyle_fast(content.id, [style.id], alpha=0.7, preserve_color=True)
    assert (fast.width, fast.height) == (64, 48) and same(studio, fast)
    assert fast.provenance["alpha"] == 0.7 and set(fast.parents) == {content.id, style.id}
    mask = studio.gallery.add(np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (48, 1, 3)), "mask", {})
    masked = studio.restyle_fast(content.id, [style.id, other.id], mask=mask.id)
    assert same(studio, masked)
    with pytest.raises(ArtforgeError, match="two styles"):
        studio.restyle_fast(content.id, [style.id], mask=mask.id)
    steps = []
    done = studio.restyle_quality(
        content.id, [style.id], iterations=4, image_size=32, on_progress=lambda s, p: steps.append(s)
    )
    assert done.kind == "restyle" and steps and max(done.width, done.height) == 32
    stop = threading.Event()
    stop.set()
    before = studio.gallery.count()
    assert studio.restyle_quality(content.id, [style.id], iterations=4, image_size=32, cancelled=stop) is None
    assert studio.gallery.count() == before


def test_ratings_teach_the_critic_exactly(studio, runs, tmp_path):
    a, b, c = studio.create(str(runs / "tiny-dcgan"), seed=3, n=3)
    studio.rate(a.id, 9)
    studio.rate(b.id, 2)
    taste = studio.rate(a.id, 4)  # a change of mind replaces the first rating
    assert taste["ratings"] == 2 and taste["agreement"] is not None
    inputs = studio._inputs([a, b])
    expected = Critic.load(studio._critic_name)
    expected.update_inputs(torch.stack([inputs[a.sha256], inputs[b.sha256]]), [4, 2])
    assert torch.allclose(studio._critic.weights, expected.weights, atol=1e-9)
    # another studio on the same home (another process) learns the same ratings
    other = Studio(studio.home, runs=runs)
    assert other.scores([a, b, c]) == pytest.approx(studio.scores([a, b, c]), abs=1e-6)
    assert (studio.home / "critic" / "critic.safetensors").is_file()
    top = studio.top(2)
    assert [e.id for e in top] == [a.id, b.id]
    zipped = studio.export([e.id for e in top])
    assert zipped.is_file() and zipped.parent == studio.home / "exports"


def test_directions_are_computed_once_into_the_home(studio, runs, monkeypatch):
    key = str(runs / "tiny-dcgan")
    first = studio.directions(key)
    monkeypatch.setattr(actions, "compute_directions", lambda *a, **k: pytest.fail("computed twice"))
    assert torch.equal(studio.directions(key).vectors, first.vectors)
    assert not (runs / "tiny-dcgan" / "model" / "directions.safetensors").exists()


def test_music_video_reports_progress_can_be_cancelled_and_refuses_non_audio(studio, tmp_path):
    import soundfile as sf

    from artforge.crossmodal.music_video import probe
    from artforge.studio.actions import check_audio_upload
    from tests.crossmodal.conftest import SR, clicks_and_tone

    song = tmp_path / "song.wav"
    sf.write(song, clicks_and_tone()[: 3 * SR], SR)
    seen = []
    video = studio.music_video("default", song, seconds=2, size=32, on_frames=lambda done, total: seen.append(done))
    assert video.parent == studio.home / "videos" and probe(video)["frames"] == 48
    assert seen[-1] == 48 and seen == sorted(seen)
    stop = threading.Event()
    stop.set()
    assert studio.music_video("default", song, seconds=2, size=32, cancelled=stop) is None
    assert list((studio.home / "videos").glob("*.mp4")) == [video]  # the cancelled one left nothing
    with pytest.raises(ArtforgeError, match="not a sound file"):
        check_audio_upload(tmp_path / "notes.txt")
    with pytest.raises(ArtforgeError, match="sound files up to"):
        check_audio_upload(song, max_bytes=100_000)  # the 3-s WAV is 132 kB


def test_a_prompt_creates_remakeable_pictures_and_search_finds_them(studio, tmp_path):
    made = studio.create("default", seed=2, n=2, prompt="a white sun over hills")
    assert all(e.provenance["prompt"] == "a white sun over hills" and same(studio, e) for e in made)
    pictures, captions = make_shapes(6, 64, 5)
    for name in ("sun", "stripes"):  # pictures people uploaded, of known subjects
        index = next(i for i, c in enumerate(captions) if name in c)
        Image.fromarray(pictures[index]).save(tmp_path / f"{name}.png")
        studio.add_upload(tmp_path / f"{name}.png")
    found = studio.search("stripes", limit=3)
    assert len(found) == 3 and found[0].kind == "upload"
    assert studio.search("a sun over hills", limit=1)[0].id != found[0].id
    with pytest.raises(ArtforgeError, match="the text is empty"):
        studio.search("  ")


def test_for_you_follows_the_ratings_and_the_curve_is_cross_validated(studio, runs):
    key = str(runs / "tiny-dcgan")
    made = studio.create(key, seed=5, n=14)
    light = {e.id: float(studio.gallery.pixels(e.id).mean()) for e in made}
    order = sorted(light, key=light.get)
    for rank, picture in enumerate(order):  # this person likes bright pictures
        studio.rate(picture, round(10 * rank / (len(order) - 1)))
    assert studio.taste_curve() and studio.taste_curve()[0]["ratings"] == 5
    chosen = studio.for_you(key, seed=9, n=4)
    assert [e.kind for e in chosen] == ["for-you"] * 4 and all(same(studio, e) for e in chosen)
    plain = studio.create(key, seed=9, n=4)  # the same seed without the taste
    brightness = lambda entries: np.mean([studio.gallery.pixels(e.id).mean() for e in entries])  # noqa: E731
    assert brightness(chosen) > brightness(plain)
