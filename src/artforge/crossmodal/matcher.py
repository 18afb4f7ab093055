"""The image–text matcher: how well a caption fits a picture, learned on any captioned folder.

Both encoders stay frozen — EfficientNet-Lite0's pooled 1280-d features for pictures (the backbone FID and
the critic use), MiniLM's 384-d sentence embeddings for text — and two small learned projections map them
into one shared space where the cosine says how well they agree.  Trained with the symmetric contrastive
loss of CLIP (Radford et al. 2021, §2.3) at a learned temperature.  Half the time a caption is shortened
(word dropout: people search with a few words), so one caption can appear in a batch in two wordings;
every picture with the same caption counts as a positive, or a one-positive loss would push two pictures
of one caption apart, each toward "its own" wording.

What it is for: ``artforge search FOLDER "a red sun"``, the studio's gallery search, ``--prompt`` on a
model trained without text (best of many samples, then the latent pulled toward the text), and measuring
text-conditioned models.  Saved as ``matcher.safetensors`` with its config in the metadata (no pickle).

Example::

    m = default_matcher()
    scores = m.similarity(pictures, ["orange circles on dark blue", "a letter A"])   # N × 2 cosines
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from artforge.backbones import create_backbone
from artforge.crossmodal.text import TEXT_DIM, embed_texts, embed_unique
from artforge.errors import ArtforgeError
from artforge.evaluate.features import DEFAULT_BACKBONE, DEFAULT_SIZE, extract_features
from artforge.fileio import load_tensors_with_config, save_tensors_with_config

DEFAULT_MATCHER = Path(__file__).resolve().parents[1] / "assets" / "default-matcher"
FILE = "matcher.safetensors"
IMAGE_DIM = 1280  # EfficientNet-Lite0's pooled vector


@dataclass
class MatcherConfig:
    backbone: str = DEFAULT_BACKBONE
    feature_size: int = DEFAULT_SIZE  # pictures are resized to this before the backbone
    embed_dim: int = 256  # the shared space
    hidden: int = 512  # the picture side's hidden layer (0: a linear projection)
    steps: int = 1500
    batch: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    heldout: float = 0.1  # share of pictures kept out of training to measure retrieval
    variants: int = 4  # shortened captions per caption (word dropout): people search with a few words
    seed: int = 0
    trained_on: list = field(default_factory=list)
    n_train: int = 0
    report: dict = field(default_factory=dict)


class Matcher(nn.Module):
    def __init__(self, cfg: MatcherConfig):
        super().__init__()
        self.cfg = cfg
        hidden = cfg.hidden
        self.image_proj = (
            nn.Sequential(nn.Linear(IMAGE_DIM, hidden), nn.GELU(), nn.Linear(hidden, cfg.embed_dim))
            if hidden
            else nn.Linear(IMAGE_DIM, cfg.embed_dim)
        )
        self.text_proj = nn.Linear(TEXT_DIM, cfg.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's initial temperature
        # Feature standardisation, fixed from the training pictures: the pooled features are all positive
        # with very different scales per channel, which a small head learns from poorly.
        self.register_buffer("feat_mean", torch.zeros(IMAGE_DIM))
        self.register_buffer("feat_std", torch.ones(IMAGE_DIM))

    # -- embeddings ----------------------------------------------------------------------------
    def project_features(self, feats: torch.Tensor) -> torch.Tensor:
        """Unit vectors in the shared space for N × 1280 backbone features."""
        return F.normalize(self.image_proj((feats.float() - self.feat_mean) / self.feat_std), dim=1)

    def project_text(self, text_feats: torch.Tensor) -> torch.Tensor:
        """Unit vectors in the shared space for N × 384 sentence embeddings."""
        return F.normalize(self.text_proj(text_feats.float()), dim=1)

    @torch.no_grad()
    def embed_images(self, images: torch.Tensor, cache: bool = True) -> torch.Tensor:
        """Shared-space vectors of pictures (N×3×H×W, uint8 or float in [-1, 1]); features cached by content."""
        feats = extract_features(images, self.cfg.backbone, size=self.cfg.feature_size, cache=cache)
        return self.project_features(feats)

    def embed_images_differentiable(self, images: torch.Tensor) -> torch.Tensor:
        """The same for float pictures in [-1, 1], with gradients back to the pixels (latent optimisation)."""
        net = _backbone(self.cfg.backbone, str(images.device))
        x = F.interpolate(
            images.float(), size=(self.cfg.feature_size,) * 2, mode="bilinear", antialias=True, align_corners=False
        )
        return self.project_features(net.features(x, layers=("pool",), grad=True)["pool"].flatten(1))

    @torch.no_grad()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        return self.project_text(embed_texts(list(texts)))

    @torch.no_grad()
    def similarity(self, images: torch.Tensor, texts: list[str]) -> torch.Tensor:
        """N pictures × M texts cosine agreement, in [-1, 1]."""
        return self.embed_images(images) @ self.embed_texts(texts).T

    # -- files ---------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """``matcher.safetensors`` (weights + config in its metadata: one atomic file) and a readable config.json."""
        directory = Path(directory)
        save_tensors_with_config(directory / FILE, self.state_dict(), asdict(self.cfg))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "Matcher":
        path = Path(directory) / FILE
        if not path.is_file():
            raise ArtforgeError(
                f"{directory} is not a matcher folder (no {FILE}); make one with: "
                "artforge matcher train CAPTIONED_FOLDER --out MATCHER_DIR"
            )
        try:
            config, tensors = load_tensors_with_config(path)
            matcher = cls(MatcherConfig(**config))
            matcher.load_state_dict(tensors)
        except Exception as e:  # noqa: BLE001 — a damaged or foreign file of any kind gets one clear line
            raise ArtforgeError(f"cannot read the matcher in {directory}: {e}") from None
        return matcher.eval().requires_grad_(False)


@functools.lru_cache(maxsize=2)
def _backbone(name: str, device: str):
    return create_backbone(name, device)


@functools.lru_cache(maxsize=4)
def _load_cached(directory: str) -> Matcher:
    return Matcher.load(directory)


def load_matcher(directory: str | Path | None = None) -> Matcher:
    """The matcher in ``directory`` (default: the one shipped with artforge), loaded once per process."""
    directory = Path(directory) if directory else DEFAULT_MATCHER
    return _load_cached(str(directory.resolve()))


# ------------------------------------------------------------------------------------------ training


def contrastive_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """Symmetric cross-entropy of the B × B similarity, every equal-caption pair a positive.

    ``same[i, j]`` is True when pictures i and j carry the same caption; the target of row i spreads evenly
    over its positives (with one caption per picture this is CLIP's loss exactly).
    """
    logits = scale.exp().clamp(max=100) * img @ txt.T
    target = same.float() / same.float().sum(1, keepdim=True)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def retrieval_accuracy(img_emb: torch.Tensor, captions: list[str], text_emb_of: dict[str, torch.Tensor]) -> dict:
    """Top-1 / top-5 accuracy of picking each picture's own caption among all distinct captions given.

    ``text_emb_of`` maps each distinct caption to its shared-space vector.  Chance is 1 / #captions.
    """
    distinct = sorted(text_emb_of)
    table = torch.stack([text_emb_of[c] for c in distinct])
    row_of = {c: i for i, c in enumerate(distinct)}
    truth = torch.tensor([row_of[c] for c in captions])
    ranks = (img_emb @ table.T).argsort(dim=1, descending=True)
    top1 = (ranks[:, 0] == truth).float().mean().item()
    top5 = (ranks[:, :5] == truth[:, None]).any(1).float().mean().item()
    return {"top1": top1, "top5": top5, "chance": 1 / len(distinct), "captions": len(distinct), "n": len(captions)}


def train_matcher(
    images: torch.Tensor,
    captions: list[str],
    cfg: MatcherConfig | None = None,
    log=lambda msg: print(msg, file=sys.stderr),
) -> Matcher:
    """Train a matcher on ``images`` (N×3×H×W uint8) and their ``captions``; the held-out figures go in
    ``matcher.cfg.report``.  Features and sentence embeddings are computed once, then only the two
    projections learn, so training is seconds after the features."""
    cfg = cfg or MatcherConfig()
    keep = [i for i, c in enumerate(captions) if c and c.strip()]
    if len(keep) < 8:
        raise ArtforgeError(
            f"a matcher needs captioned pictures (NAME.txt next to NAME.png); found {len(keep)} of {len(captions)}"
        )
    if len(keep) < len(captions):
        log(f"training on the {len(keep)} captioned pictures of {len(captions)}; the others have no NAME.txt")
    captions = [captions[i].strip() for i in keep]
    log(f"features of {len(keep)} pictures ({cfg.backbone} at {cfg.feature_size} px; cached) ...")
    feats = extract_features(images[keep], cfg.backbone, size=cfg.feature_size)
    distinct = sorted(set(captions))
    log(f"sentence embeddings of {len(distinct)} captions and {cfg.variants} shortened versions of each ...")
    full = embed_unique(captions)
    shortened = embed_unique([v for c in distinct for v in shortened_captions(c, cfg.variants, cfg.seed)])
    row_of = {c: i for i, c in enumerate(distinct)}
    variant_of = shortened.view(len(distinct), cfg.variants, -1)[torch.tensor([row_of[c] for c in captions])]
    gen = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(len(captions), generator=gen)
    n_held = int(len(order) * cfg.heldout) if len(order) >= 50 else 0
    held, train = order[:n_held], order[n_held:]
    caption_id = _ids(captions)

    torch.manual_seed(cfg.seed)
    matcher = Matcher(cfg)
    matcher.feat_mean.copy_(feats[train].mean(0))
    matcher.feat_std.copy_(feats[train].std(0).clamp_min(1e-4))
    opt = torch.optim.AdamW(matcher.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    for step in range(cfg.steps):
        idx = train[torch.randint(len(train), (min(cfg.batch, len(train)),), generator=gen)]
        ids = caption_id[idx]
        text = _some_shortened(full[idx], variant_of[idx], gen)
        loss = contrastive_loss(
            matcher.project_features(feats[idx]), matcher.project_text(text), matcher.logit_scale, ids[:, None] == ids
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == cfg.steps - 1:
            log(f"step {step + 1}/{cfg.steps}: contrastive loss {loss.item():.3f}")
    matcher.eval().requires_grad_(False)
    cfg.n_train = len(train)
    cfg.report = {"loss": round(loss.item(), 4)}
    if n_held:
        with torch.no_grad():
            held_caps = [captions[i] for i in held.tolist()]
            emb = dict(zip(held_caps, matcher.project_text(full[held])))
            cfg.report["heldout"] = retrieval_accuracy(matcher.project_features(feats[held]), held_caps, emb)
    return matcher


def shortened_captions(caption: str, k: int, seed: int = 0) -> list[str]:
    """``k`` shortened versions of ``caption``, each keeping every word with probability ½ (at least one),
    in order: "red circles" must find "concentric red circles on a cream ground" (seeded by the caption)."""
    words = caption.split()
    rng = torch.Generator().manual_seed(seed * 1_000_003 + sum(map(ord, caption)))
    out = []
    for _ in range(k):
        keep = torch.rand(len(words), generator=rng) < 0.5
        if not keep.any():
            keep[torch.randint(len(words), (1,), generator=rng)] = True
        out.append(" ".join(w for w, kept in zip(words, keep.tolist()) if kept))
    return out


def _some_shortened(full: torch.Tensor, variants: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Per row: the full caption half the time, else one of its shortened versions."""
    pick = torch.randint(variants.size(1), (len(full),), generator=gen)
    short = variants[torch.arange(len(full)), pick]
    use_full = (torch.rand(len(full), generator=gen) < 0.5)[:, None]
    return torch.where(use_full, full, short)


def _ids(captions: list[str]) -> torch.Tensor:
    index: dict[str, int] = {}
    return torch.tensor([index.setdefault(c, len(index)) for c in captions])


# ------------------------------------------------------------------------------------------ search


def rank_by_text(matcher: Matcher, images: torch.Tensor, text: str) -> torch.Tensor:
    """Cosine agreement of each picture with ``text`` (N), best first when sorted descending."""
    if not text or not text.strip():
        raise ArtforgeError("say what to look for: the text is empty")
    return matcher.similarity(images, [text.strip()])[:, 0]
