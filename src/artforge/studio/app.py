"""The studio's page: a Gradio Blocks app over :class:`artforge.studio.actions.Studio`.

Each button calls one action and has an ``api_name``, so ``gradio_client`` scripts can do everything the page
does (README, "Drive the studio from a script").  Pictures are shown only once the gallery has committed them.
A user mistake (a bad upload, a picture of another model) becomes a message in the page, never a traceback.

Security (Gradio has had path-traversal bugs and unbounded temp folders): the page binds 127.0.0.1 unless told
otherwise and refuses another address without ``--auth``; uploads are capped in bytes by Gradio and in pixels
(from the header) before artforge decodes them; only the studio home is added to the served paths; Gradio's
cache is swept of files older than a day, every hour (``delete_cache``); nothing is unpickled.
"""

from __future__ import annotations

import ctypes
import functools
import ipaddress
import json
import os
import queue
import sys
import threading
import traceback
from pathlib import Path

from artforge.errors import ArtforgeError
from artforge.studio.actions import MAX_AUDIO_BYTES, STUDIO_DIRECTIONS, Studio

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline first: no calls home
import gradio as gr  # noqa: E402  (after the analytics switch)

CACHE_SWEEP = (3600, 86400)  # every hour, delete Gradio cache files older than a day
POPULATION = 8  # children per generation by default


def _page_error(exc: Exception) -> gr.Error:
    """A user mistake as a message in the page; a bug's traceback goes to the terminal, not the page."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, ArtforgeError):
        print(f"artforge studio: told the page: {exc}", file=sys.stderr, flush=True)  # the terminal keeps a record
        return gr.Error(str(exc), print_exception=False)
    traceback.print_exception(exc, file=sys.stderr)
    return gr.Error(f"something went wrong ({type(exc).__name__}); the studio's terminal has the details")


def _page_errors(fn):
    """``fn`` with its errors shown as messages in the page (see :func:`_page_error`); the page keeps working."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 — every error becomes a message
            raise _page_error(exc) from None

    return wrapper


