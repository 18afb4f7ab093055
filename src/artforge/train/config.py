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
    # A table, kept aligned by hand: one field per line, its --help text beside it (cli._field_help).
    # fmt: off
    # -- data ------------------------------------------------------------------------------------
    source: str = "builtin:shapes"      # a folder of pictures, or builtin:shapes / builtin:glyphs
    domain_a: str | None = None         # cyclegan: domain A pictures; adain: content pictures (folder or builtin:NAME)
    domain_b: str | None = None         # cyclegan: domain B pictures, unaligned with A; adain: style pictures
    size: int = 64                      # model resolution in pixels (square)
    fit: str = "crop"                   # non-square pictures: crop | pad | stretch
    background: str = "white"           # colour under transparent pixels (and padding)
    max_pixels: int = 89_478_485        # refuse larger pictures before decoding (decompression bombs)
    n_builtin: int = 2000               # how many pictures a builtin: source generates
    # -- model and objective ---------------------------------------------------------------------
    model: str = "auto"                 # a registered family (artforge models); auto: the race's winner for the data
    latent_dim: int | None = None       # None: the family's default (100 for GANs, 128 for the VAE)
    width: int | None = None            # base channel width; None: the family's (fastgan 16, stylegan 32, adain 32)
    loss: str = "auto"                  # GANs: nsgan | hinge | wgan-gp; auto: fastgan hinge, pggan wgan-gp, else nsgan
    n_critic: int | None = None         # D steps per G step; None: 5 for wgan-gp (pggan 1, the paper's), else 1
    gp_weight: float = 10.0             # WGAN-GP λ (Gulrajani et al. use 10)
    r1_gamma: float | None = None       # R1 weight; 0 = off; None: stylegan 2e-4·size²/batch (Karras 2020), else 0
    spectral_norm: bool | None = None   # spectral norm in D (Miyato et al. 2018); None: on for dcgan (not with wgan-gp)
    augment: str = "auto"               # GANs: what D sees: ada | diffaugment | none; auto: by family and data size
    diffaugment: str = "auto"           # DiffAugment policy (--augment diffaugment); auto: color,translation,cutout
    ada_target: float = 0.6             # ADA: target of the overfitting heuristic r_t = E[sign D(real)] (paper: 0.6)
    ada_kimg: float = 100.0             # ADA: thousands of images for p to go 0 -> 1 (paper 500; CPU runs are short)
    mapping_layers: int | None = None   # stylegan: mapping network depth; None: 2 (StyleGAN2-ADA's low-data value)
    style_mixing: float = 0.9           # stylegan: probability of style-mixing regularisation per sample
    pl_weight: float = 2.0              # stylegan: path-length regularisation weight; 0 = off
    grow_kimg: float = 10.0             # pggan: thousands of images per fade-in, and per stable phase after it
    text_cond: bool = False             # dcgan, ddpm: captions (NAME.txt / built-in) condition the model (MiniLM)
    beta: float = 1.0                   # VAE KL weight (1 = the true ELBO)
    prediction: str = "v"               # ddpm: what the UNet predicts: v (Salimans & Ho 2022) | eps (Ho et al. 2020)
    sample_steps: int = 50              # ddpm: DDIM steps per picture for grids, evaluation and generate
    res_blocks: int | None = None       # cyclegan: residual blocks per generator; None: 9 from 256 px, else 6
    cycle_weight: float = 10.0          # cyclegan: cycle-consistency weight λ (the paper uses 10)
    identity: float = 0.5               # cyclegan: identity-loss weight as a fraction of λ (paper 0.5; 0 = off)
    pool_size: int = 50                 # cyclegan: generated images kept for D (Shrivastava et al.; 0 = off)
    encoder: str = "effnet-lite0"       # adain: the frozen encoder (effnet-lite0, vgg19-random, vgg19)
    crop: int | None = None             # adain: random square crops of this size per step; None: size / 2
    style_weight: float = 10.0          # adain: λ of the mean/std style loss
    identity_weight: float = 5.0        # adain: pixel identity loss (Park & Lee 2019); 0 = the paper's objective
    skips: bool = False                 # adain: stride-4/2 encoder stages feed the decoder too (default: the paper's)
    init_weights: str | None = None     # a model export to start the networks from (fine-tuning; new layers: fresh)
    # -- optimisation ----------------------------------------------------------------------------
    steps: int = 2000                   # optimisation steps (one G step = one step for GANs)
    batch: int | None = None            # global batch over DDP processes; None: 32 for dcgan/fastgan on CPU, else 64
    lr: float | None = None             # None: 2e-4 (nsgan/hinge, cyclegan), 1e-4 (wgan-gp, adain), 5e-4 (vae)
    lr_d: float | None = None           # discriminator learning rate; None: same as lr
    beta1: float | None = None          # Adam β1; None: 0.5 (DCGAN), 0.0 (WGAN-GP), 0.9 (VAE, adain)
    beta2: float | None = None          # Adam β2; None: 0.999, 0.9 for WGAN-GP
    lr_decay: bool = False              # learning rates fall linearly to 0 over the second half of --steps
    ema_kimg: float | None = None       # EMA half-life in thousands of images; 0 = off; None: 10 (adain: 0)
    ema_rampup: float = 0.05            # early on, half-life <= this fraction of the images seen so far
    seed: int = 0
    # -- machine ---------------------------------------------------------------------------------
    device: str = "auto"                # auto (cuda > mps > cpu) | cpu | cuda | cuda:1 | mps
    precision: str = "auto"             # auto | fp32 | bf16 | fp16; auto = bf16 where the hardware has it
    channels_last: bool | None = None   # None: on for convolutional nets on CPU and CUDA
    compile: bool = False               # torch.compile the networks (for GPUs; measured slower than eager on CPU)
    sync_batchnorm: bool = True         # under torchrun: batch norm over the global batch (exact data parallelism)
    dist_timeout: float = 120.0         # under torchrun: minutes a process waits for the others (first decode, eval)
    # -- output ----------------------------------------------------------------------------------
    out: str | None = None              # run folder; None: runs/MODEL-YYYYmmdd-HHMMSS
    log_every: int = 10                 # stats.jsonl / TensorBoard scalars
    sample_every: int = 500             # sample grid PNG from fixed latents
    ckpt_every: int = 500               # training state + export
    eval_every: int = 0                 # FID/KID vs the training pictures every N steps (best: RUN/best); 0 = off
    eval_n: int = 500                   # pictures sampled (and real pictures used) per evaluation
    keep: int = 3                       # training states kept
    note: str = ""                      # free text kept in config.yaml (e.g. how the data were made)
    # fmt: on
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


