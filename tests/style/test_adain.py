"""AdaIN fast style transfer: the operation, the inference controls, training, loading."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from artforge.errors import ArtforgeError
from artforge.methods.adain import adain_loss
from artforge.pictures import to_uint8, to_unit
from artforge.style.adain import (
    Rendering,
    adain,
    build_model,
    channel_stats,
    load_adain,
    stylize_fast,
    train_adain,
)
from artforge.train.checkpoint import list_states, load_latest_state

skimage_data = pytest.importorskip("skimage.data")
# One torch thread (the conftest fixture): two OpenMP threads spinning on a busy 2-core machine made
# this file ~10x slower; the budget is one core.
pytestmark = pytest.mark.usefixtures("one_thread")


def _photo(name: str, size: int) -> torch.Tensor:
    image = Image.fromarray(getattr(skimage_data, name)()).convert("RGB").resize((size, size), Image.LANCZOS)
    return to_unit(torch.from_numpy(np.array(image)).permute(2, 0, 1)[None])


def _stripes(size: int, a=(1.0, -0.8, -0.8), b=(-0.8, -0.6, 1.0)) -> torch.Tensor:
    """A strongly coloured style: diagonal red/blue stripes."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    band = (((xx + yy) // 6) % 2).float()
    return (band * torch.tensor(a)[:, None, None] + (1 - band) * torch.tensor(b)[:, None, None])[None]


@pytest.fixture(scope="module")
def model():
    m = load_adain()  # the shipped decoder: behaviour tests need a trained one
    m.precision = "fp32"  # exact comparisons below; bf16 is only a speed option
    return m


@pytest.fixture(scope="module")
def content():
    return _photo("chelsea", 64)


@pytest.fixture(scope="module")
def styles():
    return [_stripes(64), _photo("coffee", 64)]


def _style_distance(model, image, style) -> float:
    tap = model.spec.tap
    (mi, si) = channel_stats(model.encode(image, (tap,))[tap])
    (ms, ss) = channel_stats(model.encode(style, (tap,))[tap])
    return float(F.mse_loss(mi, ms) + F.mse_loss(si, ss))


def _reconstruction(model, image):
    """Decoder(encoder(image)) by hand, padded to the stride and cropped back."""
    h, w = image.shape[-2:]
    padded = F.pad(image, [0, (-w) % model.stride, 0, (-h) % model.stride], mode="reflect")
    with torch.no_grad():
        return model.decode(model.encode(padded, (model.spec.tap,))[model.spec.tap])[..., :h, :w].clamp(-1, 1)


