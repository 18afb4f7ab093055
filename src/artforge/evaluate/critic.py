"""The critic: pretrained features -> a score from 0 to 10 and a tier (low / mid / high).

Inputs per picture: the pooled features of a shared backbone (default ``effnet-lite0``)
reduced by PCA, plus the interpretable measures of :mod:`artforge.evaluate.measures`.
The head is ridge regression kept as its sufficient statistics (A = ZᵀZ + λI, b = Zᵀy): the
critic's general judgement w₀ = A⁻¹b (trained on graded pictures: technical condition).

A person's ratings make it *their* critic: their own statistics P = Σ zzᵀ, q = Σ z·y, Σy², n are
kept beside A and b, and their head is the posterior mean of Bayesian linear regression with the
general head as the prior's mean::

    w = (P + Λ)⁻¹ (q + Λ w₀),   Λ = diag(τ_features, τ_measures, τ_bias)

τ_features (the backbone's PCA scores) and τ_measures (the interpretable measures) are chosen by
the evidence (marginal likelihood) of the person's own ratings over a grid, computed from the sums
alone; the bias is almost free (a person's scale is their own).  So the prior's weight shrinks as
ratings accumulate — P grows with n while Λ is set by how well the ratings are explained — and
where the ratings say nothing (a direction no rated picture varies along, e.g. blur) the general
judgement stays.  Learning stays exact and incremental: a rating adds its row to the sums (a
negative weight takes it back), never a retrain, and the result equals refitting on all of them.

Saved as ``critic.safetensors`` with its config in the file's metadata (no pickle).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from artforge.backbones import create_backbone
from artforge.errors import ArtforgeError
from artforge.evaluate.features import features_at_size
from artforge.evaluate.measures import MEASURES, compute_measures
from artforge.fileio import load_tensors_with_config, save_tensors_with_config

TIERS = ("low", "mid", "high")
TIER_SCORES = {"low": 5 / 3, "mid": 5.0, "high": 25 / 3}  # centres of the thirds of 0–10
LOAD_SIZE = 256  # pictures are read at this size; the backbone sees them resized to ``feature_size``
_LOG_MEASURES = {"sharpness", "colorfulness", "noise"}  # heavy-tailed: compare on a log scale


def tier_of(score: float) -> str:
    return "low" if score < 10 / 3 else "high" if score >= 20 / 3 else "mid"


@dataclass
class CriticConfig:
    backbone: str = "effnet-lite0"
    layers: tuple = ("stage2", "stage3", "stage4", "stage5", "pool")  # taps; all but pool give mean & std
    feature_size: int = 224
    components: int = 64  # PCA components kept from the backbone features
    use_measures: bool = True
    ridge: float = 10.0  # λ of the ridge head, chosen by cross-validation in fit()
    rating_weight: float = 20.0  # legacy (critics before the personal head merged ratings into A, b this many times)
    n_train: int = 0
    n_ratings: int = 0
    trained_on: str = ""
    cv: dict = field(default_factory=dict)
    prior: dict = field(default_factory=dict)  # the personal head's τ_features, τ_measures (chosen by evidence)


PRIOR_GRID = tuple(10.0 ** (k / 2) for k in range(-2, 9))  # τ candidates: 0.1 … 10⁴
BIAS_PRIOR = 1e-3  # the person's own mean rating is theirs: almost no pull toward the general head's bias
TECHNICAL_WEIGHT = 10.0  # μ per rating: how firmly a person's head keeps the general verdict on degradations
TECHNICAL_FLOOR = 10  # … counted as at least this many ratings, so the first ones cannot overturn it


def picture_inputs(images: torch.Tensor, cfg: CriticConfig) -> torch.Tensor:
    """Raw per-picture inputs: backbone features, then the measures (log scale where heavy-tailed)."""
    feats = backbone_inputs(images, cfg)
    if not cfg.use_measures:
        return feats
    measures = compute_measures(images)
    cols = [measures[m].double().clamp_min(0).log1p() if m in _LOG_MEASURES else measures[m].double() for m in MEASURES]
    return torch.cat([feats, torch.stack(cols, 1)], 1)


def backbone_inputs(images: torch.Tensor, cfg: CriticConfig, batch_size: int = 32) -> torch.Tensor:
    """Per-channel mean and standard deviation of the intermediate taps, plus the pooled vector.

    The early taps' statistics are what tell sharp from blurred, clean from noisy or blocky;
    the pooled vector says what the picture shows.
    """
    net = create_backbone(cfg.backbone)
    rows = []
    for taps in features_at_size(net, images, cfg.feature_size, tuple(cfg.layers), batch_size):
        parts = []
        for name in cfg.layers:
            t = taps[name].float()
            parts += [t.flatten(1)] if t.dim() == 2 else [t.mean((2, 3)), t.std((2, 3))]
        rows.append(torch.cat(parts, 1))
    return torch.cat(rows).double()


class Critic:
    """Standardise -> PCA (backbone part) -> ridge head with an exact online update."""

    def __init__(self, cfg: CriticConfig, tensors: dict[str, torch.Tensor]):
        self.cfg = cfg
        self.t = {k: v.double() for k, v in tensors.items()}
        self._ensure_personal()
        self._solve()

    def _ensure_personal(self) -> None:
        """The person's sums (zero for a critic nobody has rated with, or one saved before they existed)."""
        p = self.t["A"].size(0)
        self.t.setdefault("P", torch.zeros(p, p, dtype=torch.float64))
        self.t.setdefault("q", torch.zeros(p, dtype=torch.float64))
        self.t.setdefault("yy", torch.zeros((), dtype=torch.float64))
        self.t.setdefault("n", torch.zeros((), dtype=torch.float64))

    # ------------------------------------------------------------------ fitting

    @classmethod
    def fit_inputs(cls, x: torch.Tensor, scores: torch.Tensor, cfg: CriticConfig) -> "Critic":
        """Fit on raw inputs ``x`` (from :func:`picture_inputs`) and scores in [0, 10]."""
        n_feat = x.size(1) - (len(MEASURES) if cfg.use_measures else 0)
        mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
        xs = (x - mean) / std
        k = max(1, min(cfg.components, x.size(0) - 1, n_feat))
        # right singular vectors of the standardised backbone part = principal axes
        _, s, vh = torch.linalg.svd(xs[:, :n_feat], full_matrices=False)
        tensors = {
            "mean": mean,
            "std": std,
            "pca": vh[:k].T.contiguous(),
            "pca_scale": (s[:k] / math.sqrt(max(1, x.size(0) - 1))).clamp_min(1e-6),
        }
        critic = cls.__new__(cls)
        critic.cfg, critic.t = cfg, tensors
        z = critic._design(x)
        tensors["A"] = z.T @ z + cfg.ridge * _ridge_diag(z.size(1))
        tensors["b"] = z.T @ scores.double()
        critic._ensure_personal()
        critic._solve()
        cfg.n_train = x.size(0)
        return critic

    def _design(self, x: torch.Tensor) -> torch.Tensor:
        """Raw inputs -> the head's inputs: whitened PCA scores, standardised measures, a bias 1."""
        xs = (x.double() - self.t["mean"]) / self.t["std"]
        k_in = self.t["pca"].size(0)
        parts = [xs[:, :k_in] @ self.t["pca"] / self.t["pca_scale"]]
        if self.cfg.use_measures:
            parts.append(xs[:, k_in:])
        parts.append(torch.ones(x.size(0), 1, dtype=torch.float64))
        return torch.cat(parts, 1)

    def _solve(self) -> None:
        self.general = torch.linalg.solve(self.t["A"], self.t["b"])
        if float(self.t["n"]) < 1:
            self.weights = self.general
            return
        best = max(((tf, tm) for tf in PRIOR_GRID for tm in PRIOR_GRID), key=lambda t: self._evidence(*self._prior(*t)))
        precision, mean = self._prior(*best)
        self.weights = torch.linalg.solve(self.t["P"] + precision, self.t["q"] + precision @ mean)
        self.cfg.prior = {"tau_features": best[0], "tau_measures": best[1]}

    def _prior(self, tau_features: float, tau_measures: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The prior's precision Π and mean m = w₀.  Π = diag(τ_features on the PCA scores, τ_measures on the
        measures, BIAS_PRIOR on the bias) + μ·n·D, where D (``technical``, :func:`technical_directions`) holds
        the directions in which a fault (blur, noise, JPEG, pixels) moves a picture: along them the person's
        head is held to the general head's verdict, however many ratings pull elsewhere."""
        k = self.t["pca"].size(1)
        lam = torch.full((self.t["A"].size(0),), tau_measures, dtype=torch.float64)
        lam[:k], lam[-1] = tau_features, BIAS_PRIOR
        if "technical" not in self.t:
            return torch.diag(lam), self.general
        technical = TECHNICAL_WEIGHT * max(float(self.t["n"]), TECHNICAL_FLOOR) * self.t["technical"]
        return torch.diag(lam) + technical, self.general  # μ·n: the ratings' evidence never outweighs it

    def _evidence(self, precision: torch.Tensor, mean: torch.Tensor) -> float:
        """Log marginal likelihood of the person's ratings under w ~ N(m, σ²Π⁻¹), σ² profiled out — from the
        sums alone: y − Zm has covariance σ²(I + ZΠ⁻¹Zᵀ); by Woodbury and det(I + ZΠ⁻¹Zᵀ) = det(P + Π)/det Π."""
        P, q, n = self.t["P"], self.t["q"], float(self.t["n"])
        u = q - P @ mean
        rr = float(self.t["yy"] - 2 * mean @ q + mean @ P @ mean)
        post = P + precision
        fit = max(rr - float(u @ torch.linalg.solve(post, u)), 1e-9 * max(rr, 1e-9))
        logdets = float(torch.linalg.slogdet(post)[1]) - float(torch.linalg.slogdet(precision)[1])
        return -0.5 * n * math.log(fit / n) - 0.5 * logdets

    # ------------------------------------------------------------------ use

    def score_inputs(self, x: torch.Tensor) -> torch.Tensor:
        return (self._design(x) @ self.weights).clamp(0, 10).float()

    def score(self, images: torch.Tensor) -> torch.Tensor:
        """Scores 0–10 for N pictures (uint8 or [-1, 1])."""
        return self.score_inputs(picture_inputs(images, self.cfg))

    def update(self, images: torch.Tensor, scores, weight: float | None = None) -> None:
        """Learn from new ratings (scores 0–10) without retraining: add them to the head's statistics."""
        scores = torch.as_tensor(scores, dtype=torch.float64).flatten()
        if scores.numel() != images.size(0):
            raise ArtforgeError(f"{images.size(0)} pictures but {scores.numel()} ratings")
        if ((scores < 0) | (scores > 10)).any():
            raise ArtforgeError("ratings are scores from 0 to 10")
        self.update_inputs(picture_inputs(images, self.cfg), scores, weight)

    def update_inputs(self, x: torch.Tensor, scores, weight: float = 1.0) -> None:
        """:meth:`update` for raw inputs (from :func:`picture_inputs`): the ratings join the person's sums.
        ``weight`` -1 takes back ratings learnt before (exactly: the statistics are sums), so a person can
        change their mind."""
        scores = torch.as_tensor(scores, dtype=torch.float64).flatten()
        z = self._design(x)
        w = 1.0 if weight is None else float(weight)
        self.t["P"] = self.t["P"] + w * z.T @ z
        self.t["q"] = self.t["q"] + w * z.T @ scores
        self.t["yy"] = self.t["yy"] + w * scores.square().sum()
        self.t["n"] = self.t["n"] + w * scores.numel()
        self.cfg.n_ratings += int(math.copysign(scores.numel(), w))
        self._solve()

    def copy(self) -> "Critic":
        """An independent copy (its own config and sums): to learn or score while the original keeps changing."""
        return Critic(replace(self.cfg), dict(self.t))

    def pca_scores(self, x: torch.Tensor) -> torch.Tensor:
        """The whitened PCA scores of the backbone part of raw inputs: where "these pictures look alike" is
        measured (the taste search's diversity guard)."""
        return self._design(x)[:, : self.t["pca"].size(1)].float()

    def general_score_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The score before any personal rating (the prior's judgement)."""
        return (self._design(x) @ self.general).clamp(0, 10).float()

    # ------------------------------------------------------------------ files

    def save(self, directory: str | Path) -> Path:
        """Write ``critic.safetensors`` (tensors + config in its metadata: one atomic file) and a
        readable ``config.json`` copy."""
        directory = Path(directory)
        save_tensors_with_config(directory / "critic.safetensors", self.t, asdict(self.cfg))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "Critic":
        path = Path(directory) / "critic.safetensors"
        if not path.is_file():
            raise ArtforgeError(
                f"{directory} is not a critic folder (no critic.safetensors); "
                "make one with: artforge critic train DIR_OR_CSV --out CRITIC_DIR"
            )
        try:
            config, tensors = load_tensors_with_config(path)
            cfg = CriticConfig(**config)
        except Exception as e:  # noqa: BLE001 — a damaged file of any kind gets one clear line
            raise ArtforgeError(f"cannot read the critic in {directory}: {e}") from None
        return cls(cfg, tensors)


TECHNICAL_FAULTS = ("blur", "jpeg", "noise", "pixelate")  # faults whatever the taste (low contrast or pale
# colours can be a person's taste, so "contrast" and "washout" are left to the ratings)


def technical_directions(critic: "Critic", originals: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """D = mean of d·dᵀ over d = z(degraded) − z(original), every TECHNICAL_FAULTS kind at its mild and heavy
    strength, for ``originals`` (uint8 N×3×H×W): the head-input directions along which pictures get worse.
    Stored as the critic's ``technical`` tensor; a person's head is held to the general head along them."""
    import numpy as np

    from artforge.evaluate.critic_data import HEAVY, MILD, degrade

    rng = np.random.default_rng(seed)
    pictures = originals.permute(0, 2, 3, 1).numpy()
    degraded = [
        torch.from_numpy(np.array(degrade(p, kind, table[kind], rng), dtype=np.uint8)).permute(2, 0, 1)
        for p in pictures
        for table in (MILD, HEAVY)
        for kind in TECHNICAL_FAULTS
    ]
    per = 2 * len(TECHNICAL_FAULTS)
    z_orig = critic._design(picture_inputs(originals, critic.cfg))
    z_deg = critic._design(picture_inputs(torch.stack(degraded), critic.cfg))
    d = z_deg - z_orig.repeat_interleave(per, 0)
    return d.T @ d / len(d)


def technical_originals(n: int = 48, seed: int = 0) -> torch.Tensor:
    """Built-in pictures (shapes, paintings, glyphs) the technical directions are measured on."""
    from artforge.data import open_source

    kinds = (("shapes", n // 3), ("paintings", n // 3), ("glyphs", n - 2 * (n // 3)))
    return torch.cat(
        [open_source(f"builtin:{k}", LOAD_SIZE, n_builtin=m, seed=seed, progress=False).images for k, m in kinds]
    )


def _ridge_diag(p: int) -> torch.Tensor:
    diag = torch.ones(p, dtype=torch.float64)
    diag[-1] = 0  # the bias is not shrunk
    return torch.diag(diag)


# ---------------------------------------------------------------------- validation


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's ρ with average ranks for ties (the tier labels are full of ties)."""
    ra, rb = _ranks(a.double()), _ranks(b.double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = (ra.square().sum() * rb.square().sum()).sqrt()
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


def _ranks(x: torch.Tensor) -> torch.Tensor:
    order = x.argsort()
    ranks = torch.empty_like(x)
    ranks[order] = torch.arange(len(x), dtype=torch.float64)
    for value in x.unique():  # average the ranks of tied values
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def tier_accuracy(predicted: torch.Tensor, truth: torch.Tensor) -> float:
    return float(sum(tier_of(float(p)) == tier_of(float(t)) for p, t in zip(predicted, truth)) / len(truth))


def fold_ids(n: int, folds: int, groups: list | None = None, seed: int = 0) -> torch.Tensor:
    """Fold of each picture; pictures of one group (an original and its degradations) share a fold."""
    keys = list(groups) if groups is not None else list(range(n))
    unique = sorted(set(keys), key=str)
    perm = torch.randperm(len(unique), generator=torch.Generator().manual_seed(seed)).tolist()
    fold_of = {unique[i]: rank % folds for rank, i in enumerate(perm)}
    return torch.tensor([fold_of[k] for k in keys])


def cross_validate(
    x: torch.Tensor, scores: torch.Tensor, cfg: CriticConfig, folds: int = 5, groups: list | None = None
) -> dict:
    """k-fold held-out predictions -> Spearman ρ, tier accuracy and RMSE."""
    ids = fold_ids(x.size(0), folds, groups)
    predicted = torch.zeros(x.size(0))
    for f in range(folds):
        held = ids == f
        if held.all() or not held.any():
            continue
        fitted = Critic.fit_inputs(x[~held], scores[~held], CriticConfig(**{**asdict(cfg), "cv": {}}))
        predicted[held] = fitted.score_inputs(x[held])
    return {
        "folds": folds,
        "spearman": spearman(predicted, scores),
        "tier_accuracy": tier_accuracy(predicted, scores),
        "rmse": float((predicted.double() - scores.double()).square().mean().sqrt()),
    }


def train_critic(
    images: torch.Tensor,
    scores: torch.Tensor,
    cfg: CriticConfig | None = None,
    folds: int = 5,
    groups: list | None = None,
    ridges=(1.0, 10.0, 100.0, 1000.0),
    components=(8, 32, 128),
    log=print,
) -> Critic:
    """Choose PCA components and λ by k-fold CV Spearman, record the CV figures, fit on everything.

    Few ratings need few components (a critic from 50 pictures overfits 128 of them); the
    grid lets the data say so.
    """
    cfg = cfg or CriticConfig()
    return train_critic_on_inputs(picture_inputs(images, cfg), scores, cfg, folds, groups, ridges, components, log)


def train_critic_on_inputs(
    x: torch.Tensor,
    scores: torch.Tensor,
    cfg: CriticConfig,
    folds: int = 5,
    groups: list | None = None,
    ridges=(1.0, 10.0, 100.0, 1000.0),
    components=(8, 32, 128),
    log=print,
) -> Critic:
    """:func:`train_critic` on inputs already computed by :func:`picture_inputs`."""
    if x.size(0) < 2 * folds:
        raise ArtforgeError(
            f"a critic needs at least {2 * folds} rated pictures for {folds}-fold validation; got {x.size(0)}"
        )
    if float(scores.max() - scores.min()) == 0:
        raise ArtforgeError("every picture has the same rating; the critic needs examples of different quality")
    usable = sorted({min(k, max(2, x.size(0) // 2)) for k in components})
    best = None
    for k in usable:
        for lam in ridges:
            result = cross_validate(
                x, scores, CriticConfig(**{**asdict(cfg), "ridge": lam, "components": k}), folds, groups
            )
            log(
                f"{k} components, ridge λ={lam:g}: {folds}-fold Spearman {result['spearman']:.3f}, "
                f"tier accuracy {result['tier_accuracy']:.3f}, RMSE {result['rmse']:.2f}"
            )
            if best is None or result["spearman"] > best[2]["spearman"]:
                best = (k, lam, result)
    cfg.components, cfg.ridge, cfg.cv = best[0], best[1], {**best[2], "components": best[0], "ridge": best[1]}
    return Critic.fit_inputs(x, scores, cfg)
