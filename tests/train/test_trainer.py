"""The trainer end to end on tiny configs: every family trains, resumes exactly, survives signals."""

import copy
import json

import pytest
import torch
import yaml

from artforge.errors import ArtforgeError, TrainingDiverged
from artforge.generate import load_model
from artforge.methods.gan import GAN
from artforge.train import TrainConfig, config_for_resume, train
from artforge.train.checkpoint import list_states, load_latest_state
from artforge.train.distributed import DistInfo
from artforge.train.trainer import BatchStream


def tiny(tmp_path, **kw) -> TrainConfig:
    base = dict(
        source="builtin:shapes",
        n_builtin=24,
        model="dcgan",
        size=16,
        width=8,
        latent_dim=8,
        batch=8,
        steps=4,
        log_every=2,
        sample_every=2,
        ckpt_every=2,
        keep=2,
        tensorboard=False,
        progress=False,
        precision="fp32",
        out=str(tmp_path / "run"),
    )
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize(
    "model,extra",
    [
        ("dcgan", {}),
        ("dcgan", {"loss": "wgan-gp", "n_critic": 2}),
        ("dcgan", {"loss": "hinge", "spectral_norm": True, "r1_gamma": 1.0}),
        ("dcgan-seed", {"size": 64, "width": None, "batch": 4}),
        ("vae", {}),
        ("dcgan", {"augment": "ada", "ada_kimg": 0.01}),
        ("stylegan", {"size": 32, "width": 4, "r1_gamma": 0.1}),
        ("pggan", {"width": 4, "grow_kimg": 0.008}),
        ("ddpm", {"latent_dim": None, "sample_steps": 2}),
    ],
)
def test_every_family_trains_and_exports(tmp_path, model, extra):
    run = train(tiny(tmp_path, model=model, **extra))
    assert (run / "config.yaml").is_file() and (run / "model" / "model.safetensors").is_file()
    assert [s for s, _ in list_states(run)] == [2, 4]
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4] and all(r["images_per_s"] > 0 for r in rows)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-00000002.png", "step-00000004.png"]
    method = load_model(run)
    images = method.sample(3, generator=torch.Generator().manual_seed(0))
    assert images.shape == (3, 3, method.config["image_size"], method.config["image_size"])
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["lr"] is not None and saved["diffaugment"] != "auto"  # resolved, not "auto"