def _page_errors_gen(fn):
    """:func:`_page_errors` for a generator callback (one that yields progress)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            yield from fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise _page_error(exc) from None

    return wrapper


def _ids(text) -> list[int]:
    """ "3, 5 #7" -> [3, 5, 7]: the picture numbers a person typed or picked."""
    if isinstance(text, (int, float)):
        return [int(text)]
    parts = str(text or "").replace("#", " ").replace(",", " ").split()
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ArtforgeError(f"picture numbers are whole numbers like 3, 5 (got {text!r})") from None


def _one_id(value, what: str) -> int:
    ids = _ids(value)
    if len(ids) != 1:
        raise ArtforgeError(f"give one picture number for {what} (click a picture, or type its number)")
    return ids[0]


class Page:
    """The widgets' callbacks: thin translations between Gradio values and :class:`Studio` calls."""

    def __init__(self, studio: Studio):
        self.studio = studio
        self._cancel: dict[str, threading.Event] = {}

    # ---------------------------------------------------------------- shared helpers

    def _gallery(self, entries) -> list[tuple[str, str]]:
        scores = self.studio.scores(entries)
        rows = []
        for e in entries:
            rated = "" if e.rating is None else f" · ★ {e.rating:g}"
            rows.append((str(e.path), f"#{e.id} {e.kind} · critic {scores[e.id]:.1f}{rated}"))
        return rows

    def _shown(self, entries) -> tuple[list, str]:
        return self._gallery(entries), ", ".join(str(e.id) for e in entries)

    # ---------------------------------------------------------------- create

    def model_info(self, key: str) -> str:
        d = self.studio.describe(key)
        extras = [f"{d['layers']} style layers (mixing)"] if d["layers"] else []
        extras += ["diffusion (DDIM)"] if d["diffusion"] else []
        return f"**{d['model']}**, {d['image_size']} px · weights {d['sha256'][:12]}… " + " · ".join(extras)

    def create(self, key, seed, n, truncation, prompt=""):
        return self._shown(self.studio.create(key, int(seed), int(n), truncation, prompt or ""))

    def edit(self, picture, layers, *amounts):
        entry = self.studio.edit(_one_id(picture, "the picture to edit"), list(amounts), layers or "")
        return str(entry.path), entry.id

    def mix(self, coarse, fine, layers):
        entry = self.studio.mix(_one_id(coarse, "coarse"), _one_id(fine, "fine"), layers or "0-3")
        return str(entry.path), entry.id

    def interpolate(self, a, b, frames):
        strip, files = self.studio.interpolate(_one_id(a, "from"), _one_id(b, "to"), int(frames))
        video = next((str(f) for f in files if f.suffix == ".mp4"), None)
        return strip, video

    def project(self, key, upload, sketch, steps):
        path = upload or (sketch or {}).get("composite")
        if not path:
            raise ArtforgeError("upload a picture or draw one on the sketch pad first")
        source, entry = self.studio.project(key, path, int(steps))
        return str(entry.path), f"#{entry.id} (from upload #{source.id}), perceptual distance " + (
            f"{entry.provenance['perceptual']:.3f}"
        )

    # ---------------------------------------------------------------- breed

    def breed(self, parents, n, strength, crossover, seed, presort):
        kids = self.studio.breed(_ids(parents), int(n), float(strength), crossover, int(seed), bool(presort))
        return self._shown(kids)

    def lineage(self, picture):
        tree = self.studio.gallery.lineage(_one_id(picture, "lineage"), depth=4)
        lines, ancestors = [], []

        def walk(node, depth):
            e = node["entry"]
            lines.append(f"{'    ' * depth}- #{e.id} {e.kind}" + (f" ★ {e.rating:g}" if e.rating is not None else ""))
            if depth:
                ancestors.append(e)
            for parent in node["parents"]:
                walk(parent, depth + 1)

        walk(tree, 0)
        return "\n".join(lines), self._gallery(ancestors), ", ".join(str(p) for p in tree["entry"].parents)

    # ---------------------------------------------------------------- restyle

    def _restyle_inputs(self, content_file, content_id, style_files, style_ids, mask_file, mask_drawn):
        studio = self.studio
        if content_file:
            content = studio.add_upload(content_file, "upload").id
        else:
            content = _one_id(content_id, "the photo (upload one, or give a gallery picture number)")
        styles = [studio.add_upload(f, "style").id for f in (style_files or [])] + _ids(style_ids)
        if not styles:
            raise ArtforgeError("upload at least one style picture, or give gallery picture numbers")
        drawn = (mask_drawn or {}).get("composite")
        mask_path = mask_file or (drawn if drawn and _has_strokes(mask_drawn) else None)
        mask = studio.add_upload(mask_path, "mask").id if mask_path else None
        return content, styles, mask

    def restyle_fast(self, content_file, content_id, style_files, style_ids, alpha, keep_colour, mask_file, drawn):
        content, styles, mask = self._restyle_inputs(content_file, content_id, style_files, style_ids, mask_file, drawn)
        entry = self.studio.restyle_fast(content, styles, float(alpha), bool(keep_colour), mask)
        return str(entry.path), f"#{entry.id} restyle (fast)"

    def restyle_quality(
        self, content_file, content_id, style_files, style_ids, alpha, keep_colour, mask_file, drawn, iterations, size,
        request: gr.Request = None,
    ):  # fmt: skip
        """A generator: yields the picture as the optimisation goes, until it ends or Cancel is pressed."""
        content, styles, mask = self._restyle_inputs(content_file, content_id, style_files, style_ids, mask_file, drawn)

        def run(report, cancelled):
            return self.studio.restyle_quality(
                content, styles, float(alpha), bool(keep_colour), mask, int(iterations), int(size),
                on_progress=report, cancelled=cancelled,
            )  # fmt: skip

        for step, item in self._with_progress(run, request):
            if step == "done":
                entry = item
                yield (
                    (None, "cancelled")
                    if entry is None
                    else (str(entry.path), f"#{entry.id} restyle (quality, {int(iterations)} steps)")
                )
            else:
                yield item, f"step {step} of {int(iterations)}…"

    def music_video(
        self, model, audio, seconds, start, size, pulse, motion, seed, prompt="", request: gr.Request = None
    ):
        """A generator: yields how many frames are made, then the video (or "cancelled")."""
        if not audio:
            raise ArtforgeError("upload a sound file first (WAV, FLAC, OGG or MP3)")

        def run(report, cancelled):
            return self.studio.music_video(
                model, audio, float(seconds), float(start), int(size), float(pulse), float(motion), int(seed),
                on_frames=report, cancelled=cancelled, prompt=prompt or "",
            )  # fmt: skip

        for done, item in self._with_progress(run, request):
            if done == "done":
                yield (None, "cancelled") if item is None else (str(item), f"{Path(item).name}: done")
            else:
                yield None, f"{done} of {item} frames…"

    def _with_progress(self, run, request):
        """Run ``run(report, cancelled)`` on a worker thread; yield each ``report(a, b)`` as (a, b), then
        ("done", its result).  Cancel (or the page going away) sets ``cancelled`` and the work stops."""
        cancelled = self._cancel.setdefault(_session(request), threading.Event())
        cancelled.clear()
        reports: queue.Queue = queue.Queue()
        outcome: dict = {}

        def work():
            try:
                outcome["result"] = run(lambda a, b: reports.put((a, b)), cancelled)
            except Exception as exc:  # noqa: BLE001 — handed to the page's error path below
                outcome["error"] = exc
            reports.put(None)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        try:
            while (item := reports.get()) is not None:
                yield item
        finally:
            cancelled.set()  # the page went away or Cancel was pressed: stop the work too
            worker.join()
        if "error" in outcome:
            raise outcome["error"]
        yield "done", outcome.get("result")

    def cancel(self, request: gr.Request = None) -> str:
        self._cancel.setdefault(_session(request), threading.Event()).set()
        return "cancelling…"

    # ---------------------------------------------------------------- gallery, ratings, taste

    def search(self, text, limit):
        return self._shown(self.studio.search(text or "", int(limit)))

    def gallery(self, order, limit):
        if order == "critic":
            return self._shown(self.studio.top(int(limit), by="critic"))
        return self._shown(self.studio.gallery.list(order, int(limit)))

    def details(self, picture) -> str:
        entry = self.studio.gallery.get(_one_id(picture, "details"))
        info = {
            "id": entry.id, "kind": entry.kind, "rating": entry.rating, "parents": entry.parents,
            "model": entry.model_name, "model_sha256": entry.model_sha256, "provenance": entry.provenance,
        }  # fmt: skip
        return "```json\n" + json.dumps(info, indent=1, sort_keys=True) + "\n```"

    def rate(self, picture, score) -> str:
        return self._taste_text(self.studio.rate(_one_id(picture, "rating"), float(score)))

    def taste(self) -> str:
        return self._taste_text(self.studio.taste()) + self._curve_text(self.studio.taste_curve())

    def for_you(self, key, seed, n):
        return self._shown(self.studio.for_you(key, int(seed), int(n)))

    @staticmethod
    def _curve_text(rows: list[dict]) -> str:
        if not rows:
            return "\n\nRate at least 10 pictures to see how well your critic predicts your own ratings."
        lines = [
            "\n\nHow well your critic predicts your held-out ratings (Spearman, cross-validated on your ratings):",
            "",
            "| after ratings | your critic | the general critic |",
            "|---:|---:|---:|",
        ]
        lines += [f"| {r['ratings']} | {r['yours']:.2f} | {r['general']:.2f} |" for r in rows]
        return "\n".join(lines)

    @staticmethod
    def _taste_text(t: dict) -> str:
        text = f"Your critic has learnt **{t['ratings']}** rating(s)."
        if t["agreement"] is not None:
            text += (
                f" Its ranking of the newest {t['pictures']} pictures agrees with the shipped critic's at "
                f"Spearman {t['agreement']:.2f} (1 = unchanged)."
            )
        for r in t["risers"]:
            text += f"\n- #{r['id']}: rank {r['from']} → {r['to']} (score {r['score']:.1f})"
        return text

    def export(self, n, by):
        top = self.studio.top(int(n), by=by)
        if not top:
            raise ArtforgeError("the gallery is empty: make some pictures first")
        return str(self.studio.export([e.id for e in top]))

    def pick(self, shown: str, evt: gr.SelectData) -> int | None:
        ids = _ids(shown)
        return ids[evt.index] if evt.index is not None and evt.index < len(ids) else None

    def typed_favourites(self, text: str, chosen: list[int]) -> list[int]:
        """Favourites typed by hand replace the clicked ones; half-typed text keeps the last good list."""
        try:
            return _ids(text)
        except ArtforgeError:
            return chosen

    def toggle(self, shown: str, chosen: list[int], evt: gr.SelectData) -> tuple[list[int], str]:
        """Add the clicked picture to the favourites, or drop it.  The favourites live in a server-side State,
        read when the click is processed (not when it was sent), so quick clicks never overwrite each other."""
        ids, chosen = _ids(shown), list(chosen or [])
        if evt.index is not None and evt.index < len(ids):
            i = ids[evt.index]
            chosen = [c for c in chosen if c != i] if i in chosen else chosen + [i]
        return chosen, ", ".join(map(str, chosen))


