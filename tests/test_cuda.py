"""The CUDA path, end to end. Skipped where no GPU is visible (CI); bench/gpu.sh runs it on the lent GPU."""

import pytest
import torch

from artforge.cli import main

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_gan_trains_on_cuda_in_bf16_resumes_and_samples(tmp_path):
    run = tmp_path / "run"
    common = [
        "--device",
        "cuda",
        "--size",
        "32",
        "--width",
        "16",
        "--batch",
        "16",
        "--n-builtin",
        "64",
        "--log-every",
        "1",
        "--ckpt-every",
        "3",
        "--no-progress",
        "--no-tensorboard",
    ]
    assert main(["train", "builtin:shapes", "--model", "dcgan", "--steps", "3", "--out", str(run), *common]) == 0
    assert main(["train", "--resume", str(run), "--steps", "6"]) == 0
    assert (run / "checkpoints").is_dir()
    assert main(["generate", str(run), "-n", "4", "--device", "cuda", "-o", str(tmp_path / "gen")]) == 0
    assert len(list((tmp_path / "gen").glob("seed0-*.png"))) == 4


def test_cyclegan_trains_and_translates_on_cuda(tmp_path):
    run = tmp_path / "cg"
    assert (
        main(
            [
                "train",
                "--model",
                "cyclegan",
                "--domain-a",
                "builtin:shapes",
                "--domain-b",
                "builtin:glyphs",
                "--size",
                "16",
                "--width",
                "8",
                "--res-blocks",
                "1",
                "--batch",
                "4",
                "--n-builtin",
                "16",
                "--steps",
                "3",
                "--device",
                "cuda",
                "--no-progress",
                "--no-tensorboard",
                "--out",
                str(run),
            ]
        )
        == 0
    )


def test_backbone_features_agree_between_cpu_and_cuda(monkeypatch):
    from artforge.backbones import create_backbone

    # cuDNN convolutions use TF32 by default (10-bit mantissa): compare in true fp32
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for name in ("effnet-lite0", "vgg19-random"):
        cpu = create_backbone(name).features(x)
        gpu = create_backbone(name, device="cuda").features(x.cuda())
        for layer, value in cpu.items():
            torch.testing.assert_close(gpu[layer].cpu(), value, rtol=1e-3, atol=1e-4)


def test_gatys_and_adain_run_on_cuda():
    from artforge.style.adain import load_adain, stylize_fast
    from artforge.style.gatys import GatysConfig, stylize

    g = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    style = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    result = stylize(
        content.cuda(), [style.cuda()], GatysConfig(image_size=64, iterations=10, device="cuda", progress=False)
    )
    assert torch.isfinite(result.image).all()
    assert not torch.allclose(result.image.cpu(), content, atol=1e-3)
    gpu = stylize_fast(load_adain(device="cuda"), content.cuda(), [style.cuda()])
    cpu = stylize_fast(load_adain(device="cpu"), content, [style])
    assert (gpu.float().cpu() - cpu).abs().mean() < 0.05


def test_extract_features_runs_on_the_samples_gpu_and_returns_cpu_features(monkeypatch, tmp_path):
    from artforge.evaluate.compare import measure_against_real
    from artforge.evaluate.features import extract_features

    monkeypatch.setenv("ARTFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    samples = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    on_gpu = samples.cuda()
    cached = extract_features(on_gpu, cache=True, batch_size=4)  # hashed batch by batch, through the CPU
    uncached = extract_features(on_gpu, cache=False, batch_size=4)
    assert cached.device.type == "cpu" and uncached.device.type == "cpu"
    torch.testing.assert_close(cached, uncached, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(extract_features(samples, cache=False), uncached, rtol=1e-3, atol=1e-4)
    assert len(list((tmp_path / "cache" / "features").glob("*.npy"))) == 1
    real = ((samples.flip(0) + 1) * 127.5).round().to(torch.uint8)  # CPU uint8, as the trainer's pictures
    result = measure_against_real(on_gpu, real, metrics=("fid", "kid", "memorization"), kid_subset=3)
    assert result["fid"] >= 0 and result["features"]["dim"] == 1280