def test_resumed_run_ends_with_the_same_weights(tmp_path):
    full = train(tiny(tmp_path / "a", steps=6, ckpt_every=3))
    part = train(tiny(tmp_path / "b", steps=3, ckpt_every=3))
    train(config_for_resume(part, {"steps": 6}), resume=part)
    a, _ = load_latest_state(full)
    b, _ = load_latest_state(part)
    assert a["step"] == b["step"] == 6
    for kind in ("nets", "ema"):
        for name in a[kind]:
            for key, value in a[kind][name].items():
                torch.testing.assert_close(b[kind][name][key], value, msg=f"{kind}.{name}.{key}")
    steps = [json.loads(line)["step"] for line in (part / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]


def test_stylegan_with_ada_resumes_exactly_with_p_and_lazy_terms(tmp_path):
    kw = dict(model="stylegan", size=32, width=4, augment="ada", ada_kimg=0.05, r1_gamma=0.1, ckpt_every=3)
    full = train(tiny(tmp_path / "a", steps=6, **kw))
    part = train(tiny(tmp_path / "b", steps=3, **kw))
    train(config_for_resume(part, {"steps": 6}), resume=part)
    a, _ = load_latest_state(full)
    b, _ = load_latest_state(part)
    assert a["method"]["ada"]["p"] > 0 and a["method"]["steps"] == 6
    assert a["method"] == b["method"]  # ADA's p and accumulators, the path-length mean, the lazy-step count
    for name, weights in a["nets"].items():
        for key, value in weights.items():
            torch.testing.assert_close(b["nets"][name][key], value, msg=f"{name}.{key}")
    rows = [json.loads(line) for line in (full / "stats.jsonl").read_text().splitlines()]
    assert all("discriminator/ada_p" in r for r in rows)


def test_ddpm_resumes_exactly_and_samples_by_its_run_settings(tmp_path):
    kw = dict(model="ddpm", latent_dim=None, sample_steps=2, prediction="eps", ckpt_every=3)
    full = train(tiny(tmp_path / "a", steps=6, **kw))
    part = train(tiny(tmp_path / "b", steps=3, **kw))
    train(config_for_resume(part, {"steps": 6}), resume=part)
    a, _ = load_latest_state(full)
    b, _ = load_latest_state(part)
    for kind in ("nets", "ema"):  # dropout and the timestep/noise draws resume where they were
        for key, value in a[kind]["unet"].items():
            torch.testing.assert_close(b[kind]["unet"][key], value, msg=f"{kind}.{key}")
    method = load_model(full)
    assert (method.prediction, method.sample_steps, method.sampler_name) == ("eps", 2, "ddim")
    rows = [json.loads(line) for line in (full / "stats.jsonl").read_text().splitlines()]
    assert all("unet/mse" in r for r in rows)


def test_pggan_resumed_mid_fade_continues_the_schedule_exactly(tmp_path):
    # 8 pictures per step, 16 per phase: 4×4 in steps 1-2, 8×8 fades in over steps 3-4 (alpha 0, 0.5) and is
    # stable in 5-6, 16×16 fades in over 7-8: the run stops after step 4, mid-fade, and resumes.
    kw = dict(model="pggan", width=4, grow_kimg=0.016, ckpt_every=4)
    full = train(tiny(tmp_path / "a", steps=8, **kw))
    part = train(tiny(tmp_path / "b", steps=4, **kw))
    middle, _ = load_latest_state(part)
    assert middle["method"]["stage"] == {"resolution": 8, "alpha": 0.5}
    train(config_for_resume(part, {"steps": 8}), resume=part)
    a, _ = load_latest_state(full)
    b, _ = load_latest_state(part)
    assert a["method"] == b["method"] and a["method"]["stage"] == {"resolution": 16, "alpha": 0.5}
    for name, weights in a["nets"].items():
        for key, value in weights.items():
            torch.testing.assert_close(b["nets"][name][key], value, msg=f"{name}.{key}")


def test_new_run_refuses_to_overwrite_a_run(tmp_path):
    cfg = tiny(tmp_path, steps=2)
    train(cfg)
    with pytest.raises(ArtforgeError, match="already holds a run.*--resume"):
        train(cfg)


def test_resume_refuses_architecture_changes(tmp_path):
    run = train(tiny(tmp_path, steps=2))
    with pytest.raises(ArtforgeError, match="cannot change --size"):
        config_for_resume(run, {"size": 32})


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    original = GAN.generator_loss

    def poisoned(self, real):
        calls["n"] += 1
        out = original(self, real)
        if calls["n"] >= 3:
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(GAN, "generator_loss", poisoned)
    with pytest.raises(TrainingDiverged, match="diverged at step 3.*step 2\\) is intact"):
        train(tiny(tmp_path, steps=6))
    state, _ = load_latest_state(tmp_path / "run")
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["nets"]["generator"].values() if v.is_floating_point())


def test_batch_stream_covers_each_epoch_and_resumes_in_place():
    info = DistInfo()
    a = BatchStream(10, 4, info, seed=3)
    first = [a.next() for _ in range(5)]  # 20 indices = 2 epochs
    flat = sum(first, [])
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:]) == list(range(10))
    b = BatchStream(10, 4, info, seed=3)
    b.next(), b.next()
    c = BatchStream(10, 4, info, seed=3)
    c.load_state_dict(b.state_dict())
    assert [c.next() for _ in range(3)] == first[2:]


def test_ranks_get_disjoint_shards():
    r0 = BatchStream(12, 3, DistInfo(rank=0, world=2), seed=0)
    r1 = BatchStream(12, 3, DistInfo(rank=1, world=2), seed=0)
    seen0, seen1 = r0.next() + r0.next(), r1.next() + r1.next()
    assert not set(seen0) & set(seen1) and len(set(seen0 + seen1)) == 12


