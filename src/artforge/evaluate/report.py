"""``artforge report RUN_DIR``: one HTML page about a training run.

Loss and metric curves from ``stats.jsonl`` (matplotlib, Agg — no display needed), the
sample grids in step order, the run's config, and — from ``samples`` pictures drawn from
the exported model — a memorisation check against the training pictures (closest pairs)
and the critic's score distribution.  Everything is written inside ``RUN_DIR/report/``.
"""

from __future__ import annotations

import html
import io
import json
import os
from pathlib import Path

import torch
import yaml

from artforge.errors import ArtforgeError
from artforge.fileio import atomic_write_bytes


def _rows(run: Path) -> list[dict]:
    rows = []
    for line in (run / "stats.jsonl").read_text().splitlines() if (run / "stats.jsonl").is_file() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a half-written last line from an interrupted run
    return rows


def _save_figure(fig, path: Path) -> None:
    """A matplotlib figure as a PNG, rendered in memory and written atomically (never half a PNG on disk)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())


def _plot(rows: list[dict], keys: list[str], title: str, path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in keys if any(k in r for r in rows)]
    if not keys:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    for key in keys:
        pts = [(r["step"], r[key]) for r in rows if key in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=key, marker="." if len(pts) < 30 else None)
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)
    return path


def _samples(run: Path, n: int) -> torch.Tensor | None:
    """``n`` pictures from the run's exported model (fixed seed), or None for models that don't sample."""
    from artforge.generate import load_model

    if n <= 0 or not (run / "model" / "config.json").is_file():
        return None
    model = load_model(run / "model")
    try:
        return model.sample(n, generator=torch.Generator().manual_seed(0))
    except ArtforgeError:
        return None  # e.g. a translation model: nothing to sample from noise


def _memorization_section(run: Path, out: Path, fake: torch.Tensor, max_real: int) -> list[str]:
    from artforge.data import open_source
    from artforge.evaluate.compare import memorization
    from artforge.evaluate.features import extract_features

    cfg = yaml.safe_load((run / "config.yaml").read_text())
    if not cfg.get("source"):
        return []
    try:
        real = open_source(
            cfg["source"],
            fake.size(-1),
            n_builtin=cfg.get("n_builtin", 2000),
            seed=cfg.get("seed", 0),
            progress=False,
            warn=lambda _: None,
        ).images
    except ArtforgeError as e:
        return [f"<h2>Memorisation</h2><p>training pictures unavailable: {html.escape(str(e))}</p>"]
    if len(real) > max_real:  # bound the time; a random subset still finds verbatim copies of itself only
        real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:max_real]]
    result = memorization(
        fake,
        real,
        extract_features(fake, cache=False),
        extract_features(real),
        pairs_png=out / "memorization-pairs.png",
    )
    flagged = result["fraction_flagged"]
    return [
        f"<h2>Memorisation</h2><p>{len(fake)} samples vs {len(real)} training pictures: "
        f"<b>{flagged:.1%}</b> flagged as likely copies (nearest training picture closer than "
        f"{result['threshold']} × the training set's own nearest-neighbour distance, in feature or pixel "
        "space). The closest pairs, sample left, training picture right:</p>"
        '<img src="memorization-pairs.png" width="256">'
    ]


def _critic_section(out: Path, fake: torch.Tensor) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from artforge.evaluate.critic import TIERS, tier_of
    from artforge.evaluate.curate import critic_dir, load_critic

    scores = load_critic().score(fake)
    tiers = [tier_of(float(s)) for s in scores]
    fig, ax = plt.subplots(figsize=(7, 2.8), dpi=100)
    ax.hist(scores.numpy(), bins=20, range=(0, 10), color="#557")
    for edge in (10 / 3, 20 / 3):
        ax.axvline(edge, color="#999", ls="--", lw=1)
    ax.set_xlabel("critic score (low | mid | high)")
    ax.set_title(f"critic scores of {len(fake)} samples")
    fig.tight_layout()
    _save_figure(fig, out / "critic-scores.png")
    plt.close(fig)
    counts = ", ".join(f"{tiers.count(t)} {t}" for t in reversed(TIERS))
    return [
        f"<h2>Critic</h2><p>mean score {float(scores.mean()):.2f}; {counts} "
        f"(critic: {html.escape(str(critic_dir()))})</p>",
        '<img src="critic-scores.png">',
    ]


def write_report(
    run_dir: str | Path, samples: int = 64, critic: bool = True, memorization: bool = True, max_real: int = 2000
) -> Path:
    """Write ``RUN_DIR/report/index.html`` and return its path.

    ``samples`` pictures from the exported model feed the memorisation check (against at most
    ``max_real`` training pictures) and the critic's score histogram; 0 skips both.
    """
    run = Path(run_dir)
    if not (run / "config.yaml").is_file():
        raise ArtforgeError(f"{run} is not a run folder (no config.yaml)")
    out = run / "report"
    out.mkdir(parents=True, exist_ok=True)
    rows = _rows(run)
    loss_keys = sorted({k for r in rows for k in r if k.endswith("/loss")})
    metric_keys = sorted({k for r in rows for k in r if k.startswith("eval/") and not k.endswith("_std")})
    plots = [
        p
        for p in (
            _plot(rows, loss_keys, "losses", out / "losses.png"),
            _plot(rows, metric_keys, "evaluation", out / "metrics.png"),
            _plot(rows, ["images_per_s"], "speed (images/s)", out / "speed.png"),
        )
        if p
    ]
    grids = sorted((run / "samples").glob("step-*.png"))
    fake = _samples(run, samples) if (critic or memorization) else None
    extra = []
    if fake is not None and memorization:
        extra += _memorization_section(run, out, fake, max_real)
    if fake is not None and critic:
        extra += _critic_section(out, fake)
    rel = lambda p: html.escape(Path(os.path.relpath(p, out)).as_posix())  # noqa: E731  (links relative to the page)
    body = ["<h1>artforge run report</h1>", f"<p>{html.escape(str(run.resolve()))}</p>"]
    body += [f'<img src="{rel(p)}">' for p in plots]
    if rows:
        last = rows[-1]
        body.append("<h2>Last row of stats.jsonl</h2><pre>" + html.escape(json.dumps(last, indent=1)) + "</pre>")
    if grids:
        body.append("<h2>Samples from fixed latents</h2>")
        body += [
            f'<figure><img src="{rel(g)}" width="384"><figcaption>{html.escape(g.stem)}</figcaption></figure>'
            for g in grids[-6:]
        ]
    body += extra
    body.append("<h2>Config</h2><pre>" + html.escape((run / "config.yaml").read_text()) + "</pre>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>artforge report</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "figure{display:inline-block;margin:0 1em 1em 0} pre{background:#f4f4f4;padding:.6em}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    atomic_write_bytes(out / "index.html", page.encode())
    return out / "index.html"
