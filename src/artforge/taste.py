"""Generation that follows a person's taste: latents chosen and refined by their critic.

``taste_latents(model, critic, n, seed)`` works for every model artforge trains (GANs, the VAE,
diffusion through its deterministic DDIM latent):

1. **draw** ``oversample × n`` latents of ``seed`` and score their pictures with the critic;
2. **choose** ``n`` of them greedily, best first, skipping a candidate whose critic features lie
   closer than ``min_distance`` × (the median distance between the plain grid's pictures) to one
   already chosen — the diversity guard that keeps the grid from collapsing onto one picture;
3. **refine** each chosen latent by ``rounds`` of local search: ``proposals`` nearby latents
   (z' = √(1−σ²)·z + σ·ε keeps a Gaussian latent a typical draw of the model), keeping the best
   one when the critic scores it higher and it keeps the guard.  A search, not gradient steps:
   the critic's measures (entropy, symmetry …) are not all differentiable, and a diffusion
   picture is a whole sampling chain.

The first ``n`` latents of ``seed`` are the plain grid of the same seed, so a person can compare.

Example::

    latents, info = taste_latents(load_model("default"), load_critic(), n=64, seed=0)
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import torch

from artforge.errors import ArtforgeError
from artforge.evaluate.critic import LOAD_SIZE, Critic, picture_inputs
from artforge.generate import decode_all
from artforge.methods.base import Method


@dataclass
class TasteSearch:
    oversample: int = 4  # candidates drawn per picture kept
    rounds: int = 3  # local-search rounds per picture
    proposals: int = 4  # nearby latents tried per picture and round
    sigma: float = 0.35  # size of a step (share of the latent replaced by fresh noise)
    min_distance: float = 0.6  # diversity guard, as a share of the plain grid's median pairwise distance
    batch: int = 64

    def validate(self) -> "TasteSearch":
        if self.oversample < 1 or self.rounds < 0 or self.proposals < 1:
            raise ArtforgeError("--taste-oversample and --taste-proposals must be at least 1, --taste-rounds 0 or more")
        if not 0 < self.sigma < 1:
            raise ArtforgeError(f"--taste-sigma must be between 0 and 1, got {self.sigma}")
        if not 0 <= self.min_distance <= 2:
            raise ArtforgeError(f"--taste-diversity must be between 0 and 2, got {self.min_distance}")
        return self


def critic_view(model: Method, critic: Critic, latents: torch.Tensor, batch: int = 64):
    """(scores, features) of the latents' pictures: the critic's score and its standardised PCA scores (what the
    diversity guard measures distance in)."""
    scores, feats = [], []
    for chunk in latents.split(batch):  # the critic sees pictures at the size it reads files
        x = picture_inputs(decode_all(model, chunk, LOAD_SIZE), critic.cfg)
        scores.append(critic.score_inputs(x))
        feats.append(critic.pca_scores(x))
    return torch.cat(scores), torch.cat(feats)


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """Mean Euclidean distance between the rows of N×D features (the grid's diversity)."""
    if len(features) < 2:
        return 0.0
    d = torch.cdist(features.double(), features.double())
    n = len(features)
    return float(d.sum() / (n * (n - 1)))


def taste_latents(
    model: Method,
    critic: Critic,
    n: int,
    seed: int = 0,
    truncation: float | None = None,
    search: TasteSearch | None = None,
    log=lambda msg: print(msg, file=sys.stderr),
) -> tuple[torch.Tensor, dict]:
    """``n`` latents of ``model`` the critic ranks high, best first, kept apart by the diversity guard."""
    if n < 1:
        raise ArtforgeError("-n must be at least 1")
    s = (search or TasteSearch()).validate()
    pool = model.latents(n * s.oversample, torch.Generator().manual_seed(seed), truncation)
    scores, feats = critic_view(model, critic, pool, s.batch)
    plain_diversity = mean_pairwise_distance(feats[:n])
    pair = torch.cdist(feats[:n].double(), feats[:n].double())
    median = float(pair[~torch.eye(n, dtype=torch.bool)].median()) if n > 1 else 0.0
    guard = s.min_distance * median
    chosen = _choose(scores, feats, n, guard)
    latents, best, kept = pool[chosen].clone(), scores[chosen].clone(), feats[chosen].clone()
    rng = torch.Generator().manual_seed(seed + 1)
    for _ in range(s.rounds):
        latents, best, kept = _refine_round(model, critic, latents, best, kept, guard, s, rng)
    order = best.argsort(descending=True)
    latents, best, kept = latents[order], best[order], kept[order]
    info = {
        "plain_score": float(scores[:n].mean()),
        "taste_score": float(best.mean()),
        "plain_diversity": plain_diversity,
        "taste_diversity": mean_pairwise_distance(kept),
        "candidates": len(pool),
    }
    log(
        f"taste: critic score {info['taste_score']:.2f} (plain grid of this seed {info['plain_score']:.2f}), "
        f"diversity {info['taste_diversity']:.2f} ({info['plain_diversity']:.2f}); "
        f"{len(pool)} candidates, {s.rounds} refinement rounds"
    )
    return latents, info


def _choose(scores: torch.Tensor, feats: torch.Tensor, n: int, guard: float) -> torch.Tensor:
    """Greedy best-first choice with the diversity guard; tops up with the best of the rest if the guard is
    too strict for ``n`` pictures."""
    chosen: list[int] = []
    for i in scores.argsort(descending=True).tolist():
        if len(chosen) == n:
            break
        if not chosen or float(torch.cdist(feats[i : i + 1], feats[chosen]).min()) >= guard:
            chosen.append(i)
    if len(chosen) < n:
        rest = [i for i in scores.argsort(descending=True).tolist() if i not in chosen]
        chosen += rest[: n - len(chosen)]
    return torch.tensor(chosen)


def _refine_round(model, critic, latents, best, kept, guard, s: TasteSearch, rng):
    """One round of local search: each latent tries ``proposals`` neighbours and keeps the best improvement that
    stays ``guard`` away from the other chosen pictures."""
    n = len(latents)
    noise = torch.randn((s.proposals, *latents.shape), generator=rng).to(latents)
    mix = math.sqrt(1 - s.sigma**2)
    proposals = (mix * latents[None] + s.sigma * noise).reshape(-1, *latents.shape[1:])
    scores, feats = critic_view(model, critic, proposals, s.batch)
    scores, feats = scores.view(s.proposals, n), feats.view(s.proposals, n, -1)
    latents, best, kept = latents.clone(), best.clone(), kept.clone()
    for j in range(n):
        for k in scores[:, j].argsort(descending=True).tolist():
            if float(scores[k, j]) <= float(best[j]):
                break
            others = torch.cat([kept[:j], kept[j + 1 :]])
            if len(others) and float(torch.cdist(feats[k, j][None], others).min()) < guard:
                continue
            latents[j] = proposals.view(s.proposals, n, *latents.shape[1:])[k, j]
            best[j], kept[j] = scores[k, j], feats[k, j]
            break
    return latents, best, kept