def _session(request) -> str:
    return getattr(request, "session_hash", None) or "api"


def _has_strokes(editor_value: dict) -> bool:
    return bool(editor_value.get("layers")) or bool(editor_value.get("background"))


def build_app(studio: Studio, model: str = "default") -> gr.Blocks:
    """The page (not launched)."""
    page = Page(studio)
    w = {}  # every widget, by name: handy for tests that look inside
    choices = [(m.label, m.key) for m in studio.models()]
    if model not in [c[1] for c in choices]:
        choices.insert(0, (str(model), str(model)))
    with gr.Blocks(title="artforge studio", analytics_enabled=False, delete_cache=CACHE_SWEEP) as app:
        gr.Markdown("# artforge studio\nMake, breed, restyle and rate pictures; everything lands in the gallery.")
        with gr.Row():
            w["model"] = gr.Dropdown(choices, value=model, label="Model", scale=2)
            w["model_info"] = gr.Markdown()
        w["model"].change(_page_errors(page.model_info), w["model"], w["model_info"], api_name="model_info")
        app.load(_page_errors(page.model_info), w["model"], w["model_info"], api_visibility="private")
        with gr.Tabs():
            with gr.Tab("Create", id="create"):
                _create_tab(page, w)
            with gr.Tab("Breed", id="breed"):
                _breed_tab(page, w)
            with gr.Tab("Restyle", id="restyle"):
                _restyle_tab(page, w)
            with gr.Tab("Music", id="music"):
                _music_tab(page, w)
            with gr.Tab("Gallery", id="gallery"):
                _gallery_tab(page, w)
        app.load(
            _page_errors(page.gallery), [w["order"], w["limit"]], [w["gallery"], w["gallery_ids"]],
            api_visibility="private",
        )  # fmt: skip
    app.widgets = w
    return app


