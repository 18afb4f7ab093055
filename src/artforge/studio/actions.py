"""What the studio does, without a browser: each tab's actions as methods of :class:`Studio`.

The Gradio page (:mod:`artforge.studio.app`) only turns widgets into these calls and their results into
widgets; the tests drive these methods directly.  Every picture made here goes into the gallery
(:mod:`artforge.studio.store`) with the recipe that makes it again:

- ``decode``: a model and a latent (kept as a safetensors file in the gallery, with the model's content
  hash) — samples, direction edits, style mixes, bred children, projections;
- ``adain``: the fast style network with the content, style and mask pictures (kept as gallery files)
  and α, the style weights, colour preservation;
- ``gatys`` and ``upload`` pictures are kept with their inputs and settings, but not re-made (the
  optimisation is only reproducible bit-for-bit on the same machine and thread count).

Example::

    studio = Studio(home="~/art/studio")
    entries = studio.create("default", seed=3, n=8)
    kids = studio.breed([entries[0].id, entries[5].id], n=8, strength=0.3)
    studio.rate(kids[2].id, 9)
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageOps

from artforge.breed import breed, has_layers
from artforge.crossmodal.prompt import prompt_latents
from artforge.data.decode import BadImage, decode_rgb, load_image
from artforge.directions import Directions, apply_edits, compute_directions, load_directions, save_directions
from artforge.errors import ArtforgeError
from artforge.evaluate.critic import LOAD_SIZE, Critic, picture_inputs, spearman
from artforge.evaluate.curate import critic_dir
from artforge.generate import load_model, parse_layers, seed_latents, walk_latents, write_animation
from artforge.latents import latent_bytes, load_latent, model_digest
from artforge.methods import Method
from artforge.pictures import make_grid, to_uint8, to_unit
from artforge.studio.store import Entry, Gallery

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a photo or painting; anything bigger is refused before decoding
MAX_UPLOAD_PIXELS = 40_000_000  # about 6,300 × 6,300: refused from the header, before decoding
MAX_AUDIO_BYTES = 60 * 1024 * 1024  # a few minutes of WAV, or an album side of MP3
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".opus")
MAX_MUSIC_SECONDS = 300.0  # one request renders at most this much music (minutes of CPU at 128 px)
MAX_GRID = 64  # pictures per request: keeps one click from holding the CPU for minutes
STUDIO_DIRECTIONS = 8  # sliders shown for a model
DIRECTION_SAMPLES = 512  # latents analysed when a model has no directions yet (about 10 s on a laptop CPU)
SEARCH_SCAN = 2000  # newest gallery pictures a text search looks through (features cached by content)
NOT_GENERATORS = ("cyclegan", "adain-decoder")  # exports without a latent space to explore


@dataclass
class ModelChoice:
    key: str  # what load_model takes: "default" or a run folder
    label: str  # what the page shows


class Studio:
    """One studio home and the models, critic and gallery behind the page.  Thread-safe."""

    def __init__(self, home: str | Path, runs: str | Path = "runs", critic: str | Path | None = None):
        self.gallery = Gallery(home)
        self.home = self.gallery.home
        self.runs = Path(runs)
        self._models: dict[str, Method] = {}
        self._model_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._critic_lock = threading.Lock()
        self._base_critic = Critic.load(critic_dir(critic))
        self._critic = Critic.load(critic_dir(critic))
        self._critic_name = str(critic_dir(critic))
        self._applied: dict[int, float] = {}  # ratings the in-memory critic has learnt
        self._adain = None  # the fast style network, loaded at the first restyle

    # ------------------------------------------------------------------ models

    def models(self) -> list[ModelChoice]:
        """The shipped default model and every run (or export) folder under ``runs`` that holds a generator."""
        found = [ModelChoice("default", "default (shipped)")]
        if self.runs.is_dir():
            for config in sorted(self.runs.glob("*/model/config.json")) + sorted(self.runs.glob("*/config.json")):
                folder = config.parent.parent if config.parent.name == "model" else config.parent
                info = _read_json(config)
                if info.get("model") in NOT_GENERATORS or info.get("method") in NOT_GENERATORS or not info:
                    continue
                label = f"{folder.name} ({info.get('model', '?')}, {info.get('image_size', '?')} px)"
                found.append(ModelChoice(str(folder), label))
        return found

    def model(self, key: str) -> Method:
        with self._lock:
            if key not in self._models:
                model = load_model(key)
                if hasattr(model, "translate") or not hasattr(model, "latents"):
                    raise ArtforgeError(f"{key} translates pictures; the studio explores models with a latent space")
                self._models[key] = model
                self._model_locks[key] = threading.Lock()
            return self._models[key]

    @contextmanager
    def _using(self, key: str):
        """The model, held by this thread alone (a diffusion model's sampler settings are state)."""
        model = self.model(key)
        with self._model_locks[key]:
            yield model

    def describe(self, key: str) -> dict:
        model = self.model(key)
        return {
            "key": key,
            "model": model.config.get("model", "?"),
            "image_size": int(model.config.get("image_size", 0)),
            "layers": int(getattr(model, "num_ws", 0)),
            "diffusion": hasattr(model, "sample_steps"),
            "sha256": model_digest(model),
        }

    # ------------------------------------------------------------------ making pictures from latents

    def _keep(
        self, key: str, model: Method, latents: torch.Tensor, kind: str, details: list[dict], parents: list
    ) -> list[Entry]:
        """Decode ``latents`` and put each picture in the gallery with its latent and recipe.

        One latent at a time, as :meth:`remake` does: a CPU convolution's rounding depends on the batch size
        (1e-6 apart, enough to flip a pixel), so only equal batches re-make a picture bit-for-bit."""
        pictures = to_uint8(torch.cat([model.decode(one) for one in latents.split(1)]))
        sampling = {"sample_steps": model.sample_steps, "sampler": model.sampler_name} if _diffusion(model) else {}
        digest, name = model_digest(model), str(model.config.get("model", ""))
        entries = []
        for picture, latent, detail, parent in zip(pictures, latents.split(1), details, parents):
            space = "w+" if latent.dim() == 3 else ("w" if has_layers(model) else "z")
            sha = self.gallery.put_file(latent_bytes(latent, model, space), ".safetensors")
            recipe = {"recipe": "decode", "model": key, "latent": sha, "space": space, **sampling, **detail}
            entries.append(self.gallery.add(picture, kind, recipe, parent, name, digest))
        return entries

    def latent_of(self, entry: Entry) -> tuple[str, torch.Tensor]:
        """(model key, latent 1 × …) of a picture a model made; a clear error for uploads and restyles."""
        if entry.provenance.get("recipe") != "decode":
            raise ArtforgeError(f"picture #{entry.id} is a {entry.kind}, not made by a model: it has no latent")
        key = entry.provenance["model"]
        return key, load_latent(self.gallery.find_file(entry.provenance["latent"]), self.model(key))

    def create(
        self, key: str, seed: int = 0, n: int = 8, truncation: float | None = None, prompt: str = ""
    ) -> list[Entry]:
        """``n`` pictures of seed ``seed`` (picture i is the same whatever ``n``); with a ``prompt``, pictures
        that show it (artforge.crossmodal.prompt: the condition of a text model, else the matcher's picks)."""
        n, prompt = _count(n), (prompt or "").strip()
        with self._using(key) as model:
            if prompt:
                latents = prompt_latents(model, prompt, n, int(seed), _truncation(truncation), log=lambda msg: None)
            else:
                latents = seed_latents(model, n, int(seed), _truncation(truncation))
            details = [{"action": "create", "seed": int(seed), "index": i, "truncation": truncation} for i in range(n)]
            if prompt:
                details = [{**d, "prompt": prompt} for d in details]
            return self._keep(key, model, latents, "sample", details, [[] for _ in range(n)])

    def directions(self, key: str) -> Directions:
        """The model's GANSpace directions: saved beside its export, else computed once into the studio home."""
        with self._using(key) as model:
            own = self.home / "directions" / f"{model_digest(model) or 'unsaved'}.safetensors"
            for path in (None, own):
                try:
                    return load_directions(model, path)
                except ArtforgeError:
                    continue
            found = compute_directions(model, STUDIO_DIRECTIONS, DIRECTION_SAMPLES)
            save_directions(model, found, own)
            return found

    def edit(self, picture_id: int, amounts: list[float], layers: str = "") -> Entry:
        """Picture ``picture_id`` moved by ``amounts[k]`` standard deviations along direction k."""
        base = self.gallery.get(picture_id)
        key, latent = self.latent_of(base)
        directions = self.directions(key)
        edits = [(k, float(a)) for k, a in enumerate(amounts[: len(directions)]) if float(a) != 0.0]
        with self._using(key) as model:
            chosen = parse_layers(layers, model.num_ws, "layers") if layers.strip() and has_layers(model) else None
            moved = apply_edits(model, latent, directions, edits, chosen) if edits else latent
            detail = {"action": "edit", "edits": edits, "edit_layers": layers or None, "base": base.id}
            return self._keep(key, model, moved, "edit", [detail], [{base.id: "base"}])[0]

    def mix(self, coarse_id: int, fine_id: int, layers: str = "0-3") -> Entry:
        """StyleGAN style mixing: ``layers`` from picture ``coarse_id``, the rest from ``fine_id``."""
        key_a, w_a = self.latent_of(self.gallery.get(coarse_id))
        key_b, w_b = self.latent_of(self.gallery.get(fine_id))
        _same_model(key_a, key_b)
        with self._using(key_a) as model:
            if not has_layers(model):
                raise ArtforgeError("style mixing needs a model with per-layer styles (stylegan)")
            chosen = parse_layers(layers, model.num_ws, "layers")
            mixed = model.mix(w_a, w_b, chosen)
            detail = {"action": "mix", "mix_layers": layers, "coarse": coarse_id, "fine": fine_id}
            return self._keep(key_a, model, mixed, "mix", [detail], [{coarse_id: "coarse", fine_id: "fine"}])[0]

    def interpolate(self, a_id: int, b_id: int, frames: int = 8) -> tuple[np.ndarray, list[Path]]:
        """A strip of ``frames`` pictures from picture a to b (slerp, or lerp in W) and a looping GIF/MP4 walk."""
        key_a, z_a = self.latent_of(self.gallery.get(a_id))
        key_b, z_b = self.latent_of(self.gallery.get(b_id))
        _same_model(key_a, key_b)
        frames = max(2, min(int(frames), MAX_GRID))
        with self._using(key_a) as model:
            if z_a.shape != z_b.shape and has_layers(model):
                z_a, z_b = model.per_layer(z_a), model.per_layer(z_b)
            strip = model.decode(walk_latents(model, torch.cat([z_a, z_b]), frames - 1, 0, loop=False))
            walk = torch.cat([model.decode(c) for c in walk_latents(model, torch.cat([z_a, z_b]), 24, 0).split(16)])
        stem = self.home / "walks" / f"walk-{a_id}-{b_id}-{time.strftime('%Y%m%d-%H%M%S')}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        return np.asarray(make_grid(strip, ncol=len(strip))), write_animation(walk, stem, 24, 256)

    def project(self, key: str, image_path: str | Path, steps: int = 100) -> tuple[Entry, Entry]:
        """Bring an uploaded (or drawn) picture into the model: (the upload's entry, the projection's entry)."""
        from artforge.project import PerceptualDistance, project

        upload = self.add_upload(image_path, "upload")
        with self._using(key) as model:
            size = int(model.config["image_size"])
            target = to_unit(torch.from_numpy(self.gallery.pixels(upload.id).copy()).permute(2, 0, 1)[None].float())
            target = torch.nn.functional.interpolate(target, size=(size, size), mode="area")
            result = project(model, target, PerceptualDistance(), steps=int(steps))
            detail = {"action": "project", "source": upload.id, "steps": result.steps, "perceptual": result.perceptual}
            entry = self._keep(key, model, result.latent, "projection", [detail], [{upload.id: "target"}])[0]
        return upload, entry

    # ------------------------------------------------------------------ breeding

    def breed(
        self,
        parent_ids: list[int],
        n: int = 8,
        strength: float = 0.3,
        crossover: str = "dimension",
        seed: int = 0,
        sort_by_critic: bool = False,
    ) -> list[Entry]:
        """Children of the picked pictures (mutation; crossover when two or more), optionally best-scored first."""
        if not parent_ids:
            raise ArtforgeError("pick at least one favourite to breed from")
        n = _count(n)
        picked = [self.latent_of(self.gallery.get(i)) for i in parent_ids]
        key = picked[0][0]
        for other, _ in picked[1:]:
            _same_model(key, other)
        with self._using(key) as model:
            generator = torch.Generator().manual_seed(int(seed))
            children, pairs = breed(model, [z for _, z in picked], n, float(strength), crossover, generator)
            details = [
                {"action": "breed", "strength": float(strength), "crossover": crossover, "seed": int(seed), "child": i}
                for i in range(n)
            ]
            lineage = [[parent_ids[k] for k in pair] for pair in pairs]
            entries = self._keep(key, model, children, "child", details, lineage)
        if sort_by_critic:
            scores = self.scores(entries)
            entries.sort(key=lambda e: -scores[e.id])
        return entries

    # ------------------------------------------------------------------ uploads and restyling

    def add_upload(self, path: str | Path, kind: str = "upload") -> Entry:
        """A picture the person brought, checked (bytes, then pixels from the header) before it is decoded."""
        pixels = read_upload(path)
        return self.gallery.add(pixels, kind, {"recipe": "upload", "name": Path(str(path)).name})

    def _style_inputs(self, content: int, styles: list[int], mask: int | None) -> tuple:
        from artforge.style.io import from_uint8

        content_t = from_uint8(self.gallery.pixels(content))
        style_ts = [from_uint8(self.gallery.pixels(s)) for s in styles]
        mask_t = None
        if mask is not None:
            grey = self.gallery.pixels(mask).mean(axis=2) / 255.0
            mask_t = torch.from_numpy(grey.astype(np.float32))
        return content_t, style_ts, mask_t

    def restyle_fast(
        self,
        content: int,
        styles: list[int],
        alpha: float = 1.0,
        preserve_color: bool = False,
        mask: int | None = None,
        weights: list[float] | None = None,
    ) -> Entry:
        """AdaIN (Huang & Belongie 2017) with the shipped decoder: content, styles and mask are gallery pictures."""
        recipe = {
            "recipe": "adain", "content": content, "styles": list(styles), "alpha": float(alpha),
            "preserve_color": bool(preserve_color), "mask": mask, "weights": weights,
        }  # fmt: skip
        picture = self._adain_picture(recipe)
        parents = {content: "content", **{s: "style" for s in styles}, **({mask: "mask"} if mask else {})}
        return self.gallery.add(picture, "restyle", recipe, parents)

    def _adain_picture(self, recipe: dict) -> np.ndarray:
        from artforge.style.adain import load_adain, stylize_fast

        if not recipe["styles"]:
            raise ArtforgeError("pick or upload at least one style picture")
        content_t, style_ts, mask_t = self._style_inputs(recipe["content"], recipe["styles"], recipe["mask"])
        if mask_t is not None and len(style_ts) != 2:
            raise ArtforgeError("a mask splits the picture between two styles: white = the first, black = the second")
        if mask_t is not None:
            mask_t = _resize_mask(mask_t, content_t.shape[-2:])
        with self._lock:
            if self._adain is None:
                self._adain = load_adain()
        out = stylize_fast(
            self._adain, content_t, style_ts, recipe["weights"], recipe["alpha"], recipe["preserve_color"], mask_t
        )
        return to_uint8(out)[0]

    def restyle_quality(
        self,
        content: int,
        styles: list[int],
        alpha: float = 1.0,
        preserve_color: bool = False,
        mask: int | None = None,
        iterations: int = 100,
        image_size: int = 256,
        on_progress: Callable[[int, np.ndarray], None] | None = None,
        cancelled: threading.Event | None = None,
    ) -> Entry | None:
        """Gatys optimisation; ``on_progress(step, picture)`` every few steps; None when ``cancelled`` is set."""
        from artforge.style.gatys import GatysConfig, stylize
        from artforge.style.io import resize

        content_t, style_ts, mask_t = self._style_inputs(content, styles, mask)
        hw = _long_side(content_t.shape[-2:], int(image_size))
        content_t = resize(content_t, hw)
        if mask_t is not None:
            mask_t = _resize_mask(mask_t, hw)[None, None]
        config = GatysConfig(
            iterations=int(iterations), image_size=int(image_size), alpha=float(alpha), progress=False,
            original_colors="luminance" if preserve_color else "none", save_every=max(1, int(iterations) // 10),
        )  # fmt: skip

        report = _cancellable(on_progress, cancelled, lambda image: to_uint8(image)[0])
        try:
            result = stylize(content_t, style_ts, config, mask_t, report)
        except _Cancelled:
            return None
        recipe = {
            "recipe": "gatys", "content": content, "styles": list(styles), "alpha": float(alpha),
            "preserve_color": bool(preserve_color), "mask": mask, "iterations": int(iterations),
            "image_size": int(image_size),
        }  # fmt: skip
        parents = {content: "content", **{s: "style" for s in styles}, **({mask: "mask"} if mask else {})}
        return self.gallery.add(to_uint8(result.image)[0], "restyle", recipe, parents)

    # ------------------------------------------------------------------ music

    def music_video(
        self,
        key: str,
        audio_path: str | Path,
        seconds: float = 30.0,
        start: float = 0.0,
        size: int = 256,
        pulse: float = 0.5,
        motion: float = 0.3,
        seed: int = 0,
        on_frames: Callable[[int, int], None] | None = None,
        cancelled: threading.Event | None = None,
        prompt: str = "",
    ) -> Path | None:
        """A music video of ``key``'s pictures for the uploaded audio, under ``videos/``; None when cancelled."""
        from artforge.crossmodal.music_video import MusicVideoSettings, render_music_video

        audio = check_audio_upload(audio_path)
        settings = MusicVideoSettings(
            start=float(start), duration=min(float(seconds), MAX_MUSIC_SECONDS), size=int(size), pulse=float(pulse),
            motion=float(motion), seed=int(seed), prompt=(prompt or "").strip() or None,
        )  # fmt: skip
        out = self.home / "videos" / f"music-{audio.stem[:40]}-{time.strftime('%Y%m%d-%H%M%S')}-{seed}.mp4"
        report = _cancellable(on_frames, cancelled)
        model = self.model(key)
        # minutes of rendering: hold the model's lock only where sampling has state (diffusion step settings),
        # so everyone else can keep creating with a GAN meanwhile
        hold = self._model_locks[key] if _diffusion(model) else contextlib.nullcontext()
        try:
            with hold:
                return render_music_video(model, audio, out, settings, progress=False, on_frames=report)["path"]
        except _Cancelled:
            return None

    # ------------------------------------------------------------------ taste: ratings and the critic

    def _inputs(self, entries: list[Entry]) -> dict[str, torch.Tensor]:
        """The critic's raw inputs for these pictures (cached in the gallery by content hash)."""
        shas = sorted({e.sha256 for e in entries})
        cached = self.gallery.critic_inputs(shas, self._critic_name) if shas else {}
        todo = [s for s in shas if s not in cached]
        if todo:
            images = torch.stack(
                [torch.from_numpy(load_image(self.gallery.picture_path(s), LOAD_SIZE)).permute(2, 0, 1) for s in todo]
            )
            fresh = picture_inputs(images, self._critic.cfg).numpy()
            new = dict(zip(todo, fresh))
            self.gallery.put_critic_inputs(new, self._critic_name)
            cached.update(new)
        return {s: torch.from_numpy(np.array(cached[s])) for s in shas}  # a writable copy

    def _sync_critic(self) -> Critic:
        """Bring the person's critic up to the gallery's ratings (made here or by another process): each new
        or changed rating is learnt, a changed one first unlearnt — exact, as the critic's head is sums."""
        with self._critic_lock:
            current = self.gallery.ratings()
            changed = {i: s for i, s in current.items() if self._applied.get(i) != s}
            if changed:
                entries = {i: self.gallery.get(i) for i in changed}
                inputs = self._inputs(list(entries.values()))
                for i, score in changed.items():
                    x = inputs[entries[i].sha256][None]
                    if i in self._applied:
                        self._critic.update_inputs(x, [self._applied[i]], -1.0)
                    self._critic.update_inputs(x, [score])
                    self._applied[i] = score
                self._critic.save(self.home / "critic")
            return self._critic

    def _critic_copy(self) -> Critic:
        """The person's critic, up to date, as a copy a long job can use while ratings keep arriving."""
        critic = self._sync_critic()
        with self._critic_lock:
            return critic.copy()

    def for_you(self, key: str, seed: int = 0, n: int = 8) -> list[Entry]:
        """``n`` pictures the person's critic ranks high, best first (``generate --taste``: many drawn, the best
        kept apart from each other, then refined by local search in latent space)."""
        from artforge.taste import taste_latents

        n, critic = _count(n), self._critic_copy()
        with self._using(key) as model:
            latents, info = taste_latents(model, critic, n, int(seed), log=lambda msg: None)
            detail = {"action": "for-you", "seed": int(seed), "ratings": critic.cfg.n_ratings}
            details = [{**detail, "rank": i} for i in range(n)]
            return self._keep(key, model, latents, "for-you", details, [[] for _ in range(n)])

    def taste_curve(self, repeats: int = 3) -> list[dict]:
        """How well the person's critic predicts their *own* held-out ratings after k of them (k = 5, 10, 25, 50,
        100 while k leaves at least 5 out): median Spearman over ``repeats`` random splits, beside the general
        critic's on the same held-out pictures — the study of bench/taste.py, on this person."""
        ratings = self.gallery.ratings()
        if len(ratings) < 10:
            return []
        ids = sorted(ratings)
        entries = [self.gallery.get(i) for i in ids]
        inputs = self._inputs(entries)
        x = torch.stack([inputs[e.sha256] for e in entries])
        y = torch.tensor([ratings[i] for i in ids], dtype=torch.float64)
        general_scores = self._base_critic.score_inputs(x)  # the same whatever the split
        gen, rows = torch.Generator().manual_seed(0), []
        for k in (c for c in (5, 10, 25, 50, 100) if c <= len(ids) - 5):
            mine, general = [], []
            for _ in range(repeats):
                order = torch.randperm(len(ids), generator=gen)
                train, held = order[:k], order[k:]
                critic = self._base_critic.copy()
                critic.update_inputs(x[train], y[train])
                mine.append(spearman(critic.score_inputs(x[held]), y[held]))
                general.append(spearman(general_scores[held], y[held]))
            rows.append({"ratings": k, "yours": statistics.median(mine), "general": statistics.median(general)})
        return rows

    def scores(self, entries: list[Entry], critic: Critic | None = None) -> dict[int, float]:
        """The person's critic's score (0–10) of each picture."""
        if not entries:
            return {}
        critic = critic or self._sync_critic()
        inputs = self._inputs(entries)
        x = torch.stack([inputs[e.sha256] for e in entries])
        return dict(zip([e.id for e in entries], critic.score_inputs(x).tolist()))

    def rate(self, picture_id: int, score: float) -> dict:
        """Rate a picture 0–10; the critic learns it at once.  Returns the taste summary."""
        self.gallery.rate(int(picture_id), float(score))
        self._sync_critic()
        return self.taste()

    def taste(self, limit: int = 200) -> dict:
        """How many ratings the critic has learnt, and how its ranking of the gallery moved from where it started."""
        critic = self._sync_critic()
        entries = self.gallery.list("new", limit)
        summary = {"ratings": len(self._applied), "pictures": len(entries), "agreement": None, "risers": []}
        if len(entries) < 2:
            return summary
        before = self.scores(entries, self._base_critic)
        after = self.scores(entries, critic)
        ids = [e.id for e in entries]
        summary["agreement"] = spearman(torch.tensor([before[i] for i in ids]), torch.tensor([after[i] for i in ids]))
        rank_before = {i: r for r, i in enumerate(sorted(ids, key=lambda i: -before[i]))}
        rank_after = {i: r for r, i in enumerate(sorted(ids, key=lambda i: -after[i]))}
        moves = sorted(ids, key=lambda i: rank_after[i] - rank_before[i])
        summary["risers"] = [
            {"id": i, "from": rank_before[i] + 1, "to": rank_after[i] + 1, "score": after[i]} for i in moves[:5]
        ]
        return summary

    # ------------------------------------------------------------------ curation and re-making

    def search(self, text: str, limit: int = 48, scan: int = SEARCH_SCAN) -> list[Entry]:
        """The gallery's pictures that fit ``text`` best (image-text matcher), best first; the newest
        ``scan`` pictures are searched, their features cached on disk by content (a second search costs
        the text alone)."""
        from artforge.crossmodal.search import SEARCH_SIZE, best_matches

        entries = self.gallery.list("new", int(scan))
        if not entries:
            return []
        pictures = torch.stack([_thumbnail(e.path, SEARCH_SIZE) for e in entries])
        return [e for _, e in best_matches(pictures, entries, text, int(limit))]

    def top(self, n: int = 10, by: str = "rating") -> list[Entry]:
        """The best ``n`` pictures by the person's rating (unrated last) or by the critic."""
        if by == "critic":
            entries = self.gallery.list("new", 1000)
            scores = self.scores(entries)
            return sorted(entries, key=lambda e: -scores[e.id])[: int(n)]
        return [e for e in self.gallery.list("rating", int(n))]

    def export(self, picture_ids: list[int]) -> Path:
        out = self.home / "exports" / f"artforge-{time.strftime('%Y%m%d-%H%M%S')}-{len(picture_ids)}.zip"
        return self.gallery.export_zip(picture_ids, out)

    def remake(self, picture_id: int) -> np.ndarray:
        """Make a picture again from its provenance alone (H × W × 3 uint8)."""
        entry = self.gallery.get(picture_id)
        recipe = entry.provenance.get("recipe")
        if recipe == "decode":
            key, latent = self.latent_of(entry)
            with self._using(key) as model:
                if _diffusion(model):
                    saved = (model.sample_steps, model.sampler_name)
                    model.configure_sampling(entry.provenance["sample_steps"], entry.provenance["sampler"])
                try:
                    return to_uint8(model.decode(latent))[0]
                finally:
                    if _diffusion(model):
                        model.configure_sampling(*saved)
        if recipe == "adain":
            return self._adain_picture(entry.provenance)
        raise ArtforgeError(f"picture #{picture_id} is a {entry.kind} ({recipe}); only model and fast-style pictures "
                            "are re-made from their recipe")  # fmt: skip


class _Cancelled(Exception):
    """Raised inside a long job's progress callback to stop it when the person presses Cancel."""


def _cancellable(on_progress: Callable | None, cancelled: threading.Event | None, shown: Callable | None = None):
    """A progress callback ``(a, b)`` for a long job: raises :class:`_Cancelled` once ``cancelled`` is set, else
    passes ``(a, shown(b))`` on to ``on_progress``."""

    def report(a, b) -> None:
        if cancelled is not None and cancelled.is_set():
            raise _Cancelled
        if on_progress is not None:
            on_progress(a, shown(b) if shown else b)

    return report


def read_upload(path: str | Path, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS) -> np.ndarray:
    """An uploaded picture as H × W × 3 uint8: size in bytes checked first, pixels from the header, then decoded."""
    path = Path(str(path))
    try:
        size = path.stat().st_size
    except OSError:
        raise ArtforgeError("the upload did not arrive; try again") from None
    if size > max_bytes:
        raise ArtforgeError(f"{path.name} is {size / 1e6:.1f} MB; pictures up to {max_bytes / 1e6:.0f} MB are accepted")
    try:
        rgb, _ = decode_rgb(path, max_pixels=max_pixels)
    except BadImage as exc:
        raise ArtforgeError(f"{path.name} cannot be used: {exc.reason}") from None
    return np.asarray(rgb, dtype=np.uint8)


def check_audio_upload(path: str | Path, max_bytes: int = MAX_AUDIO_BYTES) -> Path:
    """An uploaded sound file, refused by name and size before anything decodes it."""
    path = Path(str(path))
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise ArtforgeError(f"{path.name} is not a sound file artforge takes ({', '.join(AUDIO_SUFFIXES)})")
    try:
        size = path.stat().st_size
    except OSError:
        raise ArtforgeError("the upload did not arrive; try again") from None
    if size > max_bytes:
        limit = f"sound files up to {max_bytes / 1e6:.0f} MB are accepted"
        raise ArtforgeError(f"{path.name} is {size / 1e6:.1f} MB; {limit}")
    return path


def _thumbnail(path: Path, size: int) -> torch.Tensor:
    """3 × size × size uint8: the picture fitted into a square on white (the whole picture counts)."""
    with Image.open(path) as im:
        im = ImageOps.pad(im.convert("RGB"), (size, size), color="white")
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)


def _diffusion(model: Method) -> bool:
    return hasattr(model, "sample_steps")


def _same_model(a: str, b: str) -> None:
    if a != b:
        raise ArtforgeError(f"these pictures come from different models ({a} and {b}); pick pictures of one model")


def _count(n) -> int:
    n = int(n)
    if not 1 <= n <= MAX_GRID:
        raise ArtforgeError(f"make between 1 and {MAX_GRID} pictures at a time (got {n})")
    return n


def _truncation(value) -> float | None:
    return None if value in (None, "", 1, 1.0) else float(value)


def _long_side(hw, long_side: int) -> tuple[int, int]:
    h, w = int(hw[0]), int(hw[1])
    scale = long_side / max(h, w)
    return max(16, round(h * scale)), max(16, round(w * scale))


def _resize_mask(mask: torch.Tensor, hw) -> torch.Tensor:
    resized = torch.nn.functional.interpolate(mask[None, None], size=tuple(int(s) for s in hw), mode="bilinear")
    return resized[0, 0]


def _read_json(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