# Options that change the networks, the pictures or their order: a resumed run must keep them
# (a saved data position restored into other pictures, or another order, would silently train differently).
ARCHITECTURE_FIELDS = (
    "source",
    "size",
    "fit",
    "model",
    "latent_dim",
    "width",
    "loss",
    "spectral_norm",
    "batch",
    "domain_a",
    "domain_b",
    "res_blocks",
    "encoder",
    "crop",
    "mapping_layers",
    "prediction",
    "text_cond",
    "skips",
)
DATA_FIELDS = ("seed", "n_builtin", "background", "max_pixels")
KEEP_ON_RESUME = ARCHITECTURE_FIELDS + DATA_FIELDS
DEFAULT_SOURCE = "builtin:shapes"  # TrainConfig.source when the user named none


def check_sources(cfg: TrainConfig, domains: int) -> None:
    """Say clearly when the data flags do not fit the model, before any picture is decoded."""
    two = (cfg.domain_a, cfg.domain_b)
    if domains == 2:
        if not all(two):
            raise ArtforgeError(
                f"--model {cfg.model} learns from two sets of pictures: pass both "
                "--domain-a FOLDER and --domain-b FOLDER (builtin:shapes / builtin:glyphs work too)"
            )
        if cfg.source not in ("", DEFAULT_SOURCE):
            raise ArtforgeError(
                f"--model {cfg.model} trains on --domain-a and --domain-b, not on {cfg.source}; "
                "leave out the positional SOURCE"
            )
    elif any(two):
        raise ArtforgeError(
            f"--domain-a/--domain-b are for two-domain models (--model cyclegan); "
            f"--model {cfg.model} trains on one SOURCE: artforge train FOLDER"
        )


