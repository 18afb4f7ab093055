"""Breeding pictures (Secretan et al. 2008, Picbreeder; Artbreeder): children of latents by mutation and crossover.

A person picks favourites; their latents are the parents.  A child is

- a **mutation** of one parent: ``sqrt(1 - s²)·z + s·ε`` for a Gaussian latent (z, the VAE's, a diffusion
  model's starting noise), which keeps the child on the shell where Gaussian latents live, so strength
  ``s`` = 0 is the parent and ``s`` = 1 a fresh random picture; in StyleGAN's W (not Gaussian) the step is
  ``s`` times the spread of w around the mean: ``w + s·(w_rand − w_avg)``;
- a **crossover** of two parents: each latent dimension taken from one parent or the other at random
  ("dimension"), or — for models with per-layer styles — each style layer taken whole from one parent
  ("layer": coarse layers carry layout, fine ones colour and texture, so a child can take one parent's
  shape and the other's palette); crossover children are then mutated by the same strength.

Everything draws from a ``torch.Generator``, so a seed makes the same children again.

Example::

    kids = breed(model, parents, n=8, strength=0.3, crossover="layer", generator=torch.Generator().manual_seed(1))
"""

from __future__ import annotations

import math

import torch

from artforge.errors import ArtforgeError
from artforge.methods import Method

CROSSOVERS = ("dimension", "layer", "none")


def has_layers(model: Method) -> bool:
    """Whether the model takes one style per layer (StyleGAN), so a crossover can swap whole layers."""
    return hasattr(model, "per_layer")


def _in_w(model: Method) -> bool:
    return has_layers(model)


def mutate(model: Method, latent: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """``latent`` (1 × …) moved at random by ``strength`` in [0, 1] (see the module docstring)."""
    if not 0.0 <= strength <= 1.0:
        raise ArtforgeError(f"mutation strength is between 0 (the parent) and 1 (a new picture), got {strength}")
    if _in_w(model):
        fresh = model.latents(1, generator).to(latent)
        spread = fresh - model.sampler.mapping.w_avg.to(latent)
        return latent + strength * (spread if latent.dim() == 2 else spread.unsqueeze(1))
    noise = torch.randn(latent.shape, generator=generator).to(latent)
    return math.sqrt(1.0 - strength**2) * latent + strength * noise


def crossover(
    model: Method, a: torch.Tensor, b: torch.Tensor, generator: torch.Generator, how: str = "dimension"
) -> torch.Tensor:
    """A child of latents ``a`` and ``b`` (1 × … each): per dimension or per style layer (see the module docstring)."""
    if how not in CROSSOVERS:
        raise ArtforgeError(f"crossover is one of {', '.join(CROSSOVERS)}, not {how!r}")
    if how == "none":
        return a.clone()
    if how == "layer":
        if not has_layers(model):
            raise ArtforgeError("crossover by layer needs a model with per-layer styles (stylegan)")
        a, b = model.per_layer(a), model.per_layer(b)
        from_a = torch.rand(a.size(1), generator=generator) < 0.5
        return torch.where(from_a.view(1, -1, 1).to(a.device), a, b)
    if a.dim() != b.dim():  # one parent in w, the other a projected w+
        a, b = model.per_layer(a), model.per_layer(b)
    from_a = torch.rand(a.shape, generator=generator) < 0.5
    return torch.where(from_a.to(a.device), a, b)


def breed(
    model: Method,
    parents: list[torch.Tensor],
    n: int,
    strength: float,
    crossover_how: str = "dimension",
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, list[tuple[int, ...]]]:
    """``n`` children of ``parents`` (each 1 × …): with one parent, mutations; with two or more, child i
    crosses parents i mod P and (i + 1) mod P — every pair in turn — then mutates.

    Returns the children (stacked; StyleGAN children of w+ parents are w+) and, per child, the indices of
    its parents."""
    if not parents:
        raise ArtforgeError("pick at least one parent to breed from")
    if n < 1:
        raise ArtforgeError("breed at least one child")
    generator = generator or torch.Generator().manual_seed(0)
    if any(p.shape != parents[0].shape for p in parents) and has_layers(model):
        parents = [model.per_layer(p) for p in parents]
    children, lineage = [], []
    for i in range(n):
        if len(parents) == 1 or crossover_how == "none":
            k = i % len(parents)
            child, pair = parents[k].clone(), (k,)
        else:
            j, k = i % len(parents), (i + 1) % len(parents)
            child, pair = crossover(model, parents[j], parents[k], generator, crossover_how), (j, k)
        children.append(mutate(model, child, strength, generator))
        lineage.append(pair)
    return torch.cat(children), lineage
