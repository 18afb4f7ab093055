"""Every training default, in one place.

CLI flags, YAML files and the studio only override these fields.  Fields left
as ``None`` or ``"auto"`` are resolved from the model, loss, data and machine by
:func:`resolve`, and the *resolved* config is what a run folder records in
``config.yaml`` — so a run can always be repeated or resumed exactly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from artforge.errors import ArtforgeError


@dataclasses.dataclass
class TrainConfig:
    # -- data ------------------------------------------------------------------------------------
    source: str = "builtin:shapes"      # a folder of pictures, or builtin:shapes / builtin:glyphs
    size: int = 64                      # model resolution in pixels (square)
    fit: str = "crop"                   # non-square pictures: crop | pad | stretch
    background: str = "white"           # colour under transparent pixels (and padding)
    max_pixels: int = 89_478_485        # refuse larger pictures before decoding (decompression bombs)
    n_builtin: int = 2000               # how many pictures a builtin: source generates
    # -- model and objective ---------------------------------------------------------------------
    model: str = "dcgan"                # a registered family: dcgan-seed, dcgan, vae
    latent_dim: int | None = None       # None: the family's default (100 for GANs, 128 for the VAE)
    width: int | None = None            # base channel width; None: the family's default
    loss: str = "nsgan"                 # GANs: nsgan | hinge | wgan-gp
    n_critic: int | None = None         # D steps per G step; None: 5 for wgan-gp, else 1
    gp_weight: float = 10.0             # WGAN-GP λ (Gulrajani et al. use 10)
    r1_gamma: float = 0.0               # R1 penalty weight; 0 = off
    spectral_norm: bool | None = None   # spectral norm in D (Miyato et al. 2018); None: on for dcgan (not with wgan-gp)
    diffaugment: str = "auto"           # DiffAugment policy; auto: color,translation,cutout below 2,000 images
    beta: float = 1.0                   # VAE KL weight (1 = the true ELBO)
    # -- optimisation ----------------------------------------------------------------------------
    steps: int = 2000                   # optimisation steps (one G step = one step for GANs)
    batch: int = 64                     # global batch; split across DDP processes
    lr: float | None = None             # None: 2e-4 (nsgan/hinge), 1e-4 (wgan-gp), 5e-4 (vae)
    lr_d: float | None = None           # discriminator learning rate; None: same as lr
    beta1: float | None = None          # Adam β1; None: 0.5 (DCGAN), 0.0 (WGAN-GP), 0.9 (VAE)
    beta2: float | None = None          # Adam β2; None: 0.999, 0.9 for WGAN-GP
    ema_kimg: float = 10.0              # EMA half-life of the sampled network, in thousands of images; 0 = off
    ema_rampup: float = 0.05            # early on, half-life <= this fraction of the images seen so far
    seed: int = 0
    # -- machine ---------------------------------------------------------------------------------
    device: str = "auto"                # auto (cuda > mps > cpu) | cpu | cuda | cuda:1 | mps
    precision: str = "auto"             # auto | fp32 | bf16 | fp16; auto = bf16 where the hardware has it
    channels_last: bool | None = None   # None: on for convolutional nets on CPU and CUDA
    compile: bool = False               # torch.compile the networks (for GPUs; measured slower than eager on CPU)
    # -- output ----------------------------------------------------------------------------------
    out: str | None = None              # run folder; None: runs/MODEL-YYYYmmdd-HHMMSS
    log_every: int = 10                 # stats.jsonl / TensorBoard scalars
    sample_every: int = 500             # sample grid PNG from fixed latents
    ckpt_every: int = 500               # training state + export
    eval_every: int = 0                 # FID/KID vs the training pictures every N steps, best export in RUN/best; 0 = off
    eval_n: int = 500                   # pictures sampled (and real pictures used) per evaluation
    keep: int = 3                       # training states kept
    tensorboard: bool = True
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save_yaml(self, path: Path) -> None:
        from artforge.fileio import atomic_write_bytes

        atomic_write_bytes(Path(path), yaml.safe_dump(self.to_dict(), sort_keys=False).encode())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ArtforgeError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def load_yaml(cls, path: Path) -> "TrainConfig":
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ArtforgeError(f"cannot read {path}: {exc}") from exc
        return cls.from_dict(data)


# Options that change the networks or the data: a resumed run must keep them.
ARCHITECTURE_FIELDS = ("source", "size", "fit", "model", "latent_dim", "width", "loss", "spectral_norm", "batch")


def resolve(cfg: TrainConfig, family_method: str, n_images: int) -> TrainConfig:
    """Fill every ``None`` / ``"auto"`` field; returns a new config."""
    c = dataclasses.replace(cfg)
    gan = family_method == "gan"
    wgan = gan and c.loss == "wgan-gp"
    if c.spectral_norm is None:
        # Without it the batch-norm DCGAN critic overpowers G on small sets within a few thousand
        # steps (D loss -> 0, mode collapse; seen twice while training the shipped model).
        # dcgan-seed stays the article's network unless asked; WGAN-GP's penalty already bounds its critic.
        c.spectral_norm = gan and c.model != "dcgan-seed" and not wgan
    if c.latent_dim is None:
        c.latent_dim = 100 if gan else 128
    if c.n_critic is None:
        c.n_critic = 5 if wgan else 1
    if c.lr is None:
        c.lr = 1e-4 if wgan else (2e-4 if gan else 5e-4)
    if c.lr_d is None:
        c.lr_d = c.lr
    if c.beta1 is None:
        c.beta1 = 0.0 if wgan else (0.5 if gan else 0.9)
    if c.beta2 is None:
        c.beta2 = 0.9 if wgan else 0.999
    if c.diffaugment == "auto":
        c.diffaugment = "color,translation,cutout" if gan and n_images < 2000 else ""
    for name in ("steps", "batch", "size", "log_every", "sample_every", "ckpt_every", "keep"):
        if getattr(c, name) < 1:
            raise ArtforgeError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(c, name)})")
    if c.eval_every < 0 or c.eval_n < 8:
        raise ArtforgeError("--eval-every must be 0 (off) or more, and --eval-n at least 8")
    if c.fit not in ("crop", "pad", "stretch"):
        raise ArtforgeError(f"--fit must be crop, pad or stretch (got {c.fit!r})")
    if c.precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ArtforgeError(f"--precision must be auto, fp32, bf16 or fp16 (got {c.precision!r})")
    return c


def model_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """Keyword arguments for ``create_model`` from a resolved config."""
    kw: dict[str, Any] = {"image_size": cfg.size, "channels": 3, "latent_dim": cfg.latent_dim}
    if cfg.width is not None:
        kw["width"] = cfg.width
    if cfg.spectral_norm:
        kw["spectral_norm"] = True
    if cfg.loss == "wgan-gp" and cfg.model == "dcgan" and not cfg.spectral_norm:
        kw["norm"] = "layer"  # batch norm in a WGAN-GP critic breaks the per-sample penalty
    return kw


def method_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    return {"loss": cfg.loss, "n_critic": cfg.n_critic, "gp_weight": cfg.gp_weight, "r1_gamma": cfg.r1_gamma,
            "diffaugment": cfg.diffaugment, "beta": cfg.beta}
