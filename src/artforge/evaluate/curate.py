"""Score a folder with the critic, write a CSV and a sorted HTML page, copy the best, learn from ratings.

Which critic: ``--critic DIR`` when given; otherwise the user's own critic (the one their
ratings have taught, in ``$ARTFORGE_HOME/critic``, default ``~/.local/share/artforge/critic``)
when it exists; otherwise the shipped default.  Ratings never modify the shipped files: the
first rating copies the default into the user's folder, or into a new (or empty) ``--critic DIR``.
"""

from __future__ import annotations

import csv
import html
import io
import os
import shutil
from functools import partial
from pathlib import Path
from typing import Callable

import torch
from PIL import Image

from artforge.data.decode import BadImage, load_image
from artforge.data.images import load_folder, print_to_stderr
from artforge.errors import ArtforgeError
from artforge.evaluate.critic import LOAD_SIZE, Critic, picture_inputs, tier_of
from artforge.evaluate.measures import MEASURES, compute_measures
from artforge.fileio import atomic_write, atomic_write_bytes

DEFAULT_CRITIC = Path(__file__).resolve().parent.parent / "assets" / "default-critic"


def user_critic_dir() -> Path:
    home = os.environ.get("ARTFORGE_HOME") or Path(
        os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"), "artforge"
    )
    return Path(home) / "critic"


def critic_dir(path: str | Path | None = None) -> Path:
    """The folder of the critic to use (see the module docstring for the order)."""
    if path:
        return Path(path).expanduser()
    return user_critic_dir() if (user_critic_dir() / "critic.safetensors").is_file() else DEFAULT_CRITIC


def load_critic(path: str | Path | None = None) -> Critic:
    return Critic.load(critic_dir(path))


def score_folder(folder: str | Path, critic: Critic, warn=print_to_stderr) -> list[dict]:
    """One row per usable picture (path, score, tier, measures), best first; bad files skipped with a warning."""
    found = load_folder(folder, LOAD_SIZE, progress=False, warn=warn)
    return score_images(found.images, found.paths, critic)


def score_images(images: torch.Tensor, paths: list[str], critic: Critic) -> list[dict]:
    x = picture_inputs(images, critic.cfg)
    scores = critic.score_inputs(x)
    measures = compute_measures(images)
    rows = [
        {
            "path": p,
            "score": round(float(s), 3),
            "tier": tier_of(float(s)),
            **{m: round(float(measures[m][i]), 4) for m in MEASURES},
        }
        for i, (p, s) in enumerate(zip(paths, scores))
    ]
    return sorted(rows, key=lambda r: -r["score"])


def write_csv(rows: list[dict], path: str | Path) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["rank", "path", "score", "tier", *MEASURES])
    writer.writeheader()
    for rank, row in enumerate(rows, start=1):
        writer.writerow({"rank": rank, **row})
    atomic_write_bytes(Path(path), buf.getvalue().encode())
    return Path(path)


def write_page(rows: list[dict], out_dir: str | Path, title: str, critic: Critic) -> Path:
    """``OUT/index.html``: thumbnails sorted by score, with tier and measures; thumbnails in ``OUT/thumbs``."""
    out = Path(out_dir)
    cards = []
    for rank, row in enumerate(rows, start=1):
        thumb = out / "thumbs" / f"{rank:05d}.jpg"
        _write_thumbnail(row["path"], thumb)
        facts = " · ".join(f"{m} {row[m]:.3g}" for m in MEASURES)
        cards.append(
            f'<figure class="{row["tier"]}"><img src="thumbs/{thumb.name}" loading="lazy">'
            f"<figcaption><b>#{rank} · {row['score']:.2f} · {row['tier']}</b><br>"
            f"{html.escape(Path(row['path']).name)}<br><small>{facts}</small></figcaption></figure>"
        )
    about = (
        f"critic: {critic.cfg.backbone} features + measures; trained on {critic.cfg.n_train} pictures"
        f" ({html.escape(critic.cfg.trained_on or 'user data')}), {critic.cfg.n_ratings} ratings learned since"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>artforge critic</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1.5em} figure{display:inline-block;width:200px;"
        "margin:0 .6em 1em 0;vertical-align:top} img{width:200px;border-radius:4px} figcaption{font-size:13px}"
        " small{color:#666} .high img{outline:4px solid #2a2} .mid img{outline:4px solid #cc2}"
        " .low img{outline:4px solid #c33}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{about}</p>" + "\n".join(cards) + "</body></html>\n"
    )
    atomic_write_bytes(out / "index.html", page.encode())
    return out / "index.html"