def test_config_round_trips_through_yaml(tmp_path):
    cfg = tiny(tmp_path)
    cfg.save_yaml(tmp_path / "c.yaml")
    assert TrainConfig.load_yaml(tmp_path / "c.yaml") == cfg
    (tmp_path / "bad.yaml").write_text("steps: 3\nwarp_speed: 9\n")
    with pytest.raises(ArtforgeError, match="unknown training option.*warp_speed"):
        TrainConfig.load_yaml(tmp_path / "bad.yaml")


def test_bf16_precision_trains_on_cpu(tmp_path):
    run = train(tiny(tmp_path, precision="bf16", steps=2))
    state, _ = load_latest_state(run)
    assert all(v.dtype == torch.float32 for v in state["nets"]["generator"].values() if v.is_floating_point())


def test_ema_half_life_is_counted_in_images():
    from torch import nn

    from artforge.train.trainer import EMA

    ema = EMA({"g": nn.Linear(1, 1)}, ema_kimg=10, rampup=0.05)
    # after ramp-up, 10,000 images (any batch size) halve the old weights' share
    assert abs(ema.decay(10**7, 64) ** (10_000 / 64) - 0.5) < 1e-9
    assert abs(ema.decay(10**7, 256) ** (10_000 / 256) - 0.5) < 1e-9
    assert ema.decay(640, 64) < ema.decay(64_000, 64)  # ramp-up: short memory early on
    assert EMA({"g": nn.Linear(1, 1)}, ema_kimg=0, rampup=0.05).decay(10**6, 64) == 0.0  # off: copy the live net


@pytest.mark.parametrize(
    "model,loss,expected",
    [("dcgan", "nsgan", True), ("dcgan", "wgan-gp", False), ("dcgan-seed", "nsgan", False), ("vae", "nsgan", False)],
)
def test_spectral_norm_default_depends_on_model_and_loss(model, loss, expected):
    from artforge.models import get_family
    from artforge.train.config import resolve

    cfg = resolve(TrainConfig(model=model, loss=loss), get_family(model).method, n_images=100)
    assert cfg.spectral_norm is expected
    assert resolve(TrainConfig(model=model, loss=loss, spectral_norm=False), "gan", 100).spectral_norm is False


def test_eval_every_logs_fid_and_keeps_the_best_export(tmp_path, capsys):
    run = train(tiny(tmp_path, steps=4, eval_every=2, eval_n=16))
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval/fid" in r]
    assert [r["step"] for r in evals] == [2, 4]
    # 16 samples in a 1280-d feature space: FID is rank-deficient there, so KID picks the best export
    assert all(r["eval/fid"] > 0 and r["eval/best_kid"] <= r["eval/kid"] for r in evals)
    assert (run / "best" / "model.safetensors").is_file()
    best = load_latest_state(run)[0]["best"]
    assert best["metric"] == "kid" and best["value"] == min(r["eval/kid"] for r in evals)
    assert "features: effnet-lite0 pool, 1280-d, 224 px; best export by kid" in capsys.readouterr().err


def test_eval_every_chooses_by_fid_when_samples_outnumber_the_feature_dimension(tmp_path, monkeypatch):
    import artforge.evaluate.compare as compare

    monkeypatch.setattr(compare, "selection_metric", lambda n, dim: "fid")
    run = train(tiny(tmp_path, steps=2, eval_every=2, eval_n=16))
    best = load_latest_state(run)[0]["best"]
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines() if "eval/fid" in line]
    assert best["metric"] == "fid" and best["value"] == rows[-1]["eval/fid"] == rows[-1]["eval/best_fid"]


