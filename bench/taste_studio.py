"""The taste loop tried as a new user would, in a real browser: rate 30 pictures in the studio, open "For you".

Playwright drives Debian's chromium against ``artforge studio`` on the shipped model.  A simulated person (one of
bench/taste.py's tastes) looks at each picture the page shows — the file the browser was served — and rates it
by clicking: pick the thumbnail, set the slider, press Rate.  Then "For you" is pressed, and the same person
judges what it shows against a plain grid of the same seed (Create tab) and against the pictures they rated.

    PYTHONPATH=src .venv/bin/python bench/taste_studio.py --tastes warm,sparse,symmetric \\
        --json bench/taste_studio.json --shots bench/figures

Reported per taste: the true taste of the For-you pictures and of the plain grid as quantiles among the
pictures the person was shown to rate (0.5 = an average one of them), the seconds each step took, and
screenshots of the gallery before and after.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "src", ROOT / "bench"):
    if str(path) not in sys.path:  # runnable without installing the package
        sys.path.insert(0, str(path))

from taste import TASTES, pool_quantile  # noqa: E402

from artforge.studio.launcher import CHROMIUM_ARGS, chromium, start_studio_process  # noqa: E402

TIMEOUT_MS = 300_000


def shown_pictures(page, gallery: str, numbers: str) -> tuple[list[int], torch.Tensor]:
    """The picture numbers a gallery shows (its ``numbers`` box) and the pictures, as the browser was served them."""
    ids = [int(t) for t in page.locator(f"#{numbers} textarea").input_value().replace(",", " ").split()]
    sources = [img.get_attribute("src") for img in page.locator(f"#{gallery} button.thumbnail-item img").all()]
    pictures = []
    for src in sources:
        with urllib.request.urlopen(src, timeout=30) as response:
            im = Image.open(io.BytesIO(response.read())).convert("RGB").resize((256, 256), Image.BICUBIC)
        pictures.append(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1))
    return ids, torch.stack(pictures)


def set_number(page, selector: str, value: float) -> None:
    """Type a number into a box and leave it, as a person does."""
    box = page.locator(selector)
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def set_slider(page, elem_id: str, value: float) -> None:
    """Type a number into a slider's box, then wait until the slider itself holds it (the value a click sends)."""
    set_number(page, f"#{elem_id} input[type=number]", value)
    page.wait_for_function(f"Number(document.querySelector('#{elem_id} input[type=range]').value) === {float(value)}")


def generate(page, seed: int, n: int) -> tuple[list[int], torch.Tensor]:
    page.get_by_role("tab", name="Create").click()
    set_number(page, "#create_seed input", seed)
    set_slider(page, "create_n", n)
    before = page.locator("#sample_ids textarea").input_value()
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function(
        f"(v => v && v !== {before!r} && v.split(',').length === {n})"
        "(document.querySelector('#sample_ids textarea').value)"
    )
    page.wait_for_function(f"document.querySelectorAll('#samples img').length === {n}")
    return shown_pictures(page, "samples", "sample_ids")


def rate_all(page, ratings: list[float]) -> None:
    """Click each gallery thumbnail in turn, set the slider to the person's rating, press Rate."""
    thumbs = page.locator("#gallery button.thumbnail-item")
    for i, score in enumerate(ratings):
        thumbs.nth(i).click()
        page.wait_for_function(
            f"document.querySelector('#current input').value === "
            f"document.querySelector('#gallery_ids textarea').value.split(', ')[{i}]"
        )
        set_slider(page, "score", score)
        page.get_by_role("button", name="Rate", exact=True).click()
        page.wait_for_function(f"document.querySelector('#taste').innerText.includes('learnt {i + 1} rating')")


