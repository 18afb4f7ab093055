"""Text shapes pictures: a --text-cond DCGAN learns to draw what its caption says; --prompt on a model trained
without text keeps and refines the samples the matcher finds closest; music videos take a prompt too."""

import numpy as np
import pytest
import torch
from PIL import Image

from artforge.cli import main
from artforge.crossmodal.matcher import load_matcher
from artforge.crossmodal.prompt import PromptSearch, prompt_latents
from artforge.generate import load_model
from artforge.models import create_model
from tests.conftest import tiny_export


@pytest.fixture(scope="module")
def red_and_blue(tmp_path_factory):
    """32 reddish and 32 bluish pictures with NAME.txt captions saying which."""
    folder = tmp_path_factory.mktemp("captioned")
    rng = np.random.default_rng(0)
    for i in range(64):
        red = i % 2 == 0
        base = np.array([200, 40, 40] if red else [40, 60, 200], float)
        picture = np.clip(base + rng.normal(0, 25, (16, 16, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(picture).save(folder / f"{i:02d}.png")
        (folder / f"{i:02d}.txt").write_text("a red picture" if red else "a blue picture")
    return folder


@pytest.fixture(scope="module")
def text_run(red_and_blue, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "tc"
    args = ["train", str(red_and_blue), "--text-cond", "--size", "16", "--steps", "150", "--batch", "32"]
    args += ["--width", "16", "--latent-dim", "16", "--out", str(run), "--no-progress", "--no-tensorboard"]
    assert main(args) == 0
    return run


def redness(folder, pattern):
    pictures = [np.asarray(Image.open(p), float) for p in sorted(folder.glob(pattern))]
    return np.mean([p[..., 0].mean() - p[..., 2].mean() for p in pictures])


def test_a_text_conditioned_dcgan_draws_what_the_prompt_says(text_run, tmp_path):
    for colour in ("red", "blue"):
        args = ["generate", str(text_run), "--prompt", f"a {colour} picture", "-n", "8", "-o", str(tmp_path / colour)]
        assert main(args) == 0
    red, blue = redness(tmp_path / "red", "prompt-*-0*.png"), redness(tmp_path / "blue", "prompt-*-0*.png")
    assert red > 20 and blue < -20 and red - blue > 50, (red, blue)  # the training pictures: +160 and -160
    # and z still matters (mode seeking): one prompt, eight different pictures
    reds = np.stack([np.asarray(Image.open(p), float) for p in sorted((tmp_path / "red").glob("prompt-*-0*.png"))])
    assert np.abs(reds - reds.mean(0)).mean() > 3, np.abs(reds - reds.mean(0)).mean()


def test_a_text_conditioned_diffusion_model_follows_the_prompt_with_guidance(red_and_blue, tmp_path):
    run = tmp_path / "ddpm"
    args = ["train", str(red_and_blue), "--model", "ddpm", "--text-cond", "--size", "16", "--width", "8"]
    args += ["--steps", "100", "--batch", "16", "--sample-steps", "8", "--sample-every", "100", "--out", str(run)]
    assert main([*args, "--no-progress", "--no-tensorboard"]) == 0
    for colour in ("red", "blue"):
        args = ["generate", str(run), "--prompt", f"a {colour} picture", "-n", "6", "-o", str(tmp_path / colour)]
        assert main(args) == 0
    red, blue = redness(tmp_path / "red", "prompt-*-0*.png"), redness(tmp_path / "blue", "prompt-*-0*.png")
    assert red > 40 and blue < -40, (red, blue)
    model = load_model(run)
    latents = model.latents(2, torch.Generator().manual_seed(0))
    assert latents.shape == (2, 3 * 16 * 16 + 384)
    # a picture inverted without a caption carries the empty one, and decodes back to itself.  At 50 steps: at the
    # model's 8 the DDIM path is too coarse to be inverted, and half the pictures come back in the other colour
    picture = model.decode(latents[:1])
    inverted = model.invert(picture, steps=50)
    assert inverted.shape == latents[:1].shape and not inverted[0, -384:].any()
    back = model.decode(inverted, steps=50)
    assert torch.corrcoef(torch.stack([back.flatten(), picture.flatten()]))[0, 1] > 0.9


def test_the_text_model_keeps_captions_in_its_export_and_its_latents(text_run):
    model = load_model(text_run)
    assert model.text_dim == 384 and len(model.config["text"]["bank_captions"]) == 256
    assert set(model.config["text"]["bank_captions"]) == {"a red picture", "a blue picture"}
    a, b = model.latents(5, torch.Generator().manual_seed(3)), model.latents(8, torch.Generator().manual_seed(3))
    assert a.shape == (5, 16 + 384) and torch.equal(a, b[:5])  # picture i of a seed, caption included


def test_the_projection_discriminator_hears_the_caption():
    nets = create_model("dcgan", image_size=16, width=8, latent_dim=8, text_dim=384, spectral_norm=True)
    x, text = torch.randn(4, 3, 16, 16), torch.randn(4, 384)
    logits = nets["discriminator"](x, text)
    assert logits.shape == (4,) and not torch.allclose(logits, nets["discriminator"](x, -text))
    assert nets["generator"](torch.randn(4, 8 + 384)).shape == (4, 3, 16, 16)


def test_text_cond_refuses_models_without_a_projection_discriminator(red_and_blue, tmp_path, capsys):
    args = ["train", str(red_and_blue), "--text-cond", "--model", "vae", "--steps", "1", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    assert "--text-cond works with --model dcgan or ddpm" in capsys.readouterr().err


def test_text_cond_without_captions_is_a_user_error(tmp_path, capsys):
    for i in range(4):
        Image.fromarray(np.full((16, 16, 3), 60 * i, np.uint8)).save(tmp_path / f"{i}.png")
    args = ["train", str(tmp_path), "--text-cond", "--size", "16", "--steps", "1", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    assert "--text-cond needs captions" in capsys.readouterr().err


def test_a_prompt_on_a_model_without_text_keeps_and_refines_the_best_samples(tmp_path):
    model = load_model(tiny_export(tmp_path / "m", "dcgan", image_size=32))
    matcher, prompt = load_matcher(), "a red sun over green hills"
    target = matcher.embed_texts([prompt])[0]
    pool = model.latents(64, torch.Generator().manual_seed(0))
    everyone = (matcher.embed_images(model.decode(pool), cache=False) @ target).mean()
    said = []
    kept = prompt_latents(model, prompt, 4, 0, search=PromptSearch(candidates=16, steps=0), log=said.append)
    picked = matcher.embed_images(model.decode(kept), cache=False) @ target
    assert picked.min() >= everyone and "best 4 of 64" in said[0]
    refined = prompt_latents(model, prompt, 4, 0, search=PromptSearch(candidates=16, steps=8), log=said.append)
    after = matcher.embed_images(model.decode(refined), cache=False) @ target
    assert after.mean() > picked.mean()
    # still latents the model samples from: each row kept on the Gaussian shell where it started
    assert torch.allclose(refined.norm(dim=1), kept.norm(dim=1), rtol=1e-4)


def test_an_empty_prompt_is_a_user_error(tmp_path, capsys):
    assert main(["generate", "default", "--prompt", " ", "-o", str(tmp_path)]) == 2
    assert "--prompt is empty" in capsys.readouterr().err


def test_a_music_video_follows_a_prompt(tmp_path, song_wav):
    export = tiny_export(tmp_path / "m", "dcgan", image_size=32)
    out = tmp_path / "v.mp4"
    args = ["music-video", str(export), str(song_wav), "-o", str(out), "--size", "32", "--fps", "6", "--keys", "3"]
    args += ["--prompt", "blue waves", "--prompt-steps", "0", "--prompt-candidates", "4", "--no-progress"]
    assert main(args) == 0
    assert out.stat().st_size > 0