def test_adain_gives_the_style_channel_mean_and_std_exactly():
    gen = torch.Generator().manual_seed(0)
    content = torch.randn(2, 16, 9, 7, generator=gen) * 3 + 1
    style = torch.randn(2, 16, 5, 11, generator=gen) * torch.rand(1, 16, 1, 1, generator=gen) * 4 - 2
    out = adain(content, *channel_stats(style))
    (mo, so), (ms, ss) = channel_stats(out), channel_stats(style)
    torch.testing.assert_close(mo, ms, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(so, ss, atol=1e-5, rtol=1e-5)
    # and it keeps the content's normalised layout
    norm = lambda x: (x - x.mean((2, 3), keepdim=True)) / x.std((2, 3), keepdim=True)  # noqa: E731
    torch.testing.assert_close(norm(out), norm(content), atol=1e-4, rtol=1e-4)


PLAIN = Rendering(scale=1, passes=1, colour=False, clean=0)  # the paper's pipeline, nothing after the decoder


def test_alpha_zero_decodes_the_content_features_whatever_the_style(model, content, styles):
    out = stylize_fast(model, content, [styles[0]], alpha=0.0, rendering=PLAIN)
    torch.testing.assert_close(out, _reconstruction(model, content), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        out, stylize_fast(model, content, [styles[1]], alpha=0.0, rendering=PLAIN), atol=1e-5, rtol=0
    )
    rendered = [stylize_fast(model, content, [s], alpha=0.0) for s in styles]  # default rendering: still no style
    torch.testing.assert_close(rendered[0], rendered[1], atol=1e-5, rtol=0)
    # the trained decoder inverts the encoder: the reconstruction looks like the content
    assert float((out - content).abs().mean()) < 0.25


def test_alpha_orders_style_strength(model, content, styles):
    outs = [stylize_fast(model, content, [styles[0]], alpha=a) for a in (0.0, 0.5, 1.0)]
    to_style = [_style_distance(model, o, styles[0]) for o in outs]
    tap = model.spec.tap
    to_content = [float(F.mse_loss(model.encode(o, (tap,))[tap], model.encode(content, (tap,))[tap])) for o in outs]
    assert to_style[0] > to_style[1] > to_style[2]
    assert to_content[2] > max(to_content[:2])


def test_style_weights_interpolate_and_one_zero_equals_the_single_style(model, content, styles):
    single = stylize_fast(model, content, [styles[0]])
    torch.testing.assert_close(stylize_fast(model, content, styles, weights=[1, 0]), single, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        stylize_fast(model, content, styles, weights=[0, 3]),
        stylize_fast(model, content, [styles[1]]),
        atol=1e-6,
        rtol=0,
    )
    mixed = stylize_fast(model, content, styles, weights=[0.5, 0.5])
    only_second = stylize_fast(model, content, [styles[1]])
    assert _style_distance(model, mixed, styles[0]) < _style_distance(model, only_second, styles[0])
    with pytest.raises(ArtforgeError, match="weight"):
        stylize_fast(model, content, styles, weights=[1.0])


def _chroma(image: torch.Tensor) -> torch.Tensor:
    rgb = (image + 1) / 2
    y = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    return torch.stack([rgb[:, 2] - y, rgb[:, 0] - y], 1)  # ~ Cb, Cr


def test_preserve_color_keeps_the_content_chroma_closer(model, content, styles):
    plain = stylize_fast(model, content, [styles[0]])
    kept = stylize_fast(model, content, [styles[0]], preserve_color=True)
    chroma_error = lambda out: float((_chroma(out) - _chroma(content)).abs().mean())  # noqa: E731
    assert chroma_error(kept) < 0.6 * chroma_error(plain)


def test_mask_restricts_the_style_to_its_region(model, styles):
    content = _photo("chelsea", 128)[..., :64, :]  # wide enough to be far from the mask's edge
    mask = torch.zeros(64, 128)
    mask[:, :48] = 1
    out = stylize_fast(model, content, [styles[0]], mask=mask)
    unstyled = stylize_fast(model, content, [styles[0]], alpha=0.0)
    full = stylize_fast(model, content, [styles[0]])
    inside, outside = (..., slice(0, 16)), (..., slice(100, 128))  # 50 px from the edge: out of the decoder's reach
    assert float((out[outside] - unstyled[outside]).abs().max()) < 1e-4
    gap = lambda a, b, where: float((a[where] - b[where]).abs().mean())  # noqa: E731
    assert gap(out, full, inside) < 0.5 * gap(unstyled, full, inside)
    two = stylize_fast(model, content, styles, mask=mask)  # style 1 inside, style 2 outside
    second = stylize_fast(model, content, [styles[1]])
    assert gap(two, second, outside) < 0.5 * gap(two, full, outside)
    with pytest.raises(ArtforgeError, match="mask"):
        stylize_fast(model, content, styles, mask=torch.ones(10, 10))


def _fine_energy(image: torch.Tensor) -> float:
    """Energy of the finest octave (picture minus its 2x down-and-up-sampled self), where speckle lives."""
    up = F.interpolate(F.avg_pool2d(image, 2), size=image.shape[-2:], mode="bilinear", align_corners=False)
    return float((image - up).square().mean() / image.var())  # relative: colour matching changes the contrast


def test_rendering_gives_the_style_palette_and_less_mesh_than_the_plain_decoder(model):
    content, style = _photo("astronaut", 128), _photo("coffee", 96)
    plain = stylize_fast(model, content, [style], rendering=PLAIN)
    rendered = stylize_fast(model, content, [style])
    palette = lambda x: (x.mean((2, 3)), x.flatten(2).std(2))  # noqa: E731
    gap = lambda x: float(sum((a - b).abs().sum() for a, b in zip(palette(x), palette(style))))  # noqa: E731
    assert gap(rendered) < 0.5 * gap(plain), (gap(rendered), gap(plain))
    assert _fine_energy(rendered) < 0.75 * _fine_energy(plain)  # 0.61 measured at 128 px
    # each step on its own does what it is for
    colour_only = stylize_fast(model, content, [style], rendering=Rendering(scale=1, passes=1, clean=0))
    assert gap(colour_only) < 0.5 * gap(plain)
    clean_only = stylize_fast(model, content, [style], rendering=Rendering(scale=1, passes=1, colour=False))
    assert _fine_energy(clean_only) < _fine_energy(plain)
    one_pass = Rendering(scale=1, passes=1, colour=False, clean=0)
    two_passes = Rendering(scale=1, passes=2, colour=False, clean=0)
    assert _style_distance(model, stylize_fast(model, content, [style], rendering=two_passes), style) < _style_distance(
        model, stylize_fast(model, content, [style], rendering=one_pass), style
    )


def test_a_blend_of_styles_takes_the_mixture_of_their_palettes(model, content, styles):
    red_blue, coffee = styles
    mixed = stylize_fast(model, content, styles, weights=[0.5, 0.5])
    want = 0.5 * red_blue.mean((2, 3)) + 0.5 * coffee.mean((2, 3))
    assert float((mixed.mean((2, 3)) - want).abs().max()) < 0.12


@pytest.mark.parametrize(
    "field, value", [("scale", 0.1), ("scale", 1.5), ("passes", 0), ("passes", 9), ("clean", -1.0), ("clean", 2.0)]
)
def test_rendering_settings_out_of_range_are_refused(model, content, styles, field, value):
    with pytest.raises(ArtforgeError, match="--fast-"):
        stylize_fast(model, content, [styles[0]], rendering=Rendering(**{field: value}))


@pytest.mark.parametrize("hw", [(37, 51), (5, 7), (64, 9)])
def test_any_content_size_comes_back_at_its_size(model, hw):
    content = torch.rand(1, 3, *hw, generator=torch.Generator().manual_seed(1)) * 2 - 1
    style = _stripes(64)[..., : hw[0] + 2, : hw[1] + 1]  # odd, and tiny for the small case
    out = stylize_fast(model, content, [style], alpha=0.7)
    assert out.shape == content.shape and torch.isfinite(out).all() and out.abs().max() <= 1


def test_bad_inputs_are_refused_with_a_message(model, content, styles):
    with pytest.raises(ArtforgeError, match="1×3×H×W"):
        stylize_fast(model, content[0], styles)
    with pytest.raises(ArtforgeError, match="alpha"):
        stylize_fast(model, content, styles, alpha=1.5)
    with pytest.raises(ArtforgeError, match="at least one"):
        stylize_fast(model, content, [])


@pytest.fixture
def tiny_folders(tmp_path):
    """Two small folders of 32 px pictures: photo crops (content) and stripes (style)."""
    rng = np.random.default_rng(0)
    photo = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((128, 128)))
    for name, n in (("content", 10), ("style", 6)):
        (tmp_path / name).mkdir()
    for i in range(10):
        y, x = rng.integers(0, 96, 2)
        Image.fromarray(photo[y : y + 32, x : x + 32]).save(tmp_path / "content" / f"{i}.png")
    for i in range(6):
        colours = rng.uniform(-1, 1, (2, 3))
        stripes = _stripes(32, tuple(colours[0]), tuple(colours[1]))
        Image.fromarray(to_uint8(stripes)[0]).save(tmp_path / "style" / f"{i}.png")
    return tmp_path / "content", tmp_path / "style"


