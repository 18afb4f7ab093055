"""``artforge train FOLDER`` without --model: the quality race's winner, and the reason said aloud."""

import yaml

from artforge.train import TrainConfig, train
from artforge.train.choose import choose_batch, choose_model


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


def test_the_batch_is_32_for_dcgan_and_fastgan_on_a_cpu_unless_given():
    cfg = TrainConfig()
    assert cfg.batch is None
    chosen, why = choose_batch(cfg, "cpu", "fastgan")
    assert chosen.batch == 32 and "--batch 32 on a CPU" in why
    assert choose_batch(cfg, "cpu", "gan")[0].batch == 32
    assert choose_batch(cfg, "cuda", "fastgan") == (TrainConfig(batch=64), "")
    assert choose_batch(cfg, "cpu", "vae") == (TrainConfig(batch=64), "")  # not measured: the usual 64
    given = TrainConfig(batch=16)
    assert choose_batch(given, "cpu", "fastgan") == (given, "")


def test_a_run_without_batch_records_the_batch_it_chose(tmp_path, capsys):
    run = train(
        TrainConfig(
            source="builtin:shapes",
            model="dcgan",
            n_builtin=24,
            size=16,
            width=8,
            latent_dim=8,
            steps=1,
            sample_every=1,
            ckpt_every=1,
            tensorboard=False,
            progress=False,
            device="cpu",
            out=str(tmp_path / "r"),
        )
    )
    assert yaml.safe_load((run / "config.yaml").read_text())["batch"] == 32
    assert "chose --batch 32 on a CPU" in capsys.readouterr().err
