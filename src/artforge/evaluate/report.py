"""``artforge report RUN_DIR``: one HTML page about a training run.

Loss and metric curves from ``stats.jsonl`` (matplotlib, Agg — no display needed), the
sample grids in step order, the run's config, and the memorisation pairs when an
evaluation wrote them.  Everything is written inside ``RUN_DIR/report/``.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report/index.html`` and return its path."""
    run = Path(run_dir)
    if not (run / "config.yaml").is_file():
        raise ArtforgeError(f"{run} is not a run folder (no config.yaml)")
    out = run / "report"
    rows = _rows(run)
    loss_keys = sorted({k for r in rows for k in r if k.endswith("/loss")})
    metric_keys = sorted({k for r in rows for k in r if k.startswith("eval/") and not k.endswith("_std")})
    plots = [p for p in (_plot(rows, loss_keys, "losses", out / "losses.png"),
                         _plot(rows, metric_keys, "evaluation", out / "metrics.png"),
                         _plot(rows, ["images_per_s"], "speed (images/s)", out / "speed.png")) if p]
    grids = sorted((run / "samples").glob("step-*.png"))
    pairs = [p for p in (run / "memorization-pairs.png", run / "best" / "memorization-pairs.png") if p.is_file()]
    rel = lambda p: html.escape(Path(os.path.relpath(p, out)).as_posix())  # noqa: E731  (links relative to the page)
    body = ["<h1>artforge run report</h1>", f"<p>{html.escape(str(run.resolve()))}</p>"]
    body += [f'<img src="{rel(p)}">' for p in plots]
    if rows:
        last = rows[-1]
        body.append("<h2>Last row of stats.jsonl</h2><pre>" + html.escape(json.dumps(last, indent=1)) + "</pre>")
    if grids:
        body.append("<h2>Samples from fixed latents</h2>")
        body += [f'<figure><img src="{rel(g)}" width="384"><figcaption>{html.escape(g.stem)}</figcaption></figure>'
                 for g in grids[-6:]]
    body += [f'<h2>Memorisation: closest pairs</h2><img src="{rel(p)}">' for p in pairs]
    body.append("<h2>Config</h2><pre>" + html.escape((run / "config.yaml").read_text()) + "</pre>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>artforge report</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "figure{display:inline-block;margin:0 1em 1em 0} pre{background:#f4f4f4;padding:.6em}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
    atomic_write_bytes(out / "index.html", page.encode())
    return out / "index.html"
