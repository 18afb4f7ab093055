"""``make demo``: sample the shipped model and show the result on one HTML page.

Needs no network and no training: the model in ``artforge/assets/default-model``
was trained here by ``make default-model`` (``scripts/train_default_model.py``).
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from artforge import __version__
from artforge.data.sources import open_source
from artforge.fileio import atomic_write_bytes
from artforge.generate import DEFAULT_MODEL, generate, interpolate, load_model
from artforge.pictures import make_grid, save_png, to_uint8, to_unit


def run_demo(out: Path, seed: int = 0) -> Path:
    """Write ``out/index.html`` with a sample grid, a latent walk and real training pictures beside them."""
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(DEFAULT_MODEL)
    cfg = model.config
    grid = generate(model, 64, seed=seed, out=out, grid=True, singles=False)[-1]
    truncated = generate(model, 64, seed=seed, out=out / "truncated", truncation=1.0, singles=False)[-1]
    walk = interpolate(model, out, seed=seed, keys=5, frames_per_key=20, fps=20)
    real = open_source(cfg.get("source", "builtin:shapes"), cfg["image_size"], n_builtin=64, seed=1234, progress=False)
    real_grid = save_png(make_grid(to_unit(real.images)), out / "training-examples.png")
    captions = real.captions[:8]
    styled = _stylised(out / "style")
    picks = _critic_picks(model, seed, out / "critic")
    mixing = _style_mixing(model, out)
    editing = _projection_and_directions(model, real.images[:1], out / "edit")
    page = _page(grid, truncated, walk, real_grid, captions, cfg, out, time.perf_counter() - started, styled, picks)
    page = page.replace("<h2>The critic's picks</h2>", mixing + editing + "<h2>The critic's picks</h2>")
    atomic_write_bytes(out / "index.html", page.encode())
    return out / "index.html"


def _style_mixing(model, out: Path) -> str:
    """For a model with per-layer styles: the StyleGAN mixing figure (coarse layers from the left
    column, the rest from the top row); an empty string for a model with one latent."""
    if not hasattr(model, "mix"):
        return ""
    from artforge.generate import style_mixing_grid

    seeds_a, seeds_b, layers = [11, 12, 13, 14], [21, 22, 23, 24, 25], list(range(4))
    cells = style_mixing_grid(model, seeds_a, seeds_b, layers)
    path = save_png(make_grid(cells, ncol=len(seeds_b) + 1), out / "style-mixing.png")
    return (
        "<h2>Style mixing</h2>\n"
        + _figure(
            html.escape(path.name),
            384,
            "layers 0–3 (4×4 and 8×8: layout) from the left column, the rest from the top row: "
            "<code>artforge generate default --mix 11,21 --mix-layers 0-3</code>",
        )
        + "\n"
    )


def _projection_and_directions(model, real: torch.Tensor, out: Path) -> str:
    """A real picture projected into the model and moved along its first GANSpace directions, and the
    directions' strips — computed here in memory, nothing is written beside the shipped model."""
    from artforge.directions import compute_directions, edit_strip
    from artforge.project import PerceptualDistance, project

    found = compute_directions(model, k=3, samples=1000)
    picture = to_unit(real)
    projected = project(model, picture, PerceptualDistance(), steps=150)
    rows = [edit_strip(model, projected.latent, found, i) for i in range(3)]
    strip = save_png(make_grid(torch.cat(rows), ncol=rows[0].size(0)), out / "projected-edits.png")
    compare = save_png(make_grid(torch.cat([picture, projected.picture]), ncol=2), out / "projected.png")
    seeds = save_png(
        make_grid(edit_strip(model, model.latents(3, torch.Generator().manual_seed(5)), found, 0), ncol=7),
        out / "direction-0.png",
    )
    shares = ", ".join(f"{100 * float(e):.0f} %" for e in found.explained)
    return (
        "<h2>Your picture in the model: projection and directions</h2>\n"
        + _figure(
            f"{out.name}/{compare.name}",
            256,
            f"a training picture and its projection (perceptual distance {projected.perceptual:.2f}): "
            "<code>artforge project default PICTURE -o out/</code>",
        )
        + _figure(
            f"{out.name}/{strip.name}",
            448,
            f"the projection moved along directions 0, 1, 2 (rows; −3σ … +3σ; they explain {shares} of the "
            "pictures' variance): <code>artforge generate default --latent FILE --edit 0:+2</code>",
        )
        + _figure(f"{out.name}/{seeds.name}", 448, "direction 0 on three seeds: <code>--edit-strip 0</code>")
        + "\n"
    )


def _demo_photo(side: int) -> tuple[torch.Tensor, str]:
    """scikit-image's astronaut (installed with the test extras); without it, a built-in landscape."""
    try:
        from skimage import data

        photo = to_unit(torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None])
        what = "scikit-image's astronaut photo"
    except ImportError:
        photo = to_unit(open_source("builtin:shapes", side, n_builtin=5, seed=3, progress=False).images[4:5])
        what = "a built-in picture (install scikit-image for the photo)"
    return F.interpolate(photo, size=(side, side), mode="area"), what