def _fixed_batch(content_dir, style_dir):
    def load(folder):
        pictures = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))[:4]]
        return to_unit(torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2))

    return load(content_dir)[..., :16, :16], load(style_dir)[..., :16, :16]


def test_train_adain_saves_a_loadable_decoder_that_lowers_the_loss_and_resumes(tiny_folders, tmp_path):
    content_dir, style_dir = tiny_folders
    kw = dict(
        batch=4,
        size=32,
        crop=16,
        lr=1e-3,
        identity_weight=0.0,
        encoder="vgg19-random",
        width=0.25,
        device="cpu",
        precision="fp32",
        save_every=6,
        progress=False,
    )
    out = train_adain(content_dir, style_dir, tmp_path / "run", steps=12, **kw)
    trained = load_adain(out)  # the run folder (its model/ export)
    facts = json.loads((out / "model" / "config.json").read_text())["training"]
    assert facts["step"] == 12 and facts["train_config"]["domain_a"] == str(content_dir.resolve())
    assert [step for step, _ in list_states(out)] == [6, 12]  # the shared trainer's states
    assert (out / "samples" / "step-00000012.png").is_file() and (out / "stats.jsonl").is_file()
    torch.manual_seed(0)
    untrained = build_model("vgg19-random", 0.25, precision="fp32")
    trained.precision = "fp32"
    c, s = _fixed_batch(content_dir, style_dir)
    with torch.no_grad():
        before, after = (adain_loss(m, c, s)["loss"] for m in (untrained, trained))
    assert after < 0.7 * before, (before, after)
    # an interrupted run continues exactly: 6 steps, then the same call asking for 12 == 12 at once
    half = train_adain(content_dir, style_dir, tmp_path / "resumed", steps=6, **kw)
    train_adain(content_dir, style_dir, half, steps=12, **kw)
    a, b = load_latest_state(out)[0]["nets"]["decoder"], load_latest_state(half)[0]["nets"]["decoder"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ArtforgeError, match="cannot change --crop"):
        train_adain(content_dir, style_dir, half, steps=30, **{**kw, "crop": 24})