def try_taste(page, name: str, args, shots: Path | None) -> dict:
    taste = TASTES[name]
    timings = {}
    start = time.perf_counter()
    rated_ids, rated = generate(page, seed=args.seed, n=args.ratings)
    timings["generate"] = time.perf_counter() - start
    truth = taste(rated)
    quantile = lambda values: pool_quantile(values, truth)  # noqa: E731 — among the pictures rated
    ratings = [float(np.clip(round(10 * float(q)), 0, 10)) for q in quantile(truth)]

    page.get_by_role("tab", name="Gallery").click()
    page.get_by_role("button", name="Refresh").click()
    newest = ", ".join(map(str, rated_ids[::-1][:3]))  # newest first: the grid just made
    page.wait_for_function(f"document.querySelector('#gallery_ids textarea').value.startsWith({newest!r})")
    page.wait_for_function(f"document.querySelectorAll('#gallery img').length >= {args.ratings}")
    gallery_ids, _ = shown_pictures(page, "gallery", "gallery_ids")
    by_id = dict(zip(rated_ids, ratings))
    start = time.perf_counter()
    rate_all(page, [by_id[i] for i in gallery_ids[: args.ratings]])
    timings["rate_each"] = (time.perf_counter() - start) / args.ratings
    if shots:
        page.screenshot(path=str(shots / f"taste-studio-{name}-rated.png"), full_page=True)

    plain_ids, plain = generate(page, seed=args.for_you_seed, n=args.n)
    page.get_by_role("tab", name="Gallery").click()
    set_number(page, "#for_you_seed input", args.for_you_seed)
    set_slider(page, "for_you_n", args.n)
    before = page.locator("#gallery_ids textarea").input_value()
    start = time.perf_counter()
    page.locator("#for_you").click()
    page.wait_for_function(
        f"(v => v && v !== {before!r} && v.split(',').length === {args.n})"
        "(document.querySelector('#gallery_ids textarea').value)"
    )
    page.wait_for_function(f"document.querySelectorAll('#gallery img').length === {args.n}")
    timings["for_you"] = time.perf_counter() - start
    for_you_ids, for_you = shown_pictures(page, "gallery", "gallery_ids")
    if shots:
        page.screenshot(path=str(shots / f"taste-studio-{name}-for-you.png"), full_page=True)
    return {
        "rows": torch.cat([torch.cat(list(plain), 2), torch.cat(list(for_you), 2)], 1),  # for the sheet
        "ratings": ratings,
        "for_you_ids": for_you_ids,
        "plain_ids": plain_ids,
        "for_you_quantile": float(quantile(taste(for_you)).mean()),
        "plain_quantile": float(quantile(taste(plain)).mean()),
        "rated_high_quantile": float(statistics.mean(float(q) for q, r in zip(quantile(truth), ratings) if r >= 7)),
        "seconds": timings,
    }


def write_sheet(rows: list[torch.Tensor], path: Path, cell: int) -> None:
    """Stack each taste's two rows (3×2S×nS pictures) with a white gap between tastes, at ``cell`` px a picture."""
    gap = torch.full((3, rows[0].size(1) // 8, rows[0].size(2)), 255, dtype=torch.uint8)
    sheet = torch.cat([part for row in rows for part in (row, gap)][:-1], 1)
    scale = cell / (rows[0].size(1) // 2)
    im = Image.fromarray(sheet.permute(1, 2, 0).numpy())
    im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS).save(path)


def main(argv=None) -> dict:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tastes", default="warm", help="comma-separated, of: " + ", ".join(TASTES))
    p.add_argument("--ratings", type=int, default=30, help="pictures the person rates (default 30)")
    p.add_argument("--n", type=int, default=8, help="pictures For you shows (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the grid the person rates")
    p.add_argument("--for-you-seed", type=int, default=1, help="seed of For you and of the plain grid beside it")
    p.add_argument("--shots", type=Path, help="folder for full-page screenshots after rating and after For you")
    p.add_argument("--sheet", type=Path, help="PNG: per taste, the plain grid above and For you below it")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    browser_path = chromium()
    if browser_path is None:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    result = {
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "model": "default (shipped)",
        "tastes": {},
    }
    sheet_rows = []
    for name in args.tastes.split(","):
        with tempfile.TemporaryDirectory() as tmp:  # a new person: their own studio home
            tmp = Path(tmp)
            proc, url = start_studio_process(tmp / "home", tmp / "runs", tmp / "studio.log")
            try:
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=browser_path, headless=True, args=CHROMIUM_ARGS)
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.set_default_timeout(TIMEOUT_MS)
                    page.goto(url)
                    row = try_taste(page, name, args, args.shots)
                    browser.close()
            except Exception:
                print((tmp / "studio.log").read_text(errors="replace")[-3000:])
                raise
            finally:
                proc.kill()
                proc.wait()
        sheet_rows.append(row.pop("rows"))
        result["tastes"][name] = row
        print(
            f"{name:10s} For you {row['for_you_quantile']:.2f} vs plain grid {row['plain_quantile']:.2f} "
            f"(quantile of the true taste among the {args.ratings} rated; rated >= 7: "
            f"{row['rated_high_quantile']:.2f}); rating {row['seconds']['rate_each']:.1f} s each, "
            f"For you {row['seconds']['for_you']:.0f} s",
            flush=True,
        )
    if args.sheet:
        write_sheet(sheet_rows, args.sheet, cell=96)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