def _stylised(out: Path, side: int = 256) -> list[tuple[Path, str]]:
    """A photo in a procedural painting's style: fast AdaIN (α 0.5 / 1, original colours) and Gatys."""
    from artforge.data.paintings import make_paintings
    from artforge.style.adain import load_adain, stylize_fast
    from artforge.style.gatys import GatysConfig, stylize

    photo, what = _demo_photo(side)
    style = to_unit(make_paintings(1, side, seed=5))
    adain = load_adain()
    shots = [
        (photo, f"content: {what}"),
        (style, "style: <code>builtin:paintings</code> (procedural, made here)"),
        (stylize_fast(adain, photo, [style]), "fast (AdaIN), α 1: <code>artforge style PHOTO STYLE --fast</code>"),
        (stylize_fast(adain, photo, [style], alpha=0.5), "fast, <code>--alpha 0.5</code>"),
        (stylize_fast(adain, photo, [style], preserve_color=True), "fast, <code>--original-colors</code>"),
        (
            stylize(photo, [style], GatysConfig(image_size=side, iterations=60, progress=False)).image,
            "Gatys optimisation from the fast result, 60 L-BFGS iterations: <code>artforge style PHOTO STYLE</code>",
        ),
    ]
    return [
        (save_png(Image.fromarray(to_uint8(image.float().cpu())[0]), out / f"{i}.png"), text)
        for i, (image, text) in enumerate(shots)
    ]


def _critic_picks(model, seed: int, out: Path, n: int = 64, show: int = 8) -> list[tuple[Path, str]]:
    """The shipped critic's best and worst of the grid's samples (the same seed, so the same pictures)."""
    from artforge.evaluate.critic import tier_of
    from artforge.evaluate.curate import DEFAULT_CRITIC, load_critic

    images = model.sample(n, generator=torch.Generator().manual_seed(seed))
    scores = load_critic(DEFAULT_CRITIC).score(images)
    order = scores.argsort(descending=True)
    shown = []
    for label, idx in (("best", order[:show]), ("worst", order.flip(0)[:show])):
        grid = save_png(make_grid(images[idx], ncol=show), out / f"{label}.png")
        facts = ", ".join(f"{float(scores[i]):.1f} ({tier_of(float(scores[i]))})" for i in idx)
        shown.append((grid, f"the critic's {label} {show} of the {n} samples: {facts}"))
    return shown


def _page(
    grid,
    truncated,
    walk,
    real_grid,
    captions,
    cfg,
    out: Path,
    seconds: float,
    styled: list[tuple[Path, str]],
    picks: list[tuple[Path, str]],
) -> str:
    rel = lambda p: html.escape(Path(p).relative_to(out).as_posix())  # noqa: E731
    video = next((p for p in walk if p.suffix == ".mp4"), None)
    gif = next(p for p in walk if p.suffix == ".gif")
    movie = (
        f'<video src="{rel(video)}" autoplay loop muted playsinline width="256"></video>'
        if video
        else f'<img src="{rel(gif)}" width="256">'
    )
    caption_list = "".join(f"<li>{html.escape(c or '')}</li>" for c in captions)
    details = html.escape(
        json.dumps({k: cfg[k] for k in ("model", "model_kwargs", "method", "source") if k in cfg}, indent=1)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>artforge demo</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}
figure{{display:inline-block;margin:0 1.5em 1.5em 0;vertical-align:top}}
img,video{{image-rendering:pixelated;border:1px solid #ccc}}
pre{{background:#f4f4f4;padding:.6em}}</style></head><body>
<h1>artforge demo</h1>
<p>A {html.escape(cfg.get("model", ""))} GAN trained on this machine's built-in procedural art
(<code>builtin:shapes</code>: grids, circles, stripes, Truchet tiles), sampled with seed 0.
Made in {seconds:.1f} s by artforge {__version__} with torch {torch.__version__}.</p>
<figure><img src="{rel(grid)}" width="512">
<figcaption>64 samples (<code>artforge generate default -n 64</code>)</figcaption></figure>
<figure>{movie}<figcaption>a looping latent walk (slerp)<br><a href="{rel(gif)}">GIF</a>
{f'· <a href="{rel(video)}">MP4</a>' if video else ""}</figcaption></figure>
<figure><img src="{rel(truncated)}" width="256">
<figcaption>truncation 1.0: fewer odd ones, less variety</figcaption></figure>
<figure><img src="{rel(real_grid)}" width="256">
<figcaption>training pictures for comparison, e.g.<ul>{caption_list}</ul></figcaption></figure>
<h2>The critic's picks</h2>
{"".join(_figure(rel(p), 512, html.escape(text)) for p, text in picks)}
<p>Scored by the shipped critic (technical condition: sharpness, noise, contrast, colour — not taste):
<code>artforge curate FOLDER --top 20 -o picks/</code>; teach it yours with <code>artforge critic rate</code>.</p>
<h2>Style transfer</h2>
{"".join(_figure(rel(p), 256, text) for p, text in styled)}
<h2>Model</h2><pre>{details}</pre>
<p>Next: <code>artforge train YOUR_FOLDER --model dcgan --steps 5000</code>,
then <code>artforge generate runs/…</code>.</p>
</body></html>
"""


def _figure(src: str, width: int, caption: str) -> str:
    return f'<figure><img src="{src}" width="{width}"><figcaption>{caption}</figcaption></figure>'