def in_click_order(event, fn, inputs, outputs) -> None:
    """Listen for a click on a picture (or typed favourites): every click is kept (Gradio's default drops one made
    while the last is in flight) and all of them are answered one at a time in the order made, so the last picture
    clicked is the one shown and quick clicks never overwrite each other's favourites."""
    event(
        fn, inputs, outputs, api_visibility="private", concurrency_limit=1, concurrency_id="clicks",
        trigger_mode="multiple",
    )  # fmt: skip


def _create_tab(page: Page, w: dict) -> None:
    with gr.Row():
        w["seed"] = gr.Number(0, label="Seed", precision=0, elem_id="create_seed")
        w["n"] = gr.Slider(1, 32, 8, step=1, label="Pictures", elem_id="create_n")
        w["truncation"] = gr.Slider(0.2, 1.5, 1.0, step=0.05, label="Truncation ψ (1 = none)")
    w["prompt"] = gr.Textbox(
        label="Prompt (optional): what the pictures should show, e.g. 'orange circles on dark blue'",
        elem_id="prompt",
    )
    w["create"] = gr.Button("Generate", variant="primary")
    w["samples"] = gr.Gallery(
        label="Samples (click to pick; picks are favourites for breeding)", columns=8,
        allow_preview=False, elem_id="samples",
    )  # fmt: skip
    w["sample_ids"] = gr.Textbox(label="Picture numbers shown", interactive=False, elem_id="sample_ids")
    w["picked"] = gr.Number(None, label="Picked picture", precision=0, elem_id="picked")
    w["create"].click(
        _page_errors(page.create), [w["model"], w["seed"], w["n"], w["truncation"], w["prompt"]],
        [w["samples"], w["sample_ids"]], api_name="create",
    )  # fmt: skip
    in_click_order(w["samples"].select, page.pick, w["sample_ids"], w["picked"])
    with gr.Accordion("Latent directions (GANSpace)", open=True):
        sliders = [
            gr.Slider(-3, 3, 0, step=0.25, label=f"Direction {k}", elem_id=f"direction-{k}")
            for k in range(STUDIO_DIRECTIONS)
        ]
        w["edit_layers"] = gr.Textbox(label="Only these style layers (StyleGAN, e.g. 0-3; empty = all)")
        w["edit"] = gr.Button("Apply to the picked picture")
        w["edited"] = gr.Image(label="Edited", type="filepath", interactive=False, height=256, elem_classes="enlarge")
        w["edited_id"] = gr.Number(label="Edited picture", precision=0, interactive=False, elem_id="edited_id")
        w["edit"].click(
            _page_errors(page.edit), [w["picked"], w["edit_layers"], *sliders], [w["edited"], w["edited_id"]],
            api_name="edit",
        )  # fmt: skip
    with gr.Accordion("Style mixing (StyleGAN)", open=True):
        with gr.Row():
            w["coarse"] = gr.Number(label="Coarse (layout) from picture", precision=0, elem_id="coarse")
            w["fine"] = gr.Number(label="Fine (colour, texture) from picture", precision=0, elem_id="fine")
            w["mix_layers"] = gr.Textbox("0-3", label="Layers taken from the coarse picture")
        w["mix"] = gr.Button("Mix")
        w["mixed"] = gr.Image(label="Mixed", type="filepath", interactive=False, height=256, elem_classes="enlarge")
        w["mixed_id"] = gr.Number(label="Mixed picture", precision=0, interactive=False, elem_id="mixed_id")
        w["mix"].click(
            _page_errors(page.mix), [w["coarse"], w["fine"], w["mix_layers"]], [w["mixed"], w["mixed_id"]],
            api_name="mix",
        )  # fmt: skip
    with gr.Accordion("Interpolate", open=True):
        with gr.Row():
            w["from"] = gr.Number(label="From picture", precision=0, elem_id="walk-from")
            w["to"] = gr.Number(label="To picture", precision=0, elem_id="walk-to")
            w["frames"] = gr.Slider(3, 16, 8, step=1, label="Frames in the strip")
        w["interpolate"] = gr.Button("Interpolate")
        w["strip"] = gr.Image(label="Strip", interactive=False, height=160, elem_classes="enlarge")
        w["walk"] = gr.Video(label="Looping walk", loop=True, autoplay=True, elem_id="walk", height=256)
        w["interpolate"].click(
            _page_errors(page.interpolate), [w["from"], w["to"], w["frames"]], [w["strip"], w["walk"]],
            api_name="interpolate",
        )  # fmt: skip
    with gr.Accordion("Bring in a picture (projection)", open=False):
        with gr.Row():
            w["project_upload"] = gr.Image(label="Upload", type="filepath", image_mode=None, sources=["upload"])
            w["sketch"] = gr.Sketchpad(label="…or draw", type="filepath", canvas_size=(256, 256))
        w["project_steps"] = gr.Slider(10, 500, 100, step=10, label="Optimisation steps")
        w["project"] = gr.Button("Project into the model")
        w["projected"] = gr.Image(
            label="The model's version", type="filepath", interactive=False, height=256, elem_classes="enlarge"
        )
        w["projected_info"] = gr.Markdown()
        w["project"].click(
            _page_errors(page.project), [w["model"], w["project_upload"], w["sketch"], w["project_steps"]],
            [w["projected"], w["projected_info"]], api_name="project",
        )  # fmt: skip


