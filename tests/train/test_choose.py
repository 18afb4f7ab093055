"""``artforge train FOLDER`` without --model: the quality race's winner, and the reason said aloud."""

import yaml

from artforge.train import TrainConfig, train
from artforge.train.choose import SMALL_SET, choose_model


def test_an_explicit_model_is_left_alone():
    cfg = TrainConfig(model="dcgan")
    assert choose_model(cfg, 100, "cpu") == (cfg, "")


def test_the_choice_depends_on_size_and_count_and_respects_the_users_augment():
    small, why = choose_model(TrainConfig(size=64), SMALL_SET - 1, "cpu")
    assert (small.model, small.augment) == ("fastgan", "ada") and "fastgan" in why and "ADA" in why
    large, why = choose_model(TrainConfig(size=64), 5000, "cpu")
    assert (large.model, large.augment) == ("fastgan", "diffaugment") and "5,000 pictures" in why
    mine, _ = choose_model(TrainConfig(size=64, augment="none"), 50, "cpu")
    assert mine.augment == "none"
    tiny, why = choose_model(TrainConfig(size=16), 100, "cpu")
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
    assert saved["model"] == "fastgan" and saved["augment"] == "ada"
    assert "chose --model fastgan --augment ada" in capsys.readouterr().err