def test_ctrl_c_saves_and_a_rerun_continues(tiny_folders, tmp_path):
    content_dir, style_dir = tiny_folders
    out, src = tmp_path / "run", Path(__file__).resolve().parents[2] / "src"
    args = dict(batch=2, size=32, crop=16, width=0.25, encoder="vgg19-random", device="cpu", precision="fp32")
    code = (
        "import torch; torch.set_num_threads(1); from artforge.style.adain import train_adain; "
        f"train_adain({str(content_dir)!r}, {str(style_dir)!r}, {str(out)!r}, steps=100000, "
        f"save_every=100000, **{args!r})"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=env)
    log = []
    reader = threading.Thread(target=lambda: log.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.time() + 120
    while not re.search(r"\b[1-9]\d*/100000", "".join(log)) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)  # until the progress bar shows a finished step
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 0, "".join(log)
    reader.join(timeout=10)
    saved = load_latest_state(out)[0]["step"]
    assert 0 < saved < 100000 and "stopping" in "".join(log)
    assert json.loads((out / "model" / "config.json").read_text())["training"]["step"] == saved
    train_adain(content_dir, style_dir, out, steps=saved + 2, save_every=100000, progress=False, **args)
    assert load_latest_state(out)[0]["step"] == saved + 2


def test_load_adain_explains_missing_or_damaged_files(tmp_path, tiny_folders):
    with pytest.raises(ArtforgeError, match="no AdaIN decoder"):
        load_adain(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtforgeError, match="config.json"):
        load_adain(tmp_path / "empty")
    content_dir, style_dir = tiny_folders
    out = train_adain(
        content_dir,
        style_dir,
        tmp_path / "run",
        steps=1,
        batch=2,
        size=32,
        crop=16,
        width=0.25,
        encoder="vgg19-random",
        device="cpu",
        precision="fp32",
        progress=False,
    )
    (out / "model" / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ArtforgeError, match="damaged"):
        load_adain(out)
    (out / "model" / "config.json").write_text("{")
    with pytest.raises(ArtforgeError, match="damaged"):
        load_adain(out)
    assert list_states(out)  # the training state is untouched: the run can still continue
