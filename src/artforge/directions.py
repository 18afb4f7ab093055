"""Meaningful latent directions without labels: GANSpace (Härkönen et al. 2020).

* **StyleGAN, ``--method pca``**: principal components of w over many mapped latents (the paper's
  method for StyleGAN): direction i is ``σ_i · u_i``, one standard deviation along component i of W.
* **Every family, the default** (dcgan, fastgan, pggan, vae, ddpm, StyleGAN in w): a Gaussian latent
  has no principal components (every direction has the same variance), so — as the paper does for
  BigGAN — PCA runs on
  what the latent makes, and the components are carried back into the latent by linear regression.
  Here "what it makes" is the picture at 16×16 (its layout and colours; for ddpm drawn with 10 DDIM
  steps): the whitened coordinates c of the N pictures on the first k components are regressed on
  their latents, c ≈ z·U, and direction i is ``U_i / ‖U_i‖²`` — the shortest step in the latent that
  raises component i by one standard deviation.  For ddpm, whose latent (the starting noise) has
  more entries than pictures a CPU can draw, the regression runs on the 8×8-block means of the noise.

Saved beside the export (``model/directions.safetensors``: vectors, explained variance, mean; the
export's content hash in the metadata) with a strip PNG per direction in ``model/directions/``.
``generate --edit 0:+3,2:-1.5`` moves latents along them, ``--edit-layers 0-5`` (StyleGAN) only in
those layers, ``--edit-strip K`` draws the walk along direction K.

Example::

    dirs = compute_directions(model, k=10)
    edited = apply_edits(model, model.latents(4, torch.Generator().manual_seed(0)), dirs, [(0, 2.0)])
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from artforge.errors import ArtforgeError
from artforge.latents import read_for_model, write_for_model
from artforge.methods import Method
from artforge.pictures import make_grid, save_png

FILE = "directions.safetensors"
KIND = "artforge-directions"
FEATURE_SIZE = 16  # pictures are compared at 16×16: layout and colour, not texture
DIFFUSION_FEATURE_STEPS = 10  # DDIM steps when a diffusion model draws the pictures to analyse
NOISE_BLOCKS = 8  # diffusion: directions in the 8×8-block means of the starting noise (see _noise_basis)
STRIP_OFFSETS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)  # standard deviations along the direction


@dataclasses.dataclass
class Directions:
    vectors: torch.Tensor  # k × latent_dim: one standard deviation along each direction
    explained: torch.Tensor  # k: fraction of the analysed variance each component explains
    space: str  # "w" (StyleGAN) or "z" (the family's own latent: z, the VAE's, DDPM's noise)
    samples: int

    def __len__(self) -> int:
        return len(self.vectors)


def default_samples(model: Method, method: str = "auto") -> int:
    """Enough latents for a stable PCA (10,000 w) or regression (2,000 pictures)."""
    return 10_000 if method == "pca" else 2_000


METHODS = ("auto", "regression", "pca")


def compute_directions(
    model: Method, k: int = 20, samples: int | None = None, seed: int = 0, method: str = "auto"
) -> Directions:
    """The first ``k`` GANSpace directions of ``model`` from ``samples`` random latents.

    ``method``: ``regression`` (picture PCA carried into the latent — every family; ``auto``) or ``pca``
    (StyleGAN only: PCA of w itself, the paper's method for StyleGAN).  On a StyleGAN trained for minutes
    on a CPU, W's principal components barely touch the pictures (bench/RESULTS.md: 0.87× the change of
    random directions), while the regressed directions are picked by what they do to the pictures.
    """
    if method not in METHODS:
        raise ArtforgeError(f"--method must be one of {', '.join(METHODS)} (got {method!r})")
    if method == "pca" and not hasattr(model, "num_ws"):
        raise ArtforgeError("--method pca is PCA of StyleGAN's w; other models' latents are isotropic (use regression)")
    samples = samples or default_samples(model, method)
    if k < 1 or samples < 2 * k:
        raise ArtforgeError(f"-n must be at least 1 and --samples at least twice -n (got {k}, {samples})")
    generator = torch.Generator().manual_seed(seed)
    if method == "pca":
        return _w_components(model, k, samples, generator)
    return _regressed_components(model, k, samples, generator)


def _pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(components k×D, standard deviations k, explained fractions k) of the rows of ``x``."""
    centred = x - x.mean(0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    var = s.square() / (len(x) - 1)
    k = min(k, len(var))
    return vh[:k], var[:k].sqrt(), var[:k] / var.sum()


def _w_components(model: Method, k: int, samples: int, generator: torch.Generator) -> Directions:
    g = model.sampler
    device = next(g.parameters()).device
    z = torch.randn(samples, g.latent_dim, generator=generator).to(device)
    with torch.no_grad():
        w = torch.cat([g.mapping(chunk).float() for chunk in z.split(1000)]).cpu()
    components, std, explained = _pca(w.double(), k)
    return Directions((components * std[:, None]).float(), explained.float(), "w", samples)


def _pictures_as_features(model: Method, z: torch.Tensor) -> torch.Tensor:
    """What the regression explains: each latent's picture at 16×16, flattened."""
    chunks = []
    for chunk in z.split(64):
        if hasattr(model, "configure_sampling"):  # diffusion: a short DDIM path is enough for layout
            pictures = model.decode(chunk, steps=DIFFUSION_FEATURE_STEPS)
        else:
            pictures = model.decode(chunk)
        chunks.append(F.adaptive_avg_pool2d(pictures.float(), FEATURE_SIZE).flatten(1).cpu())
    return torch.cat(chunks)


def _noise_basis(model: Method) -> torch.Tensor | None:
    """For a diffusion model, an orthonormal basis (D × 3·8·8) of block-constant starting noise — the mean of
    each channel over each of 8×8 blocks — else None.

    DDPM's latent has one entry per pixel channel (3,072 at 32 px): more than the pictures a CPU can draw
    for the regression, which would then only fit noise.  The layout of a DDIM picture follows the coarse
    part of its starting noise, so the directions are looked for there.
    """
    if not hasattr(model, "invert"):
        return None
    channels, size = model.sampler.channels, model.sampler.image_size
    block = size // NOISE_BLOCKS
    cells = torch.eye(channels * NOISE_BLOCKS**2, dtype=torch.float64).view(-1, channels, NOISE_BLOCKS, NOISE_BLOCKS)
    patterns = cells.repeat_interleave(block, 2).repeat_interleave(block, 3) / block  # unit norm each
    return patterns.flatten(1).T


def _regressed_components(model: Method, k: int, samples: int, generator: torch.Generator) -> Directions:
    z = model.latents(samples, generator).float()
    features = _pictures_as_features(model, z).double()
    components, std, explained = _pca(features, k)
    coords = (features - features.mean(0)) @ components.T / std.clamp_min(1e-8)  # one unit = one std
    zc = z.cpu().double()
    zc = zc - zc.mean(0)
    basis = _noise_basis(model)
    if basis is not None:
        zc = zc @ basis
    solution = torch.linalg.lstsq(zc, coords, driver="gelsd").solution  # (D or r) × k
    vectors = (solution / solution.square().sum(0, keepdim=True).clamp_min(1e-12)).T  # shortest step: +1 std
    if basis is not None:
        vectors = vectors @ basis.T
    space = "w" if hasattr(model, "num_ws") else "z"  # StyleGAN's latents() are mapped, untruncated w
    return Directions(vectors.float(), explained.float(), space, samples)


# ----------------------------------------------------------------------------- files


def directions_path(model: Method) -> Path:
    source = getattr(model, "source_path", "")
    if not source:
        raise ArtforgeError("directions are saved beside a model's export; load the model from a run folder")
    return Path(source) / FILE


def save_directions(model: Method, directions: Directions, path: Path | None = None) -> Path:
    """Write ``directions`` beside the export (or to ``path``: the studio keeps its own for read-only models)."""
    explained = [round(float(e), 6) for e in directions.explained]
    tensors = {"vectors": directions.vectors, "explained": directions.explained}
    return write_for_model(
        path or directions_path(model),
        tensors,
        model,
        KIND,
        space=directions.space,
        samples=directions.samples,
        explained=explained,
    )


def load_directions(model: Method, path: Path | None = None) -> Directions:
    """The directions saved beside ``model``'s export (or in ``path``); a clear error when missing or made for
    other weights."""
    path = path or directions_path(model)
    name = getattr(model, "model_arg", model.source_path)
    if not path.is_file():
        raise ArtforgeError(f"no directions for {name} yet; run: artforge directions {name}")
    tensors, meta = read_for_model(
        path, model, KIND, f"the run trained on since; run again: artforge directions {name}"
    )
    if "vectors" not in tensors or "explained" not in tensors:
        raise ArtforgeError(f"{path} is damaged (no vectors); run again: artforge directions {name}")
    return Directions(tensors["vectors"], tensors["explained"], meta.get("space", "z"), int(meta.get("samples", 0)))


# ----------------------------------------------------------------------------- edits


def parse_edits(text: str, count: int) -> list[tuple[int, float]]:
    """``"0:+3,2:-1.5"`` -> [(0, 3.0), (2, -1.5)]; a clear error for anything else."""
    edits = []
    for part in filter(None, (t.strip() for t in text.split(","))):
        index, sep, amount = part.partition(":")
        try:
            edits.append((int(index), float(amount)))
        except ValueError:
            raise ArtforgeError(f"--edit {text!r}: write DIRECTION:AMOUNT pairs like 0:+3,2:-1.5") from None
        if not sep:
            raise ArtforgeError(f"--edit {text!r}: write DIRECTION:AMOUNT pairs like 0:+3,2:-1.5")
    bad = [i for i, _ in edits if not 0 <= i < count]
    if not edits or bad:
        raise ArtforgeError(f"--edit {text!r}: this model has directions 0-{count - 1} (run artforge directions -n)")
    return edits


def apply_edits(
    model: Method,
    latents: torch.Tensor,
    directions: Directions,
    edits: list[tuple[int, float]],
    layers: list[int] | None = None,
) -> torch.Tensor:
    """``latents`` moved by ``amount`` standard deviations along each chosen direction.

    ``layers`` (StyleGAN only) restricts the move to those style layers — GANSpace's layer-wise edits:
    the coarse layers change pose and layout, the fine ones colour and texture.
    """
    step = sum(amount * directions.vectors[i] for i, amount in edits).to(latents.device, latents.dtype)
    if layers is None:
        return latents + (step if latents.dim() == 2 else step.view(1, 1, -1))
    if not hasattr(model, "per_layer"):
        raise ArtforgeError("--edit-layers needs a model with per-layer styles (--model stylegan)")
    ws = model.per_layer(latents)
    ws[:, layers] += step
    return ws


def edit_strip(
    model: Method,
    latents: torch.Tensor,
    directions: Directions,
    index: int,
    layers: list[int] | None = None,
    offsets=STRIP_OFFSETS,
) -> torch.Tensor:
    """Pictures of each latent (a row each) moved along direction ``index`` by ``offsets``."""
    rows = []
    for latent in latents.split(1):
        moved = torch.cat([apply_edits(model, latent, directions, [(index, a)], layers) for a in offsets])
        rows.append(model.decode(moved))
    return torch.cat(rows)


def write_edit_strip(
    model: Method, latents: torch.Tensor, directions: Directions, index: int, path: Path, layers=None, **meta
) -> Path:
    """The strip of :func:`edit_strip` as one PNG (a row per latent), with its provenance."""
    from artforge.generate import provenance

    if not 0 <= index < len(directions):
        raise ArtforgeError(f"--edit-strip {index}: this model has directions 0-{len(directions) - 1}")
    grid = make_grid(edit_strip(model, latents, directions, index, layers), ncol=len(STRIP_OFFSETS))
    info = dict(direction=index, explained=round(float(directions.explained[index]), 5), offsets=list(STRIP_OFFSETS))
    return save_png(grid, path, provenance(model, **info, **meta))


def write_strips(model: Method, directions: Directions, seeds: int = 4, seed: int = 0) -> list[Path]:
    """``model/directions/direction-II.png`` for each direction: ``seeds`` rows, −3σ … +3σ left to right."""
    latents = model.latents(seeds, torch.Generator().manual_seed(seed))
    folder = directions_path(model).parent / "directions"
    return [
        write_edit_strip(model, latents, directions, i, folder / f"direction-{i:02d}.png", seed=seed)
        for i in range(len(directions))
    ]