def _breed_tab(page: Page, w: dict) -> None:
    gr.Markdown("Click pictures to pick favourites (click again to drop one), then breed the next generation.")
    w["parents"] = gr.Textbox(label="Favourites (picture numbers)", elem_id="parents")
    with gr.Row():
        w["children"] = gr.Slider(1, 32, POPULATION, step=1, label="Children")
        w["strength"] = gr.Slider(0, 1, 0.3, step=0.05, label="Mutation strength")
        w["crossover"] = gr.Radio(["dimension", "layer", "none"], value="dimension", label="Crossover")
        w["breed_seed"] = gr.Number(0, label="Seed", precision=0)
        w["presort"] = gr.Checkbox(True, label="Best critic score first")
    w["breed"] = gr.Button("Breed", variant="primary")
    w["population"] = gr.Gallery(label="Population", columns=8, allow_preview=False, elem_id="population")
    w["population_ids"] = gr.Textbox(label="Picture numbers shown", interactive=False, elem_id="population_ids")
    w["breed"].click(
        _page_errors(page.breed),
        [w["parents"], w["children"], w["strength"], w["crossover"], w["breed_seed"], w["presort"]],
        [w["population"], w["population_ids"]], api_name="breed",
    )  # fmt: skip
    w["chosen"] = gr.State([])
    for typed in (w["parents"].blur, w["parents"].submit):  # numbers typed by hand, once the person moves on
        in_click_order(typed, page.typed_favourites, [w["parents"], w["chosen"]], w["chosen"])
    for shown, ids in (("population", "population_ids"), ("samples", "sample_ids")):
        in_click_order(w[shown].select, page.toggle, [w[ids], w["chosen"]], [w["chosen"], w["parents"]])
    with gr.Accordion("Lineage", open=True):
        w["lineage_of"] = gr.Number(label="Picture", precision=0, elem_id="lineage_of")
        w["lineage"] = gr.Button("Show its ancestors")
        w["lineage_text"] = gr.Markdown()
        w["ancestors"] = gr.Gallery(label="Ancestors", columns=8, height=200)
        w["lineage_parents"] = gr.Textbox(label="Its parents (walk back: type one above)", interactive=False)
        w["lineage"].click(
            _page_errors(page.lineage), w["lineage_of"], [w["lineage_text"], w["ancestors"], w["lineage_parents"]],
            api_name="lineage",
        )  # fmt: skip


