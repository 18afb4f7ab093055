"""A critic card: what a critic favours, measured — so a person can see its bias.

On a set of pictures (default: samples of the shipped model and built-in paintings and shapes), the
Spearman correlation of the critic's score with each interpretable measure (colourfulness, contrast,
sharpness, symmetry, warmth of hue, saturation, entropy, noise), and the measure's mean among the
critic's top and bottom quarter.  A critic a person has rated with shows two columns: its general
judgement (the prior) and the person's head — what the ratings changed.

Example::

    card = critic_card(load_critic(), card_pictures())
    print(format_card(card))
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from artforge.evaluate.critic import LOAD_SIZE, Critic, picture_inputs, spearman
from artforge.evaluate.measures import CARD_MEASURES, compute_measures
from artforge.fileio import atomic_write_bytes

STRONG = 0.3  # |Spearman| from which the card calls a preference out in words


def card_pictures(n: int = 192, seed: int = 0) -> tuple[torch.Tensor, str]:
    """``n`` pictures of several kinds (uint8, at the critic's load size): half samples of the shipped model,
    a quarter built-in paintings, a quarter built-in shapes; and a description of them."""
    from artforge.data import open_source
    from artforge.generate import decode_all, load_model
    from artforge.pictures import to_uint8

    model = load_model("default")
    samples = decode_all(model, model.latents(n // 2, torch.Generator().manual_seed(seed)), LOAD_SIZE)
    parts = [torch.from_numpy(to_uint8(samples)).permute(0, 3, 1, 2)]
    for source in ("builtin:paintings", "builtin:shapes"):
        parts.append(open_source(source, LOAD_SIZE, n_builtin=n // 4, seed=seed, progress=False).images)
    what = f"{n // 2} samples of the shipped model, {n // 4} built-in paintings, {n // 4} built-in shapes"
    return torch.cat(parts), what


def critic_card(critic: Critic, images: torch.Tensor, pictures: str = "") -> dict:
    """Spearman of the critic's score(s) with every card measure over ``images`` (uint8 N×3×H×W)."""
    x = picture_inputs(images, critic.cfg)
    heads = {"score": critic.score_inputs(x)}
    if critic.cfg.n_ratings > 0:
        heads = {"general": critic.general_score_inputs(x), "yours": heads["score"]}
    measures = compute_measures(images, names=CARD_MEASURES)
    quarter = max(1, len(images) // 4)
    card = {"pictures": pictures, "count": len(images), "ratings": critic.cfg.n_ratings, "heads": list(heads)}
    rows = {}
    for name, values in measures.items():
        row = {}
        for head, scores in heads.items():
            order = scores.argsort(descending=True)
            row[head] = {
                "spearman": spearman(scores, values),
                "top_quarter_mean": float(values[order[:quarter]].mean()),
                "bottom_quarter_mean": float(values[order[-quarter:]].mean()),
            }
        rows[name] = row
    card["measures"] = rows
    return card


def favours(card: dict, head: str) -> list[str]:
    """Plain-words preferences of one head: the measures it correlates with at |ρ| ≥ STRONG, strongest first."""
    items = sorted(card["measures"].items(), key=lambda kv: -abs(kv[1][head]["spearman"]))
    return [
        f"{'more' if row[head]['spearman'] > 0 else 'less'} {name} (ρ {row[head]['spearman']:+.2f})"
        for name, row in items
        if abs(row[head]["spearman"]) >= STRONG
    ]


def format_card(card: dict) -> str:
    heads = card["heads"]
    lines = [
        f"critic card — {card['count']} pictures ({card['pictures']}); {card['ratings']} personal ratings",
        "Spearman of the score with each measure (+ = the critic prefers more of it):",
        f"  {'measure':14s}" + "".join(f"{h:>10s}" for h in heads),
    ]
    for name, row in card["measures"].items():
        lines.append(f"  {name:14s}" + "".join(f"{row[h]['spearman']:+10.2f}" for h in heads))
    for head in heads:
        said = favours(card, head)
        lines.append(f"{head}: favours " + (", ".join(said) if said else f"nothing measured here (all |ρ| < {STRONG})"))
    return "\n".join(lines)


def write_card(card: dict, out: Path) -> tuple[Path, Path]:
    """``card.json`` (every figure) and ``card.md`` (the table and the plain-words line) in ``out``."""
    out = Path(out)
    atomic_write_bytes(out / "card.json", (json.dumps(card, indent=1) + "\n").encode())
    text = "# Critic card\n\n```\n" + format_card(card) + "\n```\n"
    atomic_write_bytes(out / "card.md", text.encode())
    return out / "card.json", out / "card.md"
