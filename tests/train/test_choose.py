"""``artforge train FOLDER`` without --model: the quality race's winner, and the reason said aloud."""

import yaml

from artforge.train import TrainConfig, train
from artforge.train.choose import choose_model


def test_an_explicit_model_is_left_alone():
    cfg = TrainConfig(model="dcgan")
    assert choose_model(cfg, "cpu") == (cfg, "")


def test_the_choice_depends_on_the_size_and_says_why():
    chosen, why = choose_model(TrainConfig(size=64), "cpu")
    assert chosen.model == "fastgan" and chosen.augment == "auto" and "on this CPU" in why
    _, why = choose_model(TrainConfig(size=64), "cuda")
    assert "not measured on cuda" in why
    tiny, why = choose_model(TrainConfig(size=16), "cpu")
    assert tiny.model == "dcgan" and "--size 16" in why


def test_training_without_model_records_the_choice(tmp_path, capsys):
    run = train(
        TrainConfig(
            source="builtin:shapes",
            n_builtin=24,
            size=32,
            width=4,
            batch=8,
            steps=2,
            sample_every=2,
            ckpt_every=2,
            tensorboard=False,
            progress=False,
            out=str(tmp_path / "run"),
        )
    )
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"] == "fastgan" and saved["augment"] == "diffaugment" and saved["loss"] == "hinge"
    assert "chose --model fastgan on this CPU" in capsys.readouterr().err
