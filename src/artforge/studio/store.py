"""The studio's gallery: SQLite (WAL) rows + content-addressed files, safe against kill -9 and many writers.

Layout of a studio home (default ``~/.local/share/artforge/studio``)::

    gallery.db                 pictures, parents (lineage), ratings, cached critic inputs
    pictures/ab/abcdef….png    every picture, named by the SHA-256 of its PNG bytes
    files/ab/abcdef….EXT       everything else a picture needs to be re-made: latents (safetensors),
                               uploaded photos, styles and masks

Why it cannot lose a picture that was shown as saved: a picture's file is written first (temp file, fsync,
rename), then its row is committed (``synchronous=FULL``); :meth:`Gallery.add` returns only after the commit,
and the studio shows a picture only after that.  A writer killed between the two leaves a file without a row
(an orphan, reported by :meth:`Gallery.check` and swept after an hour), never a row without its file.  Many
threads and processes share one home: every write is one ``BEGIN IMMEDIATE`` transaction on its own
connection, and SQLite's WAL lets readers go on while one writer commits.

Example::

    gallery = Gallery(home)
    entry = gallery.add(picture, "sample", {"seed": 3, "model": "default"}, parents=[])
    gallery.rate(entry.id, 8.5)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from artforge import __version__
from artforge.errors import ArtforgeError
from artforge.fileio import atomic_write, atomic_write_bytes

DEFAULT_HOME = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "artforge" / "studio"
BUSY_TIMEOUT_S = 60.0  # how long a writer waits for another one's transaction before giving up
ORPHAN_AGE_S = 3600.0  # a file without a row this old was left by a killed writer, not one about to commit

SCHEMA = """
CREATE TABLE IF NOT EXISTS pictures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    created REAL NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    model_name TEXT NOT NULL DEFAULT '',
    model_sha256 TEXT NOT NULL DEFAULT '',
    provenance TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parents (
    child INTEGER NOT NULL REFERENCES pictures(id),
    parent INTEGER NOT NULL REFERENCES pictures(id),
    role TEXT NOT NULL DEFAULT 'parent',
    PRIMARY KEY (child, parent, role)
);
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    picture INTEGER NOT NULL REFERENCES pictures(id),
    score REAL NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS critic_inputs (
    sha256 TEXT NOT NULL,
    critic TEXT NOT NULL,
    inputs BLOB NOT NULL,
    PRIMARY KEY (sha256, critic)
);
CREATE INDEX IF NOT EXISTS parents_by_parent ON parents(parent);
CREATE INDEX IF NOT EXISTS ratings_by_picture ON ratings(picture, id);
"""


@dataclass
class Entry:
    """One picture of the gallery: its row, its file and its current rating (None if never rated)."""

    id: int
    sha256: str
    kind: str
    created: float
    width: int
    height: int
    model_name: str
    model_sha256: str
    provenance: dict
    path: Path
    rating: float | None = None
    parents: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        stars = "" if self.rating is None else f" · rated {self.rating:g}"
        return f"#{self.id} {self.kind}{stars}"


def png_bytes(picture: Image.Image | np.ndarray) -> bytes:
    """PNG bytes of a picture with no metadata, so the same pixels always give the same file (and hash)."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(np.asarray(picture, dtype=np.uint8))
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


