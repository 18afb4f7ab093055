"""Does text shape the pictures?  Matcher retrieval of generated pictures among all held-out captions.

For pictures of a built-in captioned set that the models never saw (another seed), each caption is given
to each model and the matcher is asked which caption the resulting picture shows (top-1 / top-5 among all
distinct held-out captions).  Rows:

* real pictures            — the matcher's own accuracy: the ceiling a perfect generator would reach
* text-conditioned model   — ``train --text-cond``: the caption is the condition
* model without text       — random samples (no prompt): the floor
* model without text + prompt — best of ``--candidates`` samples by the matcher (and ``--steps`` of latent
  refinement): the same matcher picks and judges, so this row flatters itself; ``--judge`` names a second
  matcher (other seed, linear head) that only judges, to show how much of the gain is real

    python bench/text_cond.py --cond runs/tc --uncond runs/plain --source builtin:shapes -n 200 \\
        --judge /tmp/judge --json bench/text_cond.json --grid bench/figures/text-cond.png
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from artforge.crossmodal.matcher import load_matcher, retrieval_accuracy
from artforge.crossmodal.prompt import PromptSearch, prompt_latents
from artforge.crossmodal.text import embed_texts
from artforge.data.sources import open_source
from artforge.generate import load_model
from artforge.pictures import make_grid, to_unit


def accuracy(matcher, pictures: torch.Tensor, captions: list[str]) -> dict:
    table = dict(zip(sorted(set(captions)), matcher.embed_texts(sorted(set(captions)))))
    return retrieval_accuracy(matcher.embed_images(pictures, cache=False), captions, table)


def conditioned(model, captions: list[str], seed: int) -> torch.Tensor:
    latents = model.latents(len(captions), torch.Generator().manual_seed(seed))
    latents = model.with_text(latents, embed_texts(captions))
    return torch.cat([model.decode(chunk) for chunk in latents.split(64)])


def prompted(model, captions: list[str], seed: int, search: PromptSearch) -> torch.Tensor:
    quiet = lambda msg: None  # noqa: E731
    return torch.cat(
        [model.decode(prompt_latents(model, c, 1, seed + i, search=search, log=quiet)) for i, c in enumerate(captions)]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cond", required=True, help="a run trained with --text-cond")
    ap.add_argument("--uncond", required=True, help="the same model trained without text")
    ap.add_argument("--source", default="builtin:shapes")
    ap.add_argument("-n", type=int, default=200, help="held-out pictures (and captions)")
    ap.add_argument("--seed", type=int, default=99, help="the held-out set's seed (training used 0)")
    ap.add_argument("--candidates", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--judge", help="a second matcher folder that only judges")
    ap.add_argument("--json")
    ap.add_argument("--grid")
    args = ap.parse_args()

    cond, uncond = load_model(args.cond), load_model(args.uncond)
    size = cond.config["image_size"]
    held = open_source(args.source, size, n_builtin=args.n, seed=args.seed, progress=False)
    captions = [c.strip() for c in held.captions]
    judges = {"matcher": load_matcher()}
    if args.judge:
        judges["judge"] = load_matcher(args.judge)
    pictures, times = {"real pictures": to_unit(held.images)}, {}
    for name, make in [
        ("text-conditioned", lambda: conditioned(cond, captions, 0)),
        ("without text, no prompt", lambda: uncond.sample(len(captions), torch.Generator().manual_seed(0))),
        (
            f"without text + prompt (best of {args.candidates})",
            lambda: prompted(uncond, captions, 0, PromptSearch(candidates=args.candidates, steps=0)),
        ),
        (
            f"without text + prompt (best of {args.candidates}, {args.steps} steps)",
            lambda: prompted(uncond, captions, 0, PromptSearch(candidates=args.candidates, steps=args.steps)),
        ),
    ]:
        t0 = time.perf_counter()
        pictures[name] = make()
        times[name] = round(time.perf_counter() - t0, 1)
        print(f"{name}: {times[name]} s", flush=True)
    rows = {name: {j: accuracy(m, p, captions) for j, m in judges.items()} for name, p in pictures.items()}
    for name, by in rows.items():
        print(f"{name:55s} " + "  ".join(f"{j} top1 {r['top1']:.3f} top5 {r['top5']:.3f}" for j, r in by.items()))
    first = next(iter(rows.values()))["matcher"]
    print(f"chance: top1 {first['chance']:.4f} ({first['captions']} distinct captions, {first['n']} pictures)")
    if args.json:
        result = {
            "command": "python bench/" + Path(__file__).name,
            "args": vars(args),
            "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads",
            "date": time.strftime("%Y-%m-%d"),
            "rows": rows,
            "seconds": times,
        }
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.grid:
        show = 8  # eight captions, one row each: real, 3 conditioned, 3 prompted
        cols = []
        for i in range(show):
            row = [pictures["real pictures"][i]]
            row += list(conditioned(cond, [captions[i]] * 3, 100 + i))
            row += list(prompted(uncond, [captions[i]] * 3, 100 + 3 * i, PromptSearch(args.candidates, args.steps)))
            cols.append(torch.stack(row))
            print(f"grid row {i}: {captions[i]}")
        grid = make_grid(torch.cat(cols), ncol=7)
        grid = grid.resize((grid.width * 2, grid.height * 2), resample=0)
        Path(args.grid).parent.mkdir(parents=True, exist_ok=True)
        grid.save(args.grid)


if __name__ == "__main__":
    main()
