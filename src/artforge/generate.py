"""Sampling from a trained model: grids, single pictures with provenance, latent walks.

Example::

    from artforge.generate import load_model, generate
    model = load_model("runs/my-run")            # a run folder, its model/ export, or "default"
    paths = generate(model, n=16, seed=0, out="out/samples")
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from artforge import __version__
from artforge.errors import ArtforgeError, CheckpointError
from artforge.fileio import atomic_write, atomic_write_bytes
from artforge.methods import Method, create_method
from artforge.methods.base import slerp  # noqa: F401  (artforge.generate.slerp, as before)
from artforge.models import load_export, read_export_config
from artforge.pictures import make_grid, save_png, to_uint8

DEFAULT_MODEL = Path(__file__).parent / "assets" / "default-model"


def find_export(path: str | Path) -> Path:
    """A run folder -> its ``model/``; an export folder -> itself; ``default`` -> the shipped model."""
    if str(path) == "default":
        return DEFAULT_MODEL
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"no such model: {p} (pass a run folder, its model/ folder, or 'default')")
    if (p / "config.json").is_file():
        return p
    if (p / "model" / "config.json").is_file():
        return p / "model"
    raise CheckpointError(
        f"{p} holds no artforge model (no config.json or model/config.json); has its run saved a checkpoint yet?"
    )


def load_model(path: str | Path, device: str | torch.device = "cpu") -> Method:
    """Load an export for sampling (eval mode, EMA weights)."""
    export = find_export(path)
    if read_export_config(export).get("model") == "adain-decoder":  # artforge.style.adain's export
        raise CheckpointError(
            f"{path} is a fast-style (AdaIN) decoder, not a generator; use it with "
            f"artforge style PHOTO STYLE --fast --adain {path} -o out.png"
        )
    nets, config = load_export(export, device=device)
    method = create_method(config["method"], nets, **config.get("method_kwargs", {}))
    method.source_path = str(export)
    method.model_arg = str(path)  # as the user named it ("default", a run folder): for messages
    method.config = config
    return method


def configure_sampling(model: Method, steps: int | None = None, sampler: str | None = None) -> Method:
    """Set a diffusion model's denoising steps and sampler; a clear error for a model that has none."""
    if not hasattr(model, "configure_sampling"):
        raise ArtforgeError(
            f"--sample-steps/--sampler are for diffusion models (--model ddpm); "
            f"{model.config.get('model', 'this model')} draws a picture in one pass"
        )
    model.configure_sampling(steps, sampler)
    model.sampling_chosen = True  # the user's choice wins over what a latent file recorded
    return model


def provenance(model: Method, **params) -> dict:
    """The PNG metadata of a picture made by ``model``: which model, artforge's version, and ``params``."""
    sampling = {}
    if hasattr(model, "sample_steps"):  # diffusion: how many denoising steps made the picture
        sampling = {"sample_steps": model.sample_steps, "sampler": model.sampler_name}
    return {
        "model": getattr(model, "source_path", ""),
        "model_name": model.config.get("model", ""),
        "artforge_version": __version__,
        **sampling,
        **params,
    }


def seed_latents(model: Method, n: int, seed: int, truncation: float | None = None) -> torch.Tensor:
    """The latents of ``n`` pictures for ``seed`` (picture i is the same whatever ``n``)."""
    if n < 1:
        raise ArtforgeError("-n must be at least 1")
    return model.latents(n, torch.Generator().manual_seed(seed), truncation)


def decode_all(model: Method, latents: torch.Tensor, size: int | None = None, batch: int = 64) -> torch.Tensor:
    """The latents' pictures in [-1, 1], ``batch`` at a time, without gradients; resized (bilinear) to
    ``size``×``size`` when given and different — e.g. the critic's load size, what it sees of a written file."""
    with torch.no_grad():
        images = torch.cat([model.decode(chunk).float() for chunk in latents.split(batch)])
    if size is not None and tuple(images.shape[-2:]) != (size, size):
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    return images.clamp(-1, 1)


def write_pictures(
    model: Method, latents: torch.Tensor, out: str | Path, stem: str, grid: bool = True, singles: bool = True, **meta
) -> list[Path]:
    """Decode ``latents`` (64 at a time) and write ``OUT/STEM-IIII.png`` for each and ``OUT/grid-STEM.png``."""
    out = Path(out)
    images = decode_all(model, latents)
    written = []
    if singles:
        for i, picture in enumerate(to_uint8(images)):
            written.append(
                save_png(Image.fromarray(picture), out / f"{stem}-{i:04d}.png", provenance(model, index=i, **meta))
            )
    if grid:
        written.append(
            save_png(make_grid(images), out / f"grid-{stem}.png", provenance(model, count=len(images), **meta))
        )
    return written


