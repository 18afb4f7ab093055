"""Projection: the latent from which a model draws (close to) a given real picture.

* GANs with a Gaussian latent (dcgan, fastgan, pggan) and the VAE: optimise z so that the picture
  drawn from it matches the target — a multi-layer perceptual distance on the shared backbone plus a
  pixel term — as the StyleGAN2 projector does (Karras et al. 2020, §5 and appendix D).  The start is
  the best of ``candidates`` random latents (the VAE: its encoder's mean, then the same refinement);
  a penalty keeps ‖z‖ on the shell where Gaussian latents live, so the result samples like a seed.
* StyleGAN: optimise w (one style for every layer) or w+ (one per layer, the default: closer
  reconstructions, as Abdal et al. 2019 showed) from the mean w, with the projector's schedule —
  learning rate ramped up over the first 5 % and down (cosine) over the last 25 %, and noise added
  to w that fades out over the first 75 % to escape poor starts.  The synthesis noise stays the
  export's fixed noise (the projector also optimises per-pixel noise maps; a latent must work
  wherever a seed does — mixing, walks, edits — and optimised noise maps would not travel with it).
* Diffusion (ddpm): DDIM inversion (Song et al. 2021), no optimisation: the deterministic sampler
  run backwards, on the model's ``--sample-steps``, gives the starting noise that DDIM with the same
  steps turns back into the picture (the latent file records them; ``generate --latent`` uses them).
* FastGAN's injected noise follows from its latent (so a seed is one picture); while z moves, that
  noise changes with it, so the search chases a slightly moving target.  The picture reported and
  saved is the one the final latent really draws.

The perceptual distance is LPIPS-like (Zhang et al. 2018) without learned weights: activations at
several depths of the backbone, each pixel's channel vector scaled to unit length, mean squared
difference per layer, summed over layers.

Example::

    model = load_model("runs/my-run")
    results = project_pictures(model, ["cat.png"], "out/projected", steps=300)
    results[0].latent_path      # out/projected/cat-latent.safetensors: use with generate --latent
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artforge.backbones.registry import create_backbone
from artforge.data.decode import BadImage, load_image
from artforge.data.images import SkippedFile, collect_pictures, no_usable_picture, print_to_stderr
from artforge.data.sources import parse_color
from artforge.errors import ArtforgeError
from artforge.fileio import unique_stem
from artforge.generate import provenance, write_animation
from artforge.latents import save_latent
from artforge.methods import Method
from artforge.pictures import make_grid, save_png, to_uint8, to_unit

PERCEPTUAL_LAYERS = ("stage1", "stage2", "stage3", "stage5")  # 1/4 … 1/16 of the input: edges to parts
PERCEPTUAL_SIZE = 128  # pictures are compared at this size (small pictures are upsampled for the backbone)
SPACES = ("auto", "z", "w", "w+", "noise")
# Adam's peak step, in units of one latent entry's spread: the projector's 0.1 in W; in z, 0.2 without
# exploration noise reconstructed best (tried 0.01–0.3 with and without, on the shipped model).
LR = {"z": 0.2, "w": 0.1, "w+": 0.1}
# Exploration noise on the latent at the start (same units; the projector's 0.05 × the spread of a whole
# 512-d w is about one entry's spread), fading out quadratically by 75 % of the steps.  z starts from
# the best of many random candidates instead, and noise there only hurt.
JITTER = {"z": 0.0, "w": 1.0, "w+": 1.0}
NOISE_RAMP = 0.75
RAMP_UP, RAMP_DOWN = 0.05, 0.25


class PerceptualDistance:
    """LPIPS-like distance on a frozen backbone: unit-normalised channels, mean squared difference per layer."""

    def __init__(
        self,
        backbone: str = "effnet-lite0",
        layers: tuple[str, ...] = PERCEPTUAL_LAYERS,
        size: int = PERCEPTUAL_SIZE,
        device: str | torch.device = "cpu",
    ):
        self.net, self.layers, self.size = create_backbone(backbone, device), tuple(layers), size

    def features(self, images: torch.Tensor, grad: bool = False) -> dict[str, torch.Tensor]:
        x = F.interpolate(images.float(), size=(self.size, self.size), mode="bilinear", antialias=True)
        feats = self.net.features(x, self.layers, grad=grad)
        return {k: v / (v.norm(dim=1, keepdim=True) + 1e-8) for k, v in feats.items()}

    def __call__(self, images: torch.Tensor, target: dict[str, torch.Tensor], grad: bool = False) -> torch.Tensor:
        """Distance of each of ``images`` (N×3×H×W) to the target features (1 or N pictures): shape (N,)."""
        return self.between(self.features(images, grad=grad), target)

    def between(self, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> torch.Tensor:
        """Distances between features from :meth:`features` (N and N, or N and 1 pictures): shape (N,)."""
        return sum((a[k] - b[k]).square().sum(1).mean((1, 2)) for k in self.layers)


@dataclasses.dataclass
class Projection:
    source: Path
    latent: torch.Tensor  # 1 × the latent's shape, in ``space``
    space: str
    picture: torch.Tensor  # 1×3×H×W in [-1, 1]: the model's picture from the latent
    frames: torch.Tensor  # the search, for the progress video
    perceptual: float
    pixel_mse: float
    steps: int  # optimisation steps, or (ddpm) the DDIM steps inverted and needed to draw it back
    latent_path: Path | None = None
    written: list[Path] = dataclasses.field(default_factory=list)


def choose_space(model: Method, space: str = "auto") -> str:
    """The latent space to project into: w+ for StyleGAN, the starting noise for diffusion, else z."""
    if space not in SPACES:
        raise ArtforgeError(f"--space must be one of {', '.join(SPACES)} (got {space!r})")
    native = "noise" if hasattr(model, "invert") else ("w+" if hasattr(model, "num_ws") else "z")
    if space == "auto":
        return native
    allowed = {"w+": ("w", "w+"), "noise": ("noise",), "z": ("z",)}[native]
    if space not in allowed:
        raise ArtforgeError(
            f"--space {space} does not apply to {model.config.get('model', 'this model')}; it projects into "
            f"{' or '.join(allowed)}"
        )
    return space


def project(
    model: Method,
    target: torch.Tensor,
    distance: PerceptualDistance,
    steps: int = 300,
    space: str = "auto",
    pixel_weight: float = 1.0,
    candidates: int = 256,
    seed: int = 0,
    frames: int = 40,
) -> Projection:
    """Project one picture (1×3×H×W in [-1, 1], the model's size) into ``model``'s latent space."""
    space = choose_space(model, space)
    if steps < 1 and space != "noise":
        raise ArtforgeError(f"--steps must be at least 1 (got {steps})")
    device = next(model.sampler.parameters()).device
    target = target.to(device)
    generator = torch.Generator().manual_seed(seed)
    if space == "noise":  # DDIM inversion with the model's sampling steps: DDIM with those steps draws it back
        latent, path = _invert(model, target)
        steps, picture = model.sample_steps, model.decode(latent, eta=0.0)
    else:
        latent, path = _optimise(model, target, distance, steps, space, pixel_weight, candidates, generator, frames)
        picture = model.decode(latent)
    with torch.no_grad():
        perceptual = float(distance(picture, distance.features(target))[0])
    pixel = float(F.mse_loss(picture, target))
    return Projection(Path(), latent.detach(), space, picture, path, perceptual, pixel, steps)


def _invert(model: Method, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DDIM inversion; the progress frames are the noised pictures on the way to x_T."""
    trajectory: list[torch.Tensor] = []
    latent = model.invert(target, trajectory=trajectory)
    return latent, torch.cat([target, *[x.clamp(-1, 1) for x in trajectory]])


def _start(model: Method, target, distance, space, candidates, generator) -> tuple[torch.Tensor, float]:
    """The starting latent, and the spread of one latent entry (the unit of steps and exploration noise)."""
    if space in ("w", "w+"):
        g = model.sampler
        z = torch.randn(2000, g.latent_dim, generator=generator).to(target.device)
        with torch.no_grad():
            ws = g.mapping(z).float()
        spread = float((ws - g.mapping.w_avg).square().mean().sqrt())
        w = g.mapping.w_avg.detach().float().clone().unsqueeze(0)
        return (model.per_layer(w) if space == "w+" else w), spread
    if hasattr(model, "encode"):  # the VAE's encoder gives the start
        return model.encode(target).float(), 1.0
    z = model.latents(candidates, generator)
    with torch.no_grad():
        pictures = torch.cat([model.decode(chunk) for chunk in z.split(64)])
        pixel = F.mse_loss(pictures, target.expand_as(pictures), reduction="none").mean((1, 2, 3))
        scores = distance(pictures, distance.features(target)) + pixel
    return z[int(scores.argmin())].unsqueeze(0).clone(), 1.0


def _learning_rate(t: float) -> float:
    """The StyleGAN2 projector's schedule (× the peak rate): up over the first 5 %, cosine down over the last 25 %."""
    ramp = min(1.0, (1.0 - t) / RAMP_DOWN)
    return (0.5 - 0.5 * math.cos(ramp * math.pi)) * min(1.0, t / RAMP_UP)


def _optimise(model, target, distance, steps, space, pixel_weight, candidates, generator, frames):
    """Adam on the latent alone (the networks' weights get no gradients); the latent and the search's pictures."""
    wanted = {p: p.requires_grad for p in model.sampler.parameters()}
    model.sampler.requires_grad_(False)
    try:
        return _search(model, target, distance, steps, space, pixel_weight, candidates, generator, frames)
    finally:
        for p, flag in wanted.items():
            p.requires_grad_(flag)


def _search(model, target, distance, steps, space, pixel_weight, candidates, generator, frames):
    latent, spread = _start(model, target, distance, space, candidates, generator)
    latent.requires_grad_(True)
    target_features = distance.features(target)
    optimizer = torch.optim.Adam([latent], betas=(0.9, 0.999))
    on_shell = space == "z" and not hasattr(model, "encode")  # a GAN's z: keep it where N(0, I) puts latents
    every, path = max(1, steps // frames), []
    for i in range(steps):
        t = i / steps
        optimizer.param_groups[0]["lr"] = LR[space] * spread * _learning_rate(t)
        jitter = JITTER[space] * spread * max(0.0, 1 - t / NOISE_RAMP) ** 2
        picture = model.render(latent + jitter * torch.randn(latent.shape, generator=generator).to(latent.device))
        loss = distance(picture, target_features, grad=True).mean() + pixel_weight * F.mse_loss(picture, target)
        if on_shell:  # ‖z‖² ≈ d, i.e. mean of z² ≈ 1
            loss = loss + (latent.square().mean() - 1).square()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i % every == 0:
            path.append(picture.detach())
    return latent.detach(), torch.cat(path)


# ----------------------------------------------------------------------------- the CLI's job


def project_pictures(
    model: Method,
    inputs: Iterable[str | Path],
    out: str | Path,
    steps: int = 300,
    space: str = "auto",
    pixel_weight: float = 1.0,
    seed: int = 0,
    fit: str = "crop",
    background="white",
    warn: Callable[[str], None] = print_to_stderr,
) -> list[Projection]:
    """Project every usable picture in ``inputs`` (files or folders); for each NAME write to ``out``:
    NAME-latent.safetensors, NAME-projected.png, NAME-compare.png (target | projection) and
    NAME-progress.gif/.mp4.  Unreadable pictures are skipped with a warning naming them."""
    if hasattr(model, "translate"):
        raise ArtforgeError(
            f"{model.source_path} translates pictures (cyclegan); it has no latent space to project into"
        )
    space = choose_space(model, space)
    size = int(model.config["image_size"])
    background = parse_color(background) if isinstance(background, str) else tuple(background)
    inputs = list(inputs)
    files, skipped = collect_pictures(inputs)
    for s in skipped:
        warn(f"skipped {s.path}: {s.reason}")
    distance = PerceptualDistance(device=next(model.sampler.parameters()).device)
    out = Path(out)
    results, taken = [], set()
    for path in files:
        try:
            pixels = load_image(path, size, fit, background)
        except BadImage as exc:
            skipped.append(SkippedFile(str(path), exc.reason))
            warn(f"skipped {path}: {exc.reason}")
            continue
        target = to_unit(torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).unsqueeze(0))
        result = project(model, target, distance, steps, space, pixel_weight, seed=seed)
        result.source = path
        _write(model, result, target, out, unique_stem(path.stem, taken))
        results.append(result)
    if not results:
        raise ArtforgeError(no_usable_picture(inputs, skipped, "to project"))
    return results


def _write(model: Method, r: Projection, target: torch.Tensor, out: Path, stem: str) -> None:
    info = dict(source_image=str(r.source), space=r.space, steps=r.steps, perceptual=round(r.perceptual, 5))
    if r.space == "noise":  # DDIM draws the picture back only with the steps it was inverted with
        info.update(sample_steps=r.steps, sampler="ddim")
    r.latent_path = save_latent(out / f"{stem}-latent.safetensors", r.latent, model, **info)
    meta = provenance(model, latent_file=str(r.latent_path), **info)
    r.written = [
        r.latent_path,
        save_png(Image.fromarray(to_uint8(r.picture)[0]), out / f"{stem}-projected.png", meta),
        save_png(make_grid(torch.cat([target, r.picture.cpu()]), ncol=2), out / f"{stem}-compare.png", meta),
        *write_animation(
            torch.cat([r.frames.cpu(), r.picture.cpu().expand(8, -1, -1, -1)]), out / f"{stem}-progress", 12
        ),
    ]