# Methods that train a generator against a discriminator and take the GAN options (loss, R1, augmentation).
GAN_METHODS = ("gan", "stylegan", "fastgan", "pggan")


def resolve(cfg: TrainConfig, family_method: str, n_images: int) -> TrainConfig:
    """Fill every ``None`` / ``"auto"`` field; returns a new config."""
    c = dataclasses.replace(cfg)
    if c.batch is None:  # the trainer chooses by device first (artforge.train.choose); elsewhere 64
        c.batch = DEFAULT_BATCH
    gan = family_method in GAN_METHODS
    if c.loss == "auto":
        c.loss = DEFAULT_LOSSES.get(family_method, "nsgan")
    wgan = gan and c.loss == "wgan-gp"
    cyclegan = family_method == "cyclegan"
    adain = family_method == "adain"
    if cyclegan:
        _resolve_cyclegan(c)
    elif c.res_blocks is not None:
        raise ArtforgeError(f"--res-blocks is for --model cyclegan, not {c.model}")
    if adain:
        _resolve_adain(c)
    if family_method == "fastgan" and c.loss != "hinge":
        raise ArtforgeError(f"fastgan trains with the paper's hinge loss; --loss {c.loss} does not apply")
    if c.grow_kimg <= 0:
        raise ArtforgeError(f"--grow-kimg must be positive (got {c.grow_kimg})")
    if c.text_cond and c.model not in TEXT_MODELS:
        raise ArtforgeError(
            f"--text-cond works with --model {' or '.join(TEXT_MODELS)}; not {c.model}. "
            "Other models follow text through the matcher: artforge generate RUN --prompt TEXT"
        )
    if c.spectral_norm is None:
        # Without it the batch-norm DCGAN critic overpowers G on small sets within a few thousand
        # steps (D loss -> 0, mode collapse; seen twice while training the shipped model).
        # dcgan-seed stays the article's network unless asked; WGAN-GP's penalty already bounds its critic.
        c.spectral_norm = family_method == "gan" and c.model != "dcgan-seed" and not wgan
    diffusion = family_method == "ddpm"
    if diffusion:
        _resolve_diffusion(c)
    elif c.prediction != "v":
        raise ArtforgeError(f"--prediction is for --model ddpm, not {c.model}")
    if c.latent_dim is None and not (cyclegan or adain or diffusion):  # no latent size to choose
        c.latent_dim = LATENT_DIMS.get(family_method, 128)
    if family_method == "stylegan" and c.mapping_layers is None:
        c.mapping_layers = 2
    elif family_method != "stylegan" and c.mapping_layers is not None:
        raise ArtforgeError(f"--mapping-layers is for --model stylegan, not {c.model}")
    if c.r1_gamma is None:
        # StyleGAN2-ADA's heuristic γ = 0.0002·res²/batch (Karras et al. 2020b, appendix D.1).
        c.r1_gamma = 2e-4 * c.size**2 / c.batch if family_method == "stylegan" else 0.0
    if c.ema_kimg is None:
        c.ema_kimg = 0.0 if adain else 10.0
    if c.n_critic is None:
        c.n_critic = 5 if wgan and family_method != "pggan" else 1
    karras = family_method in ("stylegan", "pggan")  # Adam(lr, β1=0, β2=0.99) with equalised learning rate
    if c.lr is None:
        c.lr = KARRAS_LR.get(family_method) or (1e-4 if wgan or adain else (2e-4 if gan or cyclegan else 5e-4))
    if c.lr_d is None:
        c.lr_d = c.lr
    if c.beta1 is None:
        c.beta1 = 0.0 if wgan or karras else (0.5 if gan or cyclegan else 0.9)
    if c.beta2 is None:
        c.beta2 = 0.99 if karras else (0.9 if wgan else 0.999)
    _resolve_augment(c, gan, family_method, n_images)
    for name in ("steps", "batch", "size", "log_every", "sample_every", "ckpt_every", "keep"):
        if getattr(c, name) < 1:
            raise ArtforgeError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(c, name)})")
    if c.ema_kimg < 0:
        raise ArtforgeError(f"--ema-kimg must be 0 (off) or more (got {c.ema_kimg})")
    if c.eval_every < 0 or c.eval_n < 8:
        raise ArtforgeError("--eval-every must be 0 (off) or more, and --eval-n at least 8")
    if c.fit not in ("crop", "pad", "stretch"):
        raise ArtforgeError(f"--fit must be crop, pad or stretch (got {c.fit!r})")
    if c.precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ArtforgeError(f"--precision must be auto, fp32, bf16 or fp16 (got {c.precision!r})")
    return c