def _restyle_tab(page: Page, w: dict) -> None:
    with gr.Row():
        w["content"] = gr.Image(
            label="Photo", type="filepath", image_mode=None, sources=["upload"], elem_id="content", height=320
        )
        w["styles"] = gr.File(
            label="Style pictures", file_count="multiple", file_types=["image"], type="filepath", elem_id="styles"
        )
    with gr.Row():
        w["content_id"] = gr.Textbox(label="…or the photo from the gallery (number)")
        w["style_ids"] = gr.Textbox(label="…or styles from the gallery (numbers)")
    with gr.Row():
        w["alpha"] = gr.Slider(0, 1, 1, step=0.05, label="α: content (0) … style (1)")
        w["keep_colour"] = gr.Checkbox(False, label="Keep the photo's colours")
    with gr.Accordion("Mask (two styles: white = first, black = second)", open=False):
        with gr.Row():
            w["mask_file"] = gr.Image(label="Upload a mask", type="filepath", image_mode=None, sources=["upload"])
            w["mask_drawn"] = gr.ImageEditor(label="…or draw it", type="filepath", canvas_size=(256, 256))
    style_inputs = [
        w["content"], w["content_id"], w["styles"], w["style_ids"], w["alpha"], w["keep_colour"], w["mask_file"],
        w["mask_drawn"],
    ]  # fmt: skip
    with gr.Row():
        w["iterations"] = gr.Slider(20, 1000, 200, step=10, label="Quality: steps")
        w["size"] = gr.Slider(128, 1024, 384, step=64, label="Quality: long side (px)")
    with gr.Row():
        w["fast"] = gr.Button("Fast (AdaIN)", variant="primary")
        w["quality"] = gr.Button("Quality (Gatys)")
        w["cancel"] = gr.Button("Cancel", variant="stop")
    w["restyled"] = gr.Image(label="Restyled", interactive=False, height=384)
    w["restyle_info"] = gr.Markdown(elem_id="restyle_info")
    w["fast"].click(
        _page_errors(page.restyle_fast), style_inputs, [w["restyled"], w["restyle_info"]], api_name="restyle_fast"
    )
    quality = w["quality"].click(
        _page_errors_gen(page.restyle_quality), [*style_inputs, w["iterations"], w["size"]],
        [w["restyled"], w["restyle_info"]], api_name="restyle_quality",
    )  # fmt: skip
    w["cancel"].click(page.cancel, None, w["restyle_info"], cancels=[quality], api_name="cancel")


