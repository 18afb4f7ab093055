"""How well AdaIN decoders stylise: style match, content kept, artefacts — and a sheet to look at.

    PYTHONPATH=src .venv/bin/python bench/adain_quality.py DECODER [DECODER ...] --out out/adain-quality
        [--styles builtin:paintings] [--size 256] [--n-styles 5]

Every decoder stylises the same content photos (scikit-image: astronaut, chelsea, coffee, motorcycle;
full frames, centre-cropped) with the same unseen style pictures (builtin:paintings drawn with seed 99,
or a folder).  Figures, averaged over all pairs:

- ``style@effnet`` / ``style@vgg-rand``: mean/std distance between output and style at four taps of
  each encoder, relative to the style's energy (lower = closer style).  Each decoder was trained on
  one of these spaces, so read the *other* encoder's column as the fairer judge;
- ``colour``: sliced Wasserstein distance between the RGB pixel distributions of output and style
  (in [0, 1] units; lower = the style's palette);
- ``edges``: correlation of the luminance gradient magnitude of output and content (higher = the
  content's structure kept);
- ``recon dB``: PSNR of the alpha = 0 output (the decoder inverting the content's own features)
  against the content: low values mean the decoder itself adds artefacts or blur.

``OUT/sheet.png``: one row per pair — content, style, then each decoder's output.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from artforge.backbones import create_backbone  # noqa: E402
from artforge.pictures import make_grid, save_png, to_unit  # noqa: E402
from artforge.style.adain import channel_stats, load_adain, stylize_fast  # noqa: E402

CONTENT = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png")
JUDGES = {
    "effnet": ("effnet-lite0", ("stem", "stage2", "stage3", "stage4")),
    "vgg-rand": ("vgg19-random", ("relu1_1", "relu2_1", "relu3_1", "relu4_1")),
}


def to_tensor(image: Image.Image, size: int) -> torch.Tensor:
    w, h = image.size
    side = min(w, h)
    image = image.crop(((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2))
    array = np.array(image.convert("RGB").resize((size, size), Image.LANCZOS), dtype=np.uint8)
    return to_unit(torch.from_numpy(array).permute(2, 0, 1)[None])


def content_images(size: int) -> list[torch.Tensor]:
    from skimage import data

    return [to_tensor(Image.open(Path(data.data_dir) / name), size) for name in CONTENT]


def style_images(source: str, n: int, size: int) -> list[torch.Tensor]:
    from artforge.data.sources import open_source

    found = open_source(source, size, n_builtin=n, seed=99, progress=False)
    return [to_unit(img[None]) for img in found.images[:n]]


def style_distance(judge, taps, output: torch.Tensor, style: torch.Tensor) -> float:
    fo, fs = judge.features(output, layers=taps), judge.features(style, layers=taps)
    total = 0.0
    for t in taps:
        (mo, so), (ms, ss) = channel_stats(fo[t]), channel_stats(fs[t])
        total += float((F.mse_loss(mo, ms) + F.mse_loss(so, ss)) / fs[t].pow(2).mean())
    return total / len(taps)


def colour_distance(a: torch.Tensor, b: torch.Tensor, n_dirs: int = 32) -> float:
    """Sliced Wasserstein-1 between the RGB pixel sets (both resampled to 4,096 quantiles)."""
    gen = torch.Generator().manual_seed(0)
    dirs = F.normalize(torch.randn(3, n_dirs, generator=gen), dim=0)
    q = torch.linspace(0, 1, 4096)
    pa, pb = ((a[0] + 1) / 2).reshape(3, -1).T @ dirs, ((b[0] + 1) / 2).reshape(3, -1).T @ dirs
    return float((torch.quantile(pa, q, dim=0) - torch.quantile(pb, q, dim=0)).abs().mean())


def edge_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    def grad(x):
        y = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
        y = F.avg_pool2d(y, 2)  # ignore pixel-level texture, keep structure
        gx, gy = y[..., :, 1:] - y[..., :, :-1], y[..., 1:, :] - y[..., :-1, :]
        return (gx[..., :-1, :] ** 2 + gy[..., :, :-1] ** 2).sqrt().flatten()

    ga, gb = grad(a), grad(b)
    return float(torch.corrcoef(torch.stack([ga, gb]))[0, 1])


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) / 2).pow(2).mean())
    return 10 * np.log10(1 / max(mse, 1e-12))


def evaluate(path: str, contents, styles, judges) -> tuple[dict, list[torch.Tensor]]:
    model = load_adain(path)
    model.precision = "fp32"
    scores: dict[str, list[float]] = {}
    outputs = []
    for c in contents:
        scores.setdefault("recon dB", []).append(psnr(stylize_fast(model, c, [c], alpha=0.0), c))
        for s in styles:
            out = stylize_fast(model, c, [s])
            outputs.append(out)
            for name, (judge, taps) in judges.items():
                scores.setdefault(f"style@{name}", []).append(style_distance(judge, taps, out, s))
            scores.setdefault("colour", []).append(colour_distance(out, s))
            scores.setdefault("edges", []).append(edge_correlation(out, c))
    return {k: statistics.mean(v) for k, v in scores.items()}, outputs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("decoders", nargs="+", help="folders written by train_adain")
    p.add_argument("--styles", default="builtin:paintings")
    p.add_argument("--n-styles", type=int, default=5)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="out/adain-quality")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    contents, styles = content_images(args.size), style_images(args.styles, args.n_styles, args.size)
    judges = {k: (create_backbone(name), taps) for k, (name, taps) in JUDGES.items()}
    results, columns = {}, []
    for path in args.decoders:
        results[path], outs = evaluate(path, contents, styles, judges)
        columns.append(outs)
        print(path, "  ".join(f"{k} {v:.3f}" for k, v in results[path].items()), flush=True)
    pairs = [(c, s) for c in contents for s in styles]
    rows = [torch.cat([c, s] + [col[i] for col in columns]) for i, (c, s) in enumerate(pairs)]
    out = Path(args.out)
    save_png(make_grid(torch.cat(rows), ncol=2 + len(columns)), out / "sheet.png", {"decoders": args.decoders})
    (out / "scores.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