class Gallery:
    """A studio home: see the module docstring.  Cheap to create; safe to share between threads."""

    def __init__(self, home: str | Path):
        self.home = Path(home).expanduser()
        try:
            (self.home / "pictures").mkdir(parents=True, exist_ok=True)
            (self.home / "files").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArtforgeError(f"cannot use {self.home} as the studio home: {exc.strerror or exc}") from exc
        self.db_path = self.home / "gallery.db"
        with self._connect() as db:
            db.executescript(SCHEMA)

    # ------------------------------------------------------------------ connections

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a commit that returned survives a crash of the process or machine
        db.execute("PRAGMA foreign_keys=ON")
        db.row_factory = sqlite3.Row
        return _Closing(db)

    def _write(self, statements) -> list:
        """Run ``statements(db)`` in one immediate transaction; returns what it returns."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = statements(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return result

    # ------------------------------------------------------------------ files

    def picture_path(self, sha256: str) -> Path:
        return self.home / "pictures" / sha256[:2] / f"{sha256}.png"

    def file_path(self, sha256: str, suffix: str) -> Path:
        return self.home / "files" / sha256[:2] / f"{sha256}{suffix}"

    def put_file(self, data: bytes, suffix: str) -> str:
        """Keep ``data`` (a latent, an upload) under its SHA-256; returns the hash.  Written before any row names it."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.file_path(sha, suffix)
        if not path.is_file():
            atomic_write_bytes(path, data)
        return sha

    def find_file(self, sha256: str) -> Path:
        """The stored file with this hash (any suffix); a clear error if it is not there."""
        folder = self.home / "files" / sha256[:2]
        found = sorted(folder.glob(f"{sha256}.*")) if folder.is_dir() else []
        if not found:
            raise ArtforgeError(f"the studio home {self.home} has no file {sha256[:12]}… (was it deleted by hand?)")
        return found[0]

    def _put_picture(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self.picture_path(sha)
        if not path.is_file():
            atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
        return sha

    # ------------------------------------------------------------------ pictures

    def add(
        self,
        picture: Image.Image | np.ndarray,
        kind: str,
        provenance: dict,
        parents: list[int] | dict[int, str] = (),
        model_name: str = "",
        model_sha256: str = "",
    ) -> Entry:
        """Save a picture with its provenance and parents (ids, or {id: role}); returns it once committed."""
        data = png_bytes(picture)
        sha = self._put_picture(data)
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
        roles = parents if isinstance(parents, dict) else {int(p): "parent" for p in parents}
        text = json.dumps({"artforge_version": __version__, **provenance}, sort_keys=True)
        record = json.loads(text)  # what a later read gives back (tuples become lists)
        now = time.time()

        def insert(db):
            missing = [p for p in roles if db.execute("SELECT 1 FROM pictures WHERE id=?", (p,)).fetchone() is None]
            if missing:
                raise ArtforgeError(f"no picture #{missing[0]} in the gallery to be a parent")
            cur = db.execute(
                "INSERT INTO pictures (sha256, kind, created, width, height, model_name, model_sha256, provenance)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sha, kind, now, width, height, model_name, model_sha256, text),
            )
            db.executemany(
                "INSERT INTO parents (child, parent, role) VALUES (?, ?, ?)",
                [(cur.lastrowid, p, r) for p, r in roles.items()],
            )
            return cur.lastrowid

        new_id = self._write(insert)
        return Entry(
            new_id, sha, kind, now, width, height, model_name, model_sha256, record, self.picture_path(sha), None,
            sorted(roles),
        )  # fmt: skip

    def get(self, picture_id: int) -> Entry:
        entries = self._entries("WHERE p.id = ?", (int(picture_id),))
        if not entries:
            raise ArtforgeError(f"no picture #{picture_id} in the gallery")
        return entries[0]

    def list(self, order: str = "new", limit: int = 100, offset: int = 0, kind: str | None = None) -> list[Entry]:
        """Pictures newest first (``order="new"``), best rated first (``"rating"``) or oldest first (``"old"``)."""
        orders = {
            "new": "p.id DESC",
            "old": "p.id ASC",
            "rating": "rating IS NULL, rating DESC, p.id DESC",
        }
        if order not in orders:
            raise ArtforgeError(f"sort by one of {', '.join(orders)}, not {order!r}")
        where, args = ("WHERE p.kind = ?", (kind,)) if kind else ("", ())
        return self._entries(f"{where} ORDER BY {orders[order]} LIMIT ? OFFSET ?", (*args, int(limit), int(offset)))

    def count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM pictures").fetchone()[0]

    def _entries(self, tail: str, args: tuple) -> list[Entry]:
        query = (
            "SELECT p.*, (SELECT score FROM ratings r WHERE r.picture = p.id ORDER BY r.id DESC LIMIT 1) AS rating,"
            " (SELECT group_concat(parent) FROM parents WHERE child = p.id) AS parent_ids"
            f" FROM pictures p {tail}"
        )
        with self._connect() as db:
            rows = db.execute(query, args).fetchall()
        return [self._entry(row) for row in rows]

    def _entry(self, row: sqlite3.Row) -> Entry:
        parents = sorted(int(p) for p in row["parent_ids"].split(",")) if row["parent_ids"] else []
        return Entry(
            row["id"], row["sha256"], row["kind"], row["created"], row["width"], row["height"], row["model_name"],
            row["model_sha256"], json.loads(row["provenance"]), self.picture_path(row["sha256"]), row["rating"],
            parents,
        )  # fmt: skip

    def pixels(self, picture_id: int) -> np.ndarray:
        """The picture as H × W × 3 uint8."""
        with Image.open(self.get(picture_id).path) as im:
            return np.asarray(im.convert("RGB"))

    # ------------------------------------------------------------------ lineage

    def lineage(self, picture_id: int, depth: int = 3) -> dict:
        """``{"entry": Entry, "parents": [lineage of each parent]}`` down to ``depth`` generations back."""
        entry = self.get(picture_id)
        parents = [self.lineage(p, depth - 1) for p in entry.parents] if depth > 0 else []
        return {"entry": entry, "parents": parents}

    def children(self, picture_id: int) -> list[int]:
        with self._connect() as db:
            rows = db.execute("SELECT child FROM parents WHERE parent = ? ORDER BY child", (int(picture_id),))
            return [r[0] for r in rows.fetchall()]

    # ------------------------------------------------------------------ ratings

    def rate(self, picture_id: int, score: float) -> float | None:
        """Record a rating 0–10; returns the picture's previous rating (None if it had none)."""
        score = float(score)
        if not 0.0 <= score <= 10.0:
            raise ArtforgeError(f"a rating is from 0 to 10, not {score:g}")

        def insert(db):
            if db.execute("SELECT 1 FROM pictures WHERE id=?", (int(picture_id),)).fetchone() is None:
                raise ArtforgeError(f"no picture #{picture_id} in the gallery")
            before = db.execute(
                "SELECT score FROM ratings WHERE picture = ? ORDER BY id DESC LIMIT 1", (int(picture_id),)
            ).fetchone()
            db.execute(
                "INSERT INTO ratings (picture, score, created) VALUES (?, ?, ?)", (int(picture_id), score, time.time())
            )
            return None if before is None else before[0]

        return self._write(insert)

    def ratings(self) -> dict[int, float]:
        """The current (latest) rating of every rated picture."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT picture, score FROM ratings WHERE id IN (SELECT MAX(id) FROM ratings GROUP BY picture)"
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    # ------------------------------------------------------------------ critic inputs (a cache)

    def critic_inputs(self, sha256s: list[str], critic: str) -> dict[str, np.ndarray]:
        marks = ",".join("?" * len(sha256s))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT sha256, inputs FROM critic_inputs WHERE critic = ? AND sha256 IN ({marks})", (critic, *sha256s)
            ).fetchall()
        return {r[0]: np.frombuffer(r[1], dtype=np.float64) for r in rows}

    def put_critic_inputs(self, inputs: dict[str, np.ndarray], critic: str) -> None:
        rows = [(sha, critic, np.asarray(x, dtype=np.float64).tobytes()) for sha, x in inputs.items()]
        self._write(lambda db: db.executemany("INSERT OR REPLACE INTO critic_inputs VALUES (?, ?, ?)", rows))

    # ------------------------------------------------------------------ export and checks

    def export_zip(self, picture_ids: list[int], path: str | Path) -> Path:
        """A zip of the pictures (PNG, provenance in the PNG text) and ``manifest.json`` with every row."""
        if not picture_ids:
            raise ArtforgeError("choose at least one picture to export")
        entries = [self.get(i) for i in picture_ids]
        manifest = {"artforge_version": __version__, "exported": time.time(), "pictures": []}

        def write(tmp: str) -> None:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
                for e in entries:
                    name = f"{e.id:06d}-{e.kind}.png"
                    z.writestr(name, _png_with_provenance(e))
                    manifest["pictures"].append(
                        {
                            "file": name, "id": e.id, "sha256": e.sha256, "kind": e.kind, "created": e.created,
                            "model_name": e.model_name, "model_sha256": e.model_sha256, "rating": e.rating,
                            "parents": e.parents, "provenance": e.provenance,
                        }
                    )  # fmt: skip
                z.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))

        atomic_write(Path(path), write, suffix=".tmp.zip")
        return Path(path)

    def check(self) -> dict:
        """Do files and rows agree?  ``missing``: rows whose file is gone or altered (must never happen);
        ``orphans``: files no row names (a writer killed between file and commit); ``integrity``: SQLite's own check."""
        with self._connect() as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            shas = {r[0] for r in db.execute("SELECT sha256 FROM pictures").fetchall()}
            refs = " ".join(r[0] for r in db.execute("SELECT provenance FROM pictures").fetchall())
        missing = []
        for sha in shas:
            path = self.picture_path(sha)
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                missing.append(sha)
        on_disk = {p.stem for p in (self.home / "pictures").glob("*/*.png")}
        files = {p.stem for p in (self.home / "files").glob("*/*") if not p.name.startswith(".")}
        orphans = sorted(on_disk - shas) + sorted(f for f in files if f not in refs)
        return {"integrity": integrity, "pictures": len(shas), "missing": sorted(missing), "orphans": orphans}

    def sweep(self, older_than_s: float = ORPHAN_AGE_S) -> int:
        """Remove temp files and orphans older than ``older_than_s`` (left by killed writers); returns how many."""
        cutoff, removed = time.time() - older_than_s, 0
        orphans = set(self.check()["orphans"])
        for path in list((self.home / "pictures").glob("*/*")) + list((self.home / "files").glob("*/*")):
            stale = path.name.startswith(".") or path.stem in orphans
            if stale and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class _Closing:
    """A connection that closes when its ``with`` block ends (sqlite3's own ``with`` only commits)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc) -> None:
        self.db.close()


def _png_with_provenance(entry: Entry) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("artforge", json.dumps({"id": entry.id, "kind": entry.kind, **entry.provenance}, sort_keys=True))
    buf = io.BytesIO()
    with Image.open(entry.path) as im:
        im.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()