@pytest.mark.parametrize(
    "flag,value", [("--seed", "5"), ("--n-builtin", "30"), ("--background", "black"), ("--max-pixels", "1000")]
)
def test_resume_refuses_changed_data_flags_in_one_line(tmp_path, capsys, monkeypatch, flag, value):
    from artforge.cli import main

    monkeypatch.chdir(tmp_path)
    run = train(tiny(tmp_path, steps=2))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), flag, value, "--steps", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot change {flag}" in err[0] and "when resuming" in err[0]
    assert load_latest_state(run)[0]["step"] == 2  # nothing trained
    # the same value again is not a change
    same = {"--seed": "0", "--n-builtin": "24", "--background": "white", "--max-pixels": "89478485"}[flag]
    assert main(["train", "--resume", str(run), flag, same, "--steps", "3", "--no-progress"]) == 0


def test_resume_warns_when_the_folder_of_pictures_changed(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(6):
        Image.new("RGB", (20, 20), (40 * i, 10, 200)).save(folder / f"{i}.png")
    cfg = tiny(tmp_path, source=str(folder), steps=2)
    run = train(cfg)
    Image.new("RGB", (20, 20), (0, 255, 0)).save(folder / "new.png")
    capsys.readouterr()
    train(config_for_resume(run, {"steps": 3}), resume=run)
    assert "the training pictures changed since this run started (6 → 7 pictures)" in capsys.readouterr().err


def test_sync_batchnorm_is_plain_batchnorm_without_a_process_group():
    from torch import nn

    from artforge.train.distributed import SyncBatchNorm, convert_sync_batchnorm

    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    plain[1].running_mean.fill_(0.3)
    synced = convert_sync_batchnorm(copy.deepcopy(plain))
    assert isinstance(synced[1], SyncBatchNorm)
    assert synced.state_dict().keys() == plain.state_dict().keys()  # exports load into plain batch norm
    x = torch.randn(5, 3, 8, 8)
    torch.testing.assert_close(synced(x), plain(x))
    torch.testing.assert_close(synced[1].running_var, plain[1].running_var)


def test_resume_rewrites_stats_atomically(tmp_path, monkeypatch):
    """The stats file is cut back to the resumed step through a temp file + rename, never in place."""
    import artforge.train.logging as run_logging

    run = train(tiny(tmp_path, steps=4, ckpt_every=2))
    with (run / "stats.jsonl").open("a") as f:
        f.write('{"step": 9, "x": 1}\n{"step": 10, "x"')  # rows past the state, the last one half-written
    replaced = []
    original = run_logging.atomic_write_bytes
    monkeypatch.setattr(
        run_logging, "atomic_write_bytes", lambda path, data: (replaced.append(path), original(path, data))
    )
    train(config_for_resume(run, {"steps": 6}), resume=run)
    assert replaced == [run / "stats.jsonl"]
    assert [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()] == [2, 4, 6]


def test_a_size_the_model_cannot_build_is_one_line_before_any_picture_is_decoded(tmp_path, capsys, monkeypatch):
    import artforge.train.trainer as trainer_module
    from artforge.cli import main

    def no_decoding(*args, **kwargs):
        raise AssertionError("pictures were decoded before the flags were checked")

    monkeypatch.setattr(trainer_module, "open_source", no_decoding)
    assert main(["train", "builtin:shapes", "--size", "48", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "power-of-two image size" in err[0] and "48" in err[0]


@pytest.mark.parametrize("n", [24, 25, 7])
def test_ranks_together_see_exactly_what_one_process_sees(n):
    """No padding, no dropping: W ranks' rows r::W of each global batch are one process's batch (any n)."""
    one = BatchStream(n, 8, DistInfo(), seed=5)
    ranks = [BatchStream(n, 4, DistInfo(rank=r, world=2), seed=5) for r in range(2)]
    for _ in range(7):  # several epoch wraps
        expected = one.next()
        parts = [r.next() for r in ranks]
        assert parts[0] == expected[0::2] and parts[1] == expected[1::2]


def test_a_stream_resumes_on_another_number_of_processes():
    one = BatchStream(25, 8, DistInfo(), seed=1)
    for _ in range(4):
        one.next()
    two = [BatchStream(25, 4, DistInfo(rank=r, world=2), seed=1) for r in range(2)]
    for stream in two:
        stream.load_state_dict(one.state_dict())
    for _ in range(5):
        expected = one.next()
        assert [s.next() for s in two] == [expected[0::2], expected[1::2]]
