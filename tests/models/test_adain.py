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
    taps = create_backbone(encoder).features(torch.zeros(1, 3, 32, 32), layers=(spec.tap,))
    assert taps[spec.tap].shape[1] == spec.tap_channels
    decoder = create_model("adain", encoder=encoder, width=4)["decoder"]
    assert decoder(taps[spec.tap]).shape == (1, 3, 32, 32)  # stride 8 back to the picture's size
    assert decoder_kwargs(encoder, 4)["widths"] == [16, 8, 4]


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