DEFAULT_BATCH = 64
TEXT_MODELS = ("dcgan", "ddpm")  # families whose networks take a caption embedding (text_dim)
# Latent sizes by method: DCGAN's 100 (Radford et al.), FastGAN's and our StyleGAN preset's 256, the VAE's 128.
LATENT_DIMS = {"gan": 100, "stylegan": 256, "fastgan": 256, "pggan": 256}
DEFAULT_LOSSES = {"fastgan": "hinge", "pggan": "wgan-gp", "cyclegan": "lsgan"}  # each paper's own
KARRAS_LR = {"stylegan": 2.5e-3, "pggan": 1e-3}  # StyleGAN2-ADA's and PGGAN's Adam rates
AUGMENTS = ("ada", "diffaugment", "none")
DIFFAUGMENT_POLICY = "color,translation,cutout"


def _resolve_augment(c: TrainConfig, gan: bool, family_method: str, n_images: int) -> None:
    """What the discriminator sees: ADA (adaptive), DiffAugment (fixed policy) or the pictures as they are."""
    if c.augment not in ("auto", *AUGMENTS):
        raise ArtforgeError(f"--augment must be auto, {', '.join(AUGMENTS)} (got {c.augment!r})")
    if not gan:
        if c.augment not in ("auto", "none") or c.diffaugment not in ("auto", ""):
            raise ArtforgeError(f"--augment/--diffaugment are for GANs, not --model {c.model}")
        c.augment, c.diffaugment = "none", ""
        return
    if c.augment == "auto":
        if c.diffaugment != "auto":  # a policy given (or a run recorded before --augment existed)
            c.augment = "diffaugment" if c.diffaugment else "none"
        else:
            c.augment = "diffaugment" if n_images < 2000 else "none"
    if c.augment == "diffaugment":
        if c.diffaugment == "auto":
            c.diffaugment = DIFFAUGMENT_POLICY
        if not c.diffaugment:
            raise ArtforgeError("--augment diffaugment needs a policy: --diffaugment color,translation,cutout")
    else:
        c.diffaugment = ""
    if not 0 < c.ada_target < 1 or c.ada_kimg <= 0:
        raise ArtforgeError("--ada-target must be between 0 and 1, and --ada-kimg positive")


def _resolve_diffusion(c: TrainConfig) -> None:
    """The diffusion model's choices: its latent is the starting noise (one value per pixel channel)."""
    from artforge.methods.diffusion import PREDICTIONS, sampling_timesteps

    if c.latent_dim is not None:
        raise ArtforgeError("--latent-dim does not apply to ddpm: its latent is the starting noise, one per pixel")
    if c.prediction not in PREDICTIONS:
        raise ArtforgeError(f"--prediction must be {' or '.join(PREDICTIONS)} (got {c.prediction!r})")
    sampling_timesteps(c.sample_steps)


