"""How fast a person's critic learns a taste: simulated people rating the shipped model's samples.

Three simulated people, each with a known taste computed from the pixels (deliberately *not* one of the
critic's own measures):

- ``warm``: likes warm colours — ``measures.warmth``: saturation × cos(hue − 30°), mean over pixels;
- ``sparse``: likes sparse, simple pictures — minus the share of pixels on an edge (Sobel on grey, 64 px);
- ``symmetric``: likes left-right symmetry — minus the mean |grey − mirrored grey| at 32 px, over the
  picture's own grey spread.

A person rates a picture with its taste's quantile in the pool, on 0–10, plus N(0, ``--noise``) and
rounded to whole points, as people do.  For each taste and each number of ratings (10, 25, 50, 100),
``--repeats`` random draws of rated pictures: the person's critic (the shipped critic + their ratings,
``artforge.evaluate.critic``) is scored against the true taste on held-out samples (Spearman), and on the
built-in graded degradations (blur, noise, JPEG: its technical judgement, which learning a taste must
keep).  The shipped critic without ratings is the baseline.

    PYTHONPATH=src .venv/bin/python bench/taste.py --json bench/taste.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # runnable without installing the package
    sys.path.insert(0, str(ROOT / "src"))

from artforge.evaluate.critic import LOAD_SIZE, Critic, picture_inputs, spearman  # noqa: E402
from artforge.evaluate.curate import DEFAULT_CRITIC  # noqa: E402

COUNTS = (10, 25, 50, 100)


# --------------------------------------------------------------------------- the simulated tastes


def _unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×3×H×W -> float [0, 1]."""
    return images.float() / 255


def _grey(x: torch.Tensor, side: int) -> torch.Tensor:
    g = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    return F.interpolate(g[:, None], size=(side, side), mode="area")[:, 0]


def warm(images: torch.Tensor) -> torch.Tensor:
    from artforge.evaluate.measures import warmth  # a card measure, not one of the critic's inputs

    return warmth(_unit(images))


def sparse(images: torch.Tensor) -> torch.Tensor:
    g = _grey(_unit(images), 64)[:, None]
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3) / 4
    mag = (F.conv2d(g, kx).square() + F.conv2d(g, kx.transpose(-1, -2)).square()).sqrt()
    return -(mag > 0.08).float().flatten(1).mean(1)


def symmetric(images: torch.Tensor) -> torch.Tensor:
    g = _grey(_unit(images), 32)
    diff = (g - g.flip(-1)).abs().flatten(1).mean(1)
    return -diff / g.flatten(1).std(1).clamp_min(1e-3)


TASTES = {"warm": warm, "sparse": sparse, "symmetric": symmetric}


def pool_quantile(values: torch.Tensor, pool_values: torch.Tensor) -> torch.Tensor:
    """Each value's quantile among ``pool_values`` (the share of the pool below it): 0.5 = an average picture."""
    return (pool_values[None, :] < values[:, None]).double().mean(1)


def ratings_of(truth: torch.Tensor, pool_truth: torch.Tensor, noise: float, rng: np.random.Generator) -> torch.Tensor:
    """A person's 0–10 ratings: the taste's quantile in the pool, plus noise, rounded to whole points."""
    noisy = 10 * pool_quantile(truth, pool_truth).numpy() + rng.normal(0, noise, size=len(truth))
    return torch.from_numpy(np.clip(np.round(noisy), 0, 10))


# --------------------------------------------------------------------------- pictures


def model_samples(n: int, seed: int, model_path=None) -> torch.Tensor:
    """``n`` samples of the shipped model (or ``model_path``), uint8, at the critic's load size."""
    from artforge.generate import decode_all, load_model

    model = load_model(model_path or "default")
    return _uint8(decode_all(model, model.latents(n, torch.Generator().manual_seed(seed)), LOAD_SIZE))


def _uint8(images: torch.Tensor) -> torch.Tensor:
    from artforge.pictures import to_uint8

    return torch.from_numpy(to_uint8(images)).permute(0, 3, 1, 2)