def _write_thumbnail(src: str, dest: Path) -> None:
    im = Image.fromarray(load_image(src, 200, fit="pad"))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    atomic_write_bytes(dest, buf.getvalue())


def curate(folder: str | Path, top: int, out: str | Path, critic: Critic, warn=print_to_stderr) -> list[dict]:
    """Copy the ``top`` best pictures to ``out`` as ``RANK-NAME`` (originals untouched), with a scores.csv."""
    if top < 1:
        raise ArtforgeError("--top must be at least 1")
    rows = score_folder(folder, critic, warn)[:top]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for rank, row in enumerate(rows, start=1):
        # copy2 keeps the original's times; through a temp file, so an interrupted copy leaves no half picture
        atomic_write(out / f"{rank:03d}-{Path(row['path']).name}", partial(shutil.copy2, row["path"]))
    write_csv(rows, out / "scores.csv")
    return rows


def rating_source(critic_path: str | Path | None = None) -> tuple[Path, Path]:
    """(the critic to start from, the folder the taught critic is saved in) for :func:`rate`.

    Without ``critic_path``: the user's own critic, or the shipped one the first time, saved in the
    user's folder.  With one: the critic in it; a folder that does not exist yet, or is empty, starts
    from the shipped critic; a non-empty folder without a critic is refused (it is not ours to fill).
    """
    if not critic_path:
        return critic_dir(), user_critic_dir()
    target = Path(critic_path).expanduser()
    if target.resolve() == DEFAULT_CRITIC.resolve():
        raise ArtforgeError(
            "the shipped critic is never changed; pass --critic DIR (a new folder) to keep your ratings"
        )
    if (target / "critic.safetensors").is_file():
        return target, target
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        return DEFAULT_CRITIC, target
    raise ArtforgeError(
        f"{target} holds no critic (no critic.safetensors) and is not an empty folder; pass a "
        "critic folder, or a new or empty folder to start one from the shipped critic"
    )


def rate(
    paths: list[str],
    scores: list[float],
    critic_path: str | Path | None = None,
    note: Callable[[str], None] = print_to_stderr,
) -> tuple[Critic, Path]:
    """Teach the critic the user's ratings (0–10) and save it; returns the critic and where it was saved.

    Which critic learns and where it goes: see :func:`rating_source`.  ``note`` hears when a new
    critic folder is created from the shipped one.

    Example::

        critic, where = rate(["a.png", "b.png"], [9, 2], "my-critic")   # my-critic/ is created if new
    """
    if len(paths) != len(scores):
        raise ArtforgeError(f"{len(paths)} pictures but {len(scores)} ratings")
    source, target = rating_source(critic_path)
    images = []
    for p in paths:
        try:
            images.append(torch.from_numpy(load_image(p, LOAD_SIZE)).permute(2, 0, 1))
        except BadImage as e:
            raise ArtforgeError(f"cannot rate {p}: {e}") from None
    critic = Critic.load(source)
    critic.update(torch.stack(images), scores)
    critic.save(target)
    if source != target and (source / "README.md").is_file() and not (target / "README.md").exists():
        atomic_write_bytes(target / "README.md", (source / "README.md").read_bytes())
    if critic_path and source == DEFAULT_CRITIC:
        note(f"created {target} from the shipped critic")
    return critic, target