def generate(
    model: Method,
    n: int,
    seed: int,
    out: str | Path,
    truncation: float | None = None,
    grid: bool = True,
    singles: bool = True,
) -> list[Path]:
    """Write ``n`` pictures (and a grid) for ``seed``; the same seed gives the same pictures."""
    latents = seed_latents(model, n, seed, truncation)
    return write_pictures(model, latents, out, f"seed{seed}", grid, singles, seed=seed, truncation=truncation)


def key_latent(model: Method, key: str, truncation: float | None = None) -> tuple[torch.Tensor, str]:
    """A seed (``"12"``) or a latent file (``"cat-latent.safetensors"``) -> (its latents, a label for names)."""
    key = key.strip()
    if key.lstrip("-").isdigit():
        return seed_latents(model, 1, int(key), truncation), f"seed{int(key)}"
    from artforge.latents import load_latent, read_latent_info

    latent = load_latent(key, model)
    recorded = read_latent_info(key).get("sample_steps")
    if recorded and hasattr(model, "configure_sampling") and not getattr(model, "sampling_chosen", False):
        model.configure_sampling(int(recorded), "ddim")  # an inverted picture comes back with its own steps
    return latent, Path(key).stem.removesuffix("-latent")


def same_shape(model: Method, latents: list[torch.Tensor]) -> list[torch.Tensor]:
    """Latents of one shape: StyleGAN's w become w+ when any of them is a projected w+."""
    if len({tuple(z.shape[1:]) for z in latents}) > 1 and hasattr(model, "per_layer"):
        return [model.per_layer(z) for z in latents]
    return latents


def parse_layers(text: str, num_ws: int, flag: str = "--mix-layers") -> list[int]:
    """``"0-3"``, ``"4-"``, ``"0,2,5"`` -> sorted layer indices below ``num_ws``; a clear error otherwise."""
    layers: set[int] = set()
    try:
        for part in filter(None, (t.strip() for t in text.split(","))):
            lo, sep, hi = part.partition("-")
            first = int(lo) if lo else 0
            last = (int(hi) if hi else num_ws - 1) if sep else first
            layers.update(range(first, last + 1))
    except ValueError:
        raise ArtforgeError(f"{flag} {text!r}: write layer numbers like 0-3, 4- or 0,2,5") from None
    bad = sorted(i for i in layers if not 0 <= i < num_ws)
    if not layers or bad:
        raise ArtforgeError(f"{flag} {text!r}: this model has layers 0-{num_ws - 1} (coarsest first)")
    return sorted(layers)


def _mixing_model(model: Method) -> Method:
    if not hasattr(model, "mix"):
        raise ArtforgeError(
            f"style mixing needs a model with per-layer styles (--model stylegan); "
            f"{model.config.get('model', 'this model')} has a single latent"
        )
    return model


def style_mixing_grid(
    model: Method, seeds_a: list[int], seeds_b: list[int], layers: list[int], truncation: float | None = None
) -> torch.Tensor:
    """The StyleGAN figure: row i, column j takes ``layers`` from seed_a[i] and the rest from seed_b[j].

    The first row shows the B pictures, the first column the A pictures (top-left corner blank),
    so the grid has ``(len(seeds_a) + 1) × (len(seeds_b) + 1)`` cells, row by row.
    """
    model = _mixing_model(model)
    w_a = torch.cat([model.latents(1, torch.Generator().manual_seed(s), truncation) for s in seeds_a])
    w_b = torch.cat([model.latents(1, torch.Generator().manual_seed(s), truncation) for s in seeds_b])
    pics_a, pics_b = model.decode(w_a), model.decode(w_b)
    rows = [torch.cat([torch.ones_like(pics_b[:1]), pics_b])]
    for i in range(len(seeds_a)):
        mixed = model.decode(model.mix(w_a[i : i + 1].expand(len(seeds_b), -1), w_b, layers))
        rows.append(torch.cat([pics_a[i : i + 1], mixed]))
    return torch.cat(rows)


def style_mix(
    model: Method, key_a: str, key_b: str, layers: str, out: str | Path, truncation: float | None = None
) -> list[Path]:
    """Write the picture taking ``layers`` (e.g. ``"0-3"``, the coarse ones) from A and the rest from B —
    each a seed or a projected latent file — and a strip A | B | mix beside it."""
    model = _mixing_model(model)
    chosen = parse_layers(layers, model.num_ws)
    (w_a, name_a), (w_b, name_b) = key_latent(model, key_a, truncation), key_latent(model, key_b, truncation)
    mixed = model.decode(model.mix(w_a[:1], w_b[:1], chosen))
    meta = provenance(model, mix_a=key_a, mix_b=key_b, mix_layers=layers, truncation=truncation)
    out = Path(out)
    name = f"mix-{name_a}-{name_b}-layers{layers.replace(',', '_')}"
    picture = save_png(Image.fromarray(to_uint8(mixed)[0]), out / f"{name}.png", meta)
    strip = torch.cat([model.decode(w_a[:1]), model.decode(w_b[:1]), mixed])
    return [picture, save_png(make_grid(strip, ncol=3), out / f"{name}-strip.png", meta)]