def _resolve_cyclegan(c: TrainConfig) -> None:
    """CycleGAN's fixed choices and limits (Zhu et al. 2017, §4 and appendix 7)."""
    from artforge.models.cyclegan import MIN_SIZE, default_res_blocks

    c.source = ""  # the data are domain_a and domain_b; recording the unused default would mislead
    if c.loss != "lsgan":
        raise ArtforgeError(f"cyclegan trains with the paper's least-squares GAN loss; --loss {c.loss} does not apply")
    if c.size % 4 or c.size < MIN_SIZE:
        raise ArtforgeError(f"cyclegan needs --size a multiple of 4 and at least {MIN_SIZE} (got {c.size})")
    if c.res_blocks is None:
        c.res_blocks = default_res_blocks(c.size)
    if c.res_blocks < 0 or c.pool_size < 0 or c.cycle_weight < 0 or c.identity < 0:
        raise ArtforgeError("--res-blocks, --pool-size, --cycle-weight and --identity must not be negative")
    if c.eval_every:
        raise ArtforgeError("--eval-every (FID of samples) does not apply to cyclegan yet; leave it at 0")


def _resolve_adain(c: TrainConfig) -> None:
    """The AdaIN decoder's training choices (Huang & Belongie 2017, §6.2; artforge.methods.adain)."""
    from artforge.models.adain import encoder_spec

    c.source = ""  # content and style are domain_a and domain_b
    encoder_spec(c.encoder)  # a clear error for an unknown encoder
    if c.crop is None:
        c.crop = c.size // 2  # the paper: 256-px crops of 512-px pictures
    if not 16 <= c.crop <= c.size:
        raise ArtforgeError(f"--crop must be between 16 and --size ({c.size}), got {c.crop}")
    if c.style_weight < 0 or c.identity_weight < 0:
        raise ArtforgeError("--style-weight and --identity-weight must not be negative")
    if c.eval_every:
        raise ArtforgeError("--eval-every (FID of samples) does not apply to adain; leave it at 0")


def model_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """Keyword arguments for ``create_model`` from a resolved config."""
    width = {"width": cfg.width} if cfg.width is not None else {}
    if cfg.model == "adain":  # a decoder for a frozen encoder: no picture size, no latent
        return {"encoder": cfg.encoder, "skips": cfg.skips, **width}
    kw: dict[str, Any] = {"image_size": cfg.size, "channels": 3, "latent_dim": cfg.latent_dim, **width}
    if cfg.spectral_norm:
        kw["spectral_norm"] = True
    if cfg.loss == "wgan-gp" and cfg.model == "dcgan" and not cfg.spectral_norm:
        kw["norm"] = "layer"  # batch norm in a WGAN-GP critic breaks the per-sample penalty
    if cfg.res_blocks is not None:
        kw["res_blocks"] = cfg.res_blocks
    if cfg.mapping_layers is not None:
        kw["mapping_layers"] = cfg.mapping_layers
    if cfg.text_cond:
        from artforge.crossmodal.text import TEXT_DIM

        kw["text_dim"] = TEXT_DIM
    return kw


def method_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    from artforge.models import get_family

    method = get_family(cfg.model).method
    if method == "cyclegan":
        return {
            "loss": cfg.loss,
            "cycle_weight": cfg.cycle_weight,
            "identity": cfg.identity,
            "pool_size": cfg.pool_size,
        }
    if method == "ddpm":
        return {"prediction": cfg.prediction, "sample_steps": cfg.sample_steps}
    if method == "adain":
        return {
            "encoder": cfg.encoder,
            "crop": cfg.crop,
            "style_weight": cfg.style_weight,
            "identity_weight": cfg.identity_weight,
        }
    return {
        "loss": cfg.loss,
        "n_critic": cfg.n_critic,
        "gp_weight": cfg.gp_weight,
        "r1_gamma": cfg.r1_gamma,
        "augment": cfg.augment,
        "diffaugment": cfg.diffaugment,
        "ada_target": cfg.ada_target,
        "ada_kimg": cfg.ada_kimg,
        "style_mixing": cfg.style_mixing,
        "pl_weight": cfg.pl_weight,
        "grow_kimg": cfg.grow_kimg,
        "batch": cfg.batch,
        "beta": cfg.beta,
    }
