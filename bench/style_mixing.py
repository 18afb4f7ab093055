"""Does style mixing take coarse structure from A and fine detail from B?  Measured on a trained stylegan.

For N pairs of seeds (A, B) the mix takes layers ``--layers`` (default 0-3: the 4×4 and 8×8 ones)
from A and the rest from B.  Each picture is split into a low-pass part (``--block``-pixel box
average) and a high-pass part (the rest); the Pearson correlation of the mix's parts with A's and
with B's is averaged over the pairs.  StyleGAN's claim (Karras et al. 2019, fig. 3) holds when
the low-pass correlation with A is above that with B, and the high-pass one the other way.

    PYTHONPATH=src .venv/bin/python bench/style_mixing.py runs/my-stylegan --json bench/style_mixing.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.generate import load_model, parse_layers  # noqa: E402


def split(x: torch.Tensor, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(low-pass, high-pass) parts of pictures: box averages over ``block`` pixels, and the rest."""
    low = F.interpolate(F.avg_pool2d(x, block), scale_factor=block, mode="nearest")
    return low, x - low


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over pictures of the Pearson correlation of their pixels."""
    a = a.flatten(1) - a.flatten(1).mean(1, keepdim=True)
    b = b.flatten(1) - b.flatten(1).mean(1, keepdim=True)
    return float(((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)).mean())


def measure(run: str, n: int = 64, layers: str = "0-3", block: int = 8, seed: int = 0) -> dict:
    model = load_model(run)
    chosen = parse_layers(layers, model.num_ws)
    generator = torch.Generator().manual_seed(seed)
    w_a, w_b = model.latents(n, generator), model.latents(n, generator)
    a, b = model.decode(w_a), model.decode(w_b)
    mixed = model.decode(model.mix(w_a, w_b, chosen))
    (a_low, a_high), (b_low, b_high), (m_low, m_high) = split(a, block), split(b, block), split(mixed, block)
    out = {
        "run": str(run),
        "pairs": n,
        "layers_from_a": chosen,
        "num_ws": model.num_ws,
        "block": block,
        "low_pass": {"with_a": correlation(m_low, a_low), "with_b": correlation(m_low, b_low)},
        "high_pass": {"with_a": correlation(m_high, a_high), "with_b": correlation(m_high, b_high)},
    }
    out["coarse_from_a"] = out["low_pass"]["with_a"] > out["low_pass"]["with_b"]
    out["fine_from_b"] = out["high_pass"]["with_b"] > out["high_pass"]["with_a"]
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a stylegan run folder or export")
    parser.add_argument("-n", type=int, default=64, help="pairs of seeds")
    parser.add_argument("--layers", default="0-3", help="layers taken from A (default 0-3)")
    parser.add_argument("--block", type=int, default=8, help="low-pass box size in pixels (default 8)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    result = measure(args.run, args.n, args.layers, args.block)
    low, high = result["low_pass"], result["high_pass"]
    print("| layers from A | low-pass corr. with A / B | high-pass corr. with A / B |\n|---|---|---|")
    print(
        f"| {args.layers} of {result['num_ws']} | {low['with_a']:.2f} / {low['with_b']:.2f} | "
        f"{high['with_a']:.2f} / {high['with_b']:.2f} |"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