def walk_latents(
    model: Method,
    keys: int | torch.Tensor,
    frames_per_key: int,
    seed: int,
    truncation: float | None = None,
    loop: bool = True,
) -> torch.Tensor:
    """Latents walking through ``keys`` key points — that many random ones, or the given latents — along
    each model's path (slerp for Gaussian latents and DDPM noise, lerp in W), back to the first when ``loop``."""
    z = seed_latents(model, keys, seed, truncation) if isinstance(keys, int) else keys
    stops = list(z) + ([z[0]] if loop else [])
    legs = zip(stops[:-1], stops[1:])
    path = [model.latent_path(a, b, i / frames_per_key) for a, b in legs for i in range(frames_per_key)]
    if not loop:
        path.append(stops[-1])
    return torch.stack(path)


def parse_keys(model: Method, text: str, truncation: float | None = None) -> int | torch.Tensor:
    """``--keys``: a number of random key latents, or comma-separated latent files / seeds to walk through."""
    text = str(text).strip()
    if text.isdigit():
        if int(text) < 2:
            raise ArtforgeError("--keys must be at least 2 (or two or more latent files / seeds, comma-separated)")
        return int(text)
    parts = [p for p in text.split(",") if p.strip()]
    if len(parts) < 2:
        raise ArtforgeError(f"--keys {text!r}: give a number, or two or more latent files or seeds, comma-separated")
    return torch.cat(same_shape(model, [key_latent(model, p, truncation)[0][:1] for p in parts]))


def interpolate(
    model: Method,
    out: str | Path,
    seed: int = 0,
    keys: int | torch.Tensor = 4,
    frames_per_key: int = 24,
    fps: int = 24,
    truncation: float | None = None,
    display_size: int = 256,
) -> list[Path]:
    """Write a looping latent walk as GIF, and as MP4 when ffmpeg is available."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    z = walk_latents(model, keys, frames_per_key, seed, truncation)
    frames = torch.cat([model.decode(chunk) for chunk in z.split(64)])
    name = f"interpolation-seed{seed}" if isinstance(keys, int) else "interpolation-keys"
    return write_animation(frames, out / name, fps, display_size)


def write_animation(
    frames: torch.Tensor, stem: Path, fps: int, display_size: int = 256, loop: bool = True
) -> list[Path]:
    """Write ``frames`` (N×3×H×W in [-1, 1]) as ``STEM.gif``, and ``STEM.mp4`` when ffmpeg is available."""
    pictures = [
        Image.fromarray(f).resize((display_size, display_size), Image.Resampling.LANCZOS) for f in to_uint8(frames)
    ]
    gif = stem.with_name(stem.name + ".gif")
    buf = io.BytesIO()
    pictures[0].save(buf, format="GIF", save_all=True, append_images=pictures[1:], duration=round(1000 / fps), loop=0)
    atomic_write_bytes(gif, buf.getvalue())
    written = [gif]
    mp4 = _write_mp4(pictures, stem.with_name(stem.name + ".mp4"), fps)
    if mp4:
        written.append(mp4)
    return written


def mp4_writer(path: str | Path, size: tuple[int, int], fps: float):
    """A started imageio-ffmpeg writer of H.264 MP4 (yuv420p: plays everywhere; sides must be even): ``send``
    H × W × 3 uint8 frames one at a time, then ``close``."""
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=8, macro_block_size=1,
        ffmpeg_log_level="error",
    )  # fmt: skip
    writer.send(None)
    return writer


def _write_mp4(pictures: list[Image.Image], path: Path, fps: int) -> Path | None:
    if importlib.util.find_spec("imageio_ffmpeg") is None:  # no ffmpeg: the GIF is written alone
        return None
    w, h = pictures[0].size
    w, h = w - w % 2, h - h % 2  # yuv420p needs even sides

    def encode(tmp: str) -> None:
        writer = mp4_writer(tmp, (w, h), fps)
        for picture in pictures:
            writer.send(np.ascontiguousarray(np.asarray(picture)[:h, :w]))
        writer.close()

    atomic_write(path, encode, suffix=".tmp.mp4")  # ffmpeg picks the container by the name's extension
    return path
