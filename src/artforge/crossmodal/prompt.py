"""Latents that follow a text prompt, for any model artforge trains.

* A text-conditioned model (``train --text-cond``) takes the prompt's MiniLM embedding as the caption part
  of its latent: the prompt *is* the condition.
* Any other model is steered by the image–text matcher (:mod:`artforge.crossmodal.matcher`): ``candidates``
  pictures are drawn per wanted picture and the best-matching are kept (best-of-N), then — where the
  picture is a cheap differentiable function of the latent (every GAN and the VAE; not diffusion, whose
  picture is a whole sampling chain) — the latents are pulled a few Adam steps up the matcher's
  agreement.  Gaussian latents are kept on their shell (‖z‖ held at its start) and StyleGAN styles near
  their start, so the result still samples like a seed of the model and not like an adversarial picture.

Example::

    latents = prompt_latents(model, "orange circles on dark blue", n=16, seed=0)
    pictures = model.decode(latents)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from artforge.crossmodal.text import embed_texts
from artforge.errors import ArtforgeError
from artforge.methods.base import Method


@dataclass
class PromptSearch:
    candidates: int = 16  # pictures drawn per picture kept (unconditional models)
    steps: int = 20  # Adam steps of latent optimisation toward the text (0: best-of-N only)
    lr: float = 0.03  # in units of one latent entry's spread
    style_anchor: float = 0.05  # StyleGAN: weight of ‖w − w_start‖² (keeps styles where the mapping puts them)
    matcher: str | None = None  # a matcher folder; None: the shipped default
    batch: int = 64


def is_text_conditioned(model: Method) -> bool:
    return bool(getattr(model, "text_dim", 0))


def prompt_latents(
    model: Method,
    prompt: str,
    n: int,
    seed: int = 0,
    truncation: float | None = None,
    search: PromptSearch | None = None,
    log=lambda msg: print(msg, file=sys.stderr),
) -> torch.Tensor:
    """``n`` latents of ``model`` whose pictures show ``prompt`` (best match first for unconditional models)."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise ArtforgeError("--prompt is empty: say what the pictures should show")
    if n < 1:
        raise ArtforgeError("-n must be at least 1")
    generator = torch.Generator().manual_seed(seed)
    if is_text_conditioned(model):
        return model.with_text(model.latents(n, generator, truncation), embed_texts([prompt])[0])
    from artforge.crossmodal.matcher import load_matcher

    s = search or PromptSearch()
    if s.candidates < 1 or s.steps < 0:
        raise ArtforgeError("--prompt-candidates must be at least 1 and --prompt-steps 0 or more")
    matcher = load_matcher(s.matcher)
    target = matcher.embed_texts([prompt])[0]
    pool = model.latents(n * s.candidates, generator, truncation)
    pictures = (model.decode(chunk) for chunk in pool.split(s.batch))
    scores = torch.cat([matcher.embed_images(p, cache=False) @ target.to(p.device) for p in pictures])
    best = scores.argsort(descending=True)[:n]
    log(
        f"prompt {prompt!r}: kept the best {n} of {len(pool)} samples by the matcher "
        f"(agreement {scores[best].mean():.3f} vs {scores.mean():.3f} for all)"
    )
    latents = pool[best]
    if s.steps and getattr(model, "differentiable_render", True):
        latents = refine_toward_text(model, matcher, latents, target, s, log)
    return latents


def refine_toward_text(model: Method, matcher, latents: torch.Tensor, target: torch.Tensor, s: PromptSearch, log):
    """Adam on the latents to raise the matcher's agreement of their pictures with ``target``."""
    start = latents.detach().clone()
    gaussian = not hasattr(model, "num_ws")  # StyleGAN styles live where the mapping puts them; z's on a shell
    radius = start.flatten(1).norm(dim=1).view(-1, *[1] * (start.dim() - 1))
    z = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=s.lr * (1.0 if gaussian else float(start.std())))
    target = target.to(z.device)
    for _ in range(s.steps):
        agreement = matcher.embed_images_differentiable(model.render(z)) @ target
        loss = -agreement.sum()
        if not gaussian:
            loss = loss + s.style_anchor * (z - start).pow(2).flatten(1).sum(1).sum() / start[0].numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if gaussian:
            with torch.no_grad():  # back onto the shell: the picture stays one the model draws for a seed
                z.mul_(radius / z.flatten(1).norm(dim=1).view_as(radius))
    with torch.no_grad():
        final = matcher.embed_images_differentiable(model.render(z)) @ target
    log(f"  {s.steps} steps toward the text: agreement {final.mean():.3f}")
    return z.detach()