def _music_tab(page: Page, w: dict) -> None:
    gr.Markdown(
        "Upload a piece of music: the model's pictures move with it — harmony chooses the picture, loudness moves "
        "it, drums and onsets pulse it — and the sound is in the video."
    )
    w["audio"] = gr.Audio(label="Music", type="filepath", sources=["upload"], elem_id="audio")
    with gr.Row():
        w["music_seconds"] = gr.Slider(2, 300, 30, step=1, label="Seconds of music")
        w["music_start"] = gr.Number(0, label="Start at (s)", minimum=0)
        w["music_size"] = gr.Slider(64, 512, 256, step=32, label="Frame size (px)")
    with gr.Row():
        w["music_pulse"] = gr.Slider(0, 1, 0.5, step=0.05, label="Pulse (drums, onsets)")
        w["music_motion"] = gr.Slider(0, 1, 0.3, step=0.05, label="Motion (loudness)")
        w["music_seed"] = gr.Number(0, label="Seed (which key pictures)", precision=0)
    w["music_prompt"] = gr.Textbox(label="Prompt (optional): key pictures that show this", elem_id="music_prompt")
    with gr.Row():
        w["music_go"] = gr.Button("Make the video", variant="primary")
        w["music_cancel"] = gr.Button("Cancel", variant="stop")
    w["music_info"] = gr.Markdown(elem_id="music_info")
    w["music_video"] = gr.Video(label="Music video", elem_id="music_video", height=384)
    w["music_go"].click(
        _page_errors_gen(page.music_video),
        [w["model"], w["audio"], w["music_seconds"], w["music_start"], w["music_size"], w["music_pulse"],
         w["music_motion"], w["music_seed"], w["music_prompt"]],
        [w["music_video"], w["music_info"]], api_name="music_video",
    )  # fmt: skip
    w["music_cancel"].click(page.cancel, None, w["music_info"], api_name="music_cancel")