def within_picture(scores: torch.Tensor, tiers: torch.Tensor) -> float:
    """Mean over originals of the Spearman of (original, mild, heavy): does a fault lower *this* picture's score,
    whatever the taste says of the picture itself."""
    per = [spearman(s, t) for s, t in zip(scores.view(-1, 3), tiers.view(-1, 3))]
    return sum(per) / len(per)


def graded_inputs(critic: Critic, kinds=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The built-in graded degradations (originals high, mild mid, heavy low) the technical check ranks: blur,
    noise and JPEG (the issue's), or ``kinds``.  Pictures none of the critic's data was made from (seed).
    Returns (critic inputs, tier scores, the pictures)."""
    from artforge.data import open_source
    from artforge.evaluate.critic_data import graded_set

    originals = open_source("builtin:shapes", LOAD_SIZE, n_builtin=30, seed=424242, progress=False).images
    images, scores, _ = graded_set(originals, seed=7, kinds=kinds or ("blur", "jpeg", "noise"))
    return picture_inputs(images, critic.cfg), scores, images


# --------------------------------------------------------------------------- the study


def learning_curve(inputs, truth, pool, held, graded, counts, repeats, noise, seed) -> dict:
    """Median Spearman (taste on held-out pictures; graded degradations) after each number of ratings."""
    rng = np.random.default_rng(seed)
    out = {}
    for n in counts:
        taste, technical, within = [], [], []
        for _ in range(repeats):
            rated = pool[torch.from_numpy(rng.permutation(len(pool))[:n])]
            critic = Critic.load(DEFAULT_CRITIC)
            critic.update_inputs(inputs[rated], ratings_of(truth[rated], truth[pool], noise, rng))
            taste.append(spearman(critic.score_inputs(inputs[held]), truth[held]))
            graded_scores = critic.score_inputs(graded[0])
            technical.append(spearman(graded_scores, graded[1]))
            within.append(within_picture(graded_scores, graded[1]))
        out[n] = {
            "taste": statistics.median(taste),
            "taste_min": min(taste),
            "technical": statistics.median(technical),
            "technical_min": min(technical),
            "within_picture": statistics.median(within),
        }
    return out


CEILING_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def additive_ceiling(truth_fn, inputs, truth, pool, held, graded, base: Critic) -> list[dict]:
    """What *any* critic whose score adds the person's taste to the shipped critic's verdict could reach: the true
    taste as the person rates it (its quantile in the pool, 0–10) + β × the shipped score, for each β — Spearman
    with the taste on the held-out pictures and with the tiers of the graded degradations.  A learnt critic only
    approaches this line: it knows the taste from a few ratings, the ceiling knows it exactly."""
    graded_x, tiers, graded_images = graded
    taste_held = 10 * pool_quantile(truth[held], truth[pool])
    taste_graded = 10 * pool_quantile(truth_fn(graded_images), truth[pool])
    shipped_held = base.score_inputs(inputs[held]).double()
    shipped_graded = base.score_inputs(graded_x).double()
    return [
        {
            "beta": beta,
            "taste": spearman(taste_held + beta * shipped_held, truth[held]),
            "technical": spearman(taste_graded + beta * shipped_graded, tiers),
        }
        for beta in CEILING_WEIGHTS
    ]


def taste_grids(truth_fn, inputs, truth, pool, n_ratings, n, seeds, noise) -> dict:
    """``generate --taste`` after ``n_ratings`` ratings vs the plain grid of the same seed: the true taste's mean
    (in quantiles of the pool: 0.5 = an average picture) and the diversity (mean pairwise distance of the
    critic's features), per seed."""
    from artforge.generate import decode_all, load_model
    from artforge.taste import critic_view, mean_pairwise_distance, taste_latents

    rng = np.random.default_rng(3)
    rated = pool[torch.from_numpy(rng.permutation(len(pool))[:n_ratings])]
    critic = Critic.load(DEFAULT_CRITIC)
    critic.update_inputs(inputs[rated], ratings_of(truth[rated], truth[pool], noise, rng))
    model = load_model("default")
    quantile = lambda values: float(pool_quantile(values, truth[pool]).mean())  # noqa: E731
    rows = []
    for seed in seeds:
        latents, info = taste_latents(model, critic, n, seed, log=lambda _: None)
        plain = model.latents(n, torch.Generator().manual_seed(seed))
        as_uint8 = [_uint8(decode_all(model, z, LOAD_SIZE)) for z in (plain, latents)]
        _, plain_features = critic_view(model, critic, plain)
        rows.append(
            {
                "seed": seed,
                "plain_taste_quantile": quantile(truth_fn(as_uint8[0])),
                "taste_taste_quantile": quantile(truth_fn(as_uint8[1])),
                "plain_diversity": mean_pairwise_distance(plain_features),
                "taste_diversity": info["taste_diversity"],
            }
        )
    return {"ratings": n_ratings, "n": n, "per_seed": rows}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pool", type=int, default=400, help="pictures a person may rate (default 400)")
    p.add_argument("--held", type=int, default=400, help="held-out pictures the taste is checked on (default 400)")
    p.add_argument("--repeats", type=int, default=10, help="random draws of rated pictures per count (default 10)")
    p.add_argument("--noise", type=float, default=0.7, help="std of a rating's noise, in points (default 0.7)")
    p.add_argument("--counts", default=",".join(map(str, COUNTS)))
    p.add_argument("--tastes", default=",".join(TASTES))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--grid", type=int, default=32, help="pictures per --taste grid (default 32; 0: skip the grids)")
    p.add_argument("--grid-ratings", type=int, default=25, help="ratings before the --taste grids (default 25)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    images = model_samples(args.pool + args.held, seed=11)
    base = Critic.load(DEFAULT_CRITIC)
    inputs = picture_inputs(images, base.cfg)
    graded = graded_inputs(base)
    pool, held = torch.arange(args.pool), torch.arange(args.pool, args.pool + args.held)
    counts = [int(c) for c in args.counts.split(",")]
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads",
        "date": time.strftime("%Y-%m-%d"),
        "pictures": "samples of the shipped model (default), at the critic's load size",
        "pool": args.pool,
        "held_out": args.held,
        "repeats": args.repeats,
        "noise": args.noise,
        "tastes": {},
    }
    for name in args.tastes.split(","):
        truth = TASTES[name](images)
        shipped = spearman(base.score_inputs(inputs[held]), truth[held])
        curve = learning_curve(inputs, truth, pool, held, graded, counts, args.repeats, args.noise, seed=1)
        ceiling = additive_ceiling(TASTES[name], inputs, truth, pool, held, graded, base)
        result["tastes"][name] = {"shipped": shipped, "curve": curve, "additive_ceiling": ceiling}
        reachable = [c["technical"] for c in ceiling if c["taste"] >= 0.8]
        print(
            f"{name:10s} additive ceiling (true taste + beta x shipped): best graded Spearman with taste >= 0.8: "
            f"{max(reachable):.2f}; "
            + " ".join(f"{c['beta']:g}:{c['taste']:.2f}/{c['technical']:.2f}" for c in ceiling),
            flush=True,
        )
        if args.grid:
            grids = taste_grids(TASTES[name], inputs, truth, pool, args.grid_ratings, args.grid, (0, 1, 2), args.noise)
            result["tastes"][name]["grids"] = grids
            mean = lambda key: statistics.mean(r[key] for r in grids["per_seed"])  # noqa: E731
            print(
                f"{name:10s} --taste grids after {args.grid_ratings} ratings: true taste (pool quantile) "
                f"{mean('taste_taste_quantile'):.2f} vs plain {mean('plain_taste_quantile'):.2f}; diversity "
                f"{mean('taste_diversity'):.2f} vs {mean('plain_diversity'):.2f}",
                flush=True,
            )
        row = "  ".join(
            f"{n}: {c['taste']:.2f} (tech {c['technical']:.2f}/{c['within_picture']:.2f})" for n, c in curve.items()
        )
        print(f"{name:10s} shipped {shipped:+.2f}  {row}", flush=True)
    result["shipped_technical"] = spearman(base.score_inputs(graded[0]), graded[1])
    result["shipped_within_picture"] = within_picture(base.score_inputs(graded[0]), graded[1])
    result["seconds"] = time.perf_counter() - start
    print(
        f"shipped critic on the graded degradations: {result['shipped_technical']:.2f} "
        f"(within a picture {result['shipped_within_picture']:.2f})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
