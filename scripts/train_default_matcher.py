"""Re-train the shipped image–text matcher (src/artforge/assets/default-matcher) on the built-in captioned sets.

Offline and reproducible: the pictures are drawn by artforge itself (builtin:shapes, builtin:paintings,
builtin:glyphs), at 32 and 64 px with different seeds (models make small pictures; the matcher must read
them), and the captions come with them.  Minutes on 2 CPU cores, most of it backbone features.

    python scripts/train_default_matcher.py [--n 1000] [--out DIR]
"""

from __future__ import annotations

import argparse
import json

import torch

from artforge.crossmodal.matcher import DEFAULT_MATCHER, MatcherConfig, train_matcher
from artforge.data.sources import open_source

SETS = ("builtin:shapes", "builtin:paintings", "builtin:glyphs")
SIZES = (32, 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="pictures per set and size")
    parser.add_argument("--steps", type=int, default=MatcherConfig.steps)
    parser.add_argument("--out", default=str(DEFAULT_MATCHER))
    parser.add_argument("--seed", type=int, default=0, help="initialisation, split and caption shortening")
    parser.add_argument(
        "--hidden", type=int, default=MatcherConfig.hidden, help="picture-side hidden layer (0: linear)"
    )
    args = parser.parse_args()
    images, captions = [], []
    for seed, size in enumerate(SIZES):
        for source in SETS:
            data = open_source(source, size, n_builtin=args.n, seed=seed, progress=False)
            # one size for all: the backbone resizes anyway; nearest keeps the small pictures' own pixels
            pictures = torch.nn.functional.interpolate(data.images.float(), size=64, mode="nearest").to(torch.uint8)
            images.append(pictures[: args.n])
            captions += list(data.captions[: args.n])
    cfg = MatcherConfig(
        steps=args.steps, seed=args.seed, hidden=args.hidden, trained_on=[f"{s} at {z} px" for s in SETS for z in SIZES]
    )
    matcher = train_matcher(torch.cat(images), captions, cfg)
    matcher.save(args.out)
    print(json.dumps(matcher.cfg.report, indent=1))


if __name__ == "__main__":
    main()