def _gallery_tab(page: Page, w: dict) -> None:
    with gr.Row():
        w["order"] = gr.Radio(["new", "rating", "critic", "old"], value="new", label="Sort by")
        w["limit"] = gr.Slider(8, 500, 48, step=8, label="Show")
        w["refresh"] = gr.Button("Refresh")
    w["gallery"] = gr.Gallery(
        label="Gallery (click a picture to see, rate or trace it)", columns=8, height=420, allow_preview=False,
        elem_id="gallery",
    )  # fmt: skip
    w["gallery_ids"] = gr.Textbox(label="Picture numbers shown", interactive=False, elem_id="gallery_ids")
    with gr.Row():
        w["search_text"] = gr.Textbox(label="Search by text, e.g. 'a red sun over hills'", elem_id="search_text")
        w["search"] = gr.Button("Search")
    search_inputs, shown = [w["search_text"], w["limit"]], [w["gallery"], w["gallery_ids"]]
    w["search"].click(_page_errors(page.search), search_inputs, shown, api_name="search")
    w["search_text"].submit(_page_errors(page.search), search_inputs, shown, api_visibility="private")
    w["refresh"].click(
        _page_errors(page.gallery), [w["order"], w["limit"]], [w["gallery"], w["gallery_ids"]], api_name="gallery"
    )
    w["order"].change(
        _page_errors(page.gallery), [w["order"], w["limit"]], [w["gallery"], w["gallery_ids"]], api_visibility="private"
    )
    with gr.Row():
        w["current"] = gr.Number(label="Picture", precision=0, elem_id="current")
        w["score"] = gr.Slider(0, 10, 5, step=0.5, label="Your rating (0–10)", elem_id="score")
        w["rate"] = gr.Button("Rate", variant="primary")
    w["details"] = gr.Markdown()
    w["taste"] = gr.Markdown(elem_id="taste")
    in_click_order(w["gallery"].select, page.pick, w["gallery_ids"], w["current"])
    w["current"].change(_page_errors(page.details), w["current"], w["details"], api_name="details")
    w["rate"].click(_page_errors(page.rate), [w["current"], w["score"]], w["taste"], api_name="rate").then(
        _page_errors(page.details), w["current"], w["details"], api_visibility="private"
    )  # the picture's details now show its rating
    w["taste_btn"] = gr.Button("How has my critic changed?")
    w["taste_btn"].click(_page_errors(page.taste), None, w["taste"], api_name="taste")
    with gr.Row():
        w["for_you_n"] = gr.Slider(1, 32, 8, step=1, label="Pictures", elem_id="for_you_n")
        w["for_you_seed"] = gr.Number(0, label="Seed", precision=0, elem_id="for_you_seed")
        w["for_you"] = gr.Button("For you: what your critic likes, from the model above", elem_id="for_you")
    w["for_you"].click(
        _page_errors(page.for_you), [w["model"], w["for_you_seed"], w["for_you_n"]],
        [w["gallery"], w["gallery_ids"]], api_name="for_you",
    )  # fmt: skip
    with gr.Row():
        w["top_n"] = gr.Slider(1, 100, 10, step=1, label="Export the top")
        w["top_by"] = gr.Radio(["rating", "critic"], value="rating", label="by")
        w["export"] = gr.Button("Export zip")
    w["export_file"] = gr.File(label="Zip with a JSON manifest")
    w["export"].click(_page_errors(page.export), [w["top_n"], w["top_by"]], w["export_file"], api_name="export")


def served_folders(home: Path) -> list[str]:
    """What the page may serve from the studio home: pictures, exports, walks and music videos — not the
    database or the critic."""
    folders = [home / "pictures", home / "exports", home / "walks", home / "videos"]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return [str(f) for f in folders]


def check_host(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse to open the studio to the network without a password."""
    local = host in ("localhost",) or _is_loopback(host)
    if not local and auth is None:
        raise ArtforgeError(
            f"--host {host} opens the studio to other machines; add --auth USER:PASS (or keep the default 127.0.0.1)"
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ArtforgeError("--auth takes USER:PASS")
    return user, password


# A 32-px model's picture fills its box, with crisp pixels, instead of sitting as a speck in the middle.
ENLARGE_CSS = ".enlarge img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }"


M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas.  Gradio answers requests on up to 40 worker threads; by default glibc gives
    each its own arena, and torch's per-request buffers left in them tripled the studio's memory under load
    (bench/studio_load.py: 3.7 GB vs 1.8 GB after three rounds of 20 clients).  No-op off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc.mallopt(M_ARENA_MAX, arenas) == 1
    except (OSError, AttributeError):
        return False


def launch(
    home: str | Path,
    model: str = "default",
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    runs: str | Path = "runs",
    block: bool = True,
):
    """Build and serve the studio; returns (app, local URL) when ``block`` is False."""
    credentials = parse_auth(auth)
    check_host(host, credentials)
    limit_malloc_arenas()
    studio = Studio(home, runs=runs)
    studio.model(model)  # a wrong model name fails here, in one line, before the server starts
    app = build_app(studio, model)
    app.queue(default_concurrency_limit=2)
    _, url, _ = app.launch(
        server_name=host, server_port=int(port), auth=credentials, allowed_paths=served_folders(studio.home),
        max_file_size=MAX_AUDIO_BYTES,  # the largest upload (sound); pictures are held to less in read_upload
        prevent_thread_lock=not block, ssr_mode=False, quiet=not block,
        show_error=True,  # only messages written for people reach the page: see _page_error
        footer_links=["api"], css=ENLARGE_CSS,
        theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]),
    )  # fmt: skip
    return app, url
