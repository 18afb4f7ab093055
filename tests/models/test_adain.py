"""The AdaIN decoder family on the shared registry and trainer."""

import json

import pytest
import torch

from artforge.backbones import create_backbone
from artforge.models import create_model
from artforge.models.adain import ENCODERS, decoder_kwargs
from artforge.style.adain import load_adain, stylize_fast
from artforge.train import TrainConfig, train
from artforge.train.checkpoint import load_latest_state


@pytest.mark.parametrize("encoder", ["effnet-lite0", "vgg19-random"])
def test_encoder_table_matches_the_backbone(encoder):
    spec = ENCODERS[encoder]
    taps = create_backbone(encoder).features(torch.zeros(1, 3, 32, 32), layers=spec.levels)
    assert taps[spec.tap].shape[1] == spec.tap_channels
    assert [taps[k].shape[1] for k in spec.skips] == list(spec.skip_channels)
    assert [taps[k].shape[-1] for k in spec.skips] == [8, 16][: len(spec.skips)]  # stride 4, then 2
    decoder = create_model("adain", encoder=encoder, width=4, skips=True)["decoder"]
    skips = [taps[k] for k in spec.skips]
    assert decoder(taps[spec.tap], skips).shape == (1, 3, 32, 32)  # stride 8 back to the picture's size
    assert decoder_kwargs(encoder, 4)["widths"] == [16, 8, 4]


def test_skips_start_at_zero_so_a_paper_decoder_can_be_extended():
    from artforge.models.adain import AdaINDecoder

    plain = AdaINDecoder(40, (16, 8, 4))
    skipped = AdaINDecoder(40, (16, 8, 4), skip_channels=(24, 16))
    missing, unexpected = skipped.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("skips.") for k in missing)
    x, s2, s1 = torch.randn(1, 40, 4, 4), torch.randn(1, 24, 8, 8), torch.randn(1, 16, 16, 16)
    assert torch.equal(skipped(x, [s2, s1]), plain(x))
    with pytest.raises(ValueError, match="skip feature maps"):
        skipped(x)


def _tiny_adain_run(tmp_path, **kw):
    base = dict(
        model="adain",
        domain_a="builtin:shapes",
        domain_b="builtin:paintings",
        n_builtin=8,
        size=32,
        crop=16,
        width=4,
        batch=2,
        steps=2,
        precision="fp32",
        device="cpu",
        tensorboard=False,
        progress=False,
    )
    return train(TrainConfig(**{**base, **kw, "out": str(tmp_path / "run")}))


def test_adain_trains_through_artforge_train_and_its_export_stylises(tmp_path):
    run = _tiny_adain_run(tmp_path, ckpt_every=1, sample_every=2, keep=1)
    state, _ = load_latest_state(run)
    assert state["step"] == 2 and set(state["nets"]) == {"decoder"}  # only the decoder is trained and saved
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["model"] == "adain-decoder" and config["training"]["train_config"]["ema_kimg"] == 0.0
    out = stylize_fast(load_adain(run), torch.zeros(1, 3, 24, 40), [torch.ones(1, 3, 16, 16)])
    assert out.shape == (1, 3, 24, 40) and torch.isfinite(out).all()
    assert (run / "samples" / "step-00000002.png").is_file()


def test_generate_on_an_adain_run_says_what_it_is(tmp_path):
    from artforge.errors import CheckpointError
    from artforge.generate import load_model

    run = _tiny_adain_run(tmp_path, n_builtin=4, steps=1)
    with pytest.raises(CheckpointError, match="fast-style .AdaIN. decoder.*--fast --adain"):
        load_model(run)


def test_paper_decoder_then_fine_tune_with_skips_from_its_weights(tmp_path, capsys):
    """Stage 1 (no skips) -> stage 2 (skips, init_weights = stage 1): stage 2 starts exactly as stage 1."""
    from artforge.train.checkpoint import load_initial_weights

    paper = _tiny_adain_run(tmp_path / "one", steps=1)
    first = load_adain(paper)
    assert first.spec.skips == () and len(first.decoder.skips) == 0
    nets = create_model("adain", encoder="effnet-lite0", width=4, skips=True)
    load_initial_weights(nets, paper)
    assert "keep their initialisation" in capsys.readouterr().err
    from artforge.style.adain import AdaINModel

    second = AdaINModel(first.encoder, nets["decoder"].eval(), "effnet-lite0", precision=first.precision)
    second.frozen = True  # as load_adain makes it: both run the same low-precision inference path
    assert second.spec.skips == ("stage2", "stage1")
    content, style = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.allclose(stylize_fast(first, content, [style]), stylize_fast(second, content, [style]), atol=1e-4)
    grown = _tiny_adain_run(tmp_path / "two", init_weights=str(paper), skips=True, steps=1)  # through the trainer
    assert load_adain(grown).spec.skips == ("stage2", "stage1")


def test_init_weights_that_do_not_fit_are_refused(tmp_path):
    from artforge.errors import CheckpointError

    vgg = _tiny_adain_run(tmp_path / "vgg", encoder="vgg19-random", steps=1)
    with pytest.raises(CheckpointError, match="does not fit the decoder"):
        _tiny_adain_run(tmp_path / "eff", init_weights=str(vgg), steps=1)
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        _tiny_adain_run(tmp_path / "none", init_weights=str(tmp_path), steps=1)
