"""Screenshots of every studio tab in use, for the docs and issue notes: starts `artforge studio` on MODEL,
drives it in Debian's chromium with Playwright — generate, direction edit, style mixing, interpolation, three
generations of breeding, lineage, fast and quality restyle of a photo, rating, export — and saves one PNG per tab.

    .venv/bin/python scripts/studio_screenshots.py runs/my-stylegan --runs runs --photo cat.jpg --style painting.jpg \\
        --out bench/figures/studio
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from artforge.studio.launcher import start_studio_process  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def set_number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")


def wait_value(page, selector: str, value) -> None:
    try:
        page.wait_for_function(f"document.querySelector({selector!r})?.value === {str(value)!r}", timeout=60_000)
    except Exception:
        page.screenshot(path="/tmp/shot-failure.png", full_page=True)
        print("wanted", value, "got", page.evaluate(f"document.querySelector({selector!r})?.value"))
        raise


def wait_value_set(page, selector: str) -> None:
    page.wait_for_function(f"!!document.querySelector({selector!r})?.value")


def wait_text(page, text: str) -> None:
    page.wait_for_function(f"document.body.innerText.includes({text!r})")


def ids_in(page, elem_id: str) -> list[str]:
    return [t.strip() for t in page.locator(f"#{elem_id} textarea").input_value().split(",") if t.strip()]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the model to open on (a run folder; a StyleGAN shows mixing too)")
    p.add_argument("--runs", default="runs")
    p.add_argument("--photo", required=True)
    p.add_argument("--style", required=True)
    p.add_argument("--out", type=Path, default=Path("out/studio-screenshots"))
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="studio-shots-"))
    env = {**os.environ, "GRADIO_TEMP_DIR": str(work / "gradio")}
    proc, url = start_studio_process(work / "home", args.runs, work / "studio.log", env, model=args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(180_000)
            page.goto(url)
            page.get_by_role("button", name="Generate").click()
            page.wait_for_function("document.querySelectorAll('#samples img').length >= 8")
            thumbs = page.locator("#samples button.thumbnail-item")
            thumbs.nth(0).click()
            thumbs.nth(3).click()
            first = ids_in(page, "sample_ids")
            wait_value(page, "#picked input", first[3])
            set_number(page, "direction-0", 2.5)
            set_number(page, "direction-1", -2)
            page.get_by_role("button", name="Apply to the picked picture").click()
            wait_value_set(page, "#edited_id input")
            set_number(page, "coarse", first[0])
            set_number(page, "fine", first[3])
            page.get_by_role("button", name="Mix", exact=True).click()
            wait_value_set(page, "#mixed_id input")
            set_number(page, "walk-from", first[0])
            set_number(page, "walk-to", first[3])
            page.get_by_role("button", name="Interpolate", exact=True).click()
            page.wait_for_function("document.querySelector('#walk video') !== null")
            page.wait_for_timeout(2_000)
            page.screenshot(path=str(args.out / "studio-create.png"), full_page=True)

            page.get_by_role("tab", name="Breed").click()
            wait_value(page, "#parents textarea", f"{first[0]}, {first[3]}")
            for generation in range(3):
                before = ", ".join(ids_in(page, "population_ids"))
                page.get_by_role("button", name="Breed", exact=True).click()
                page.wait_for_function(
                    f"(v => v && v !== {before!r})(document.querySelector('#population_ids textarea').value)"
                )
                page.wait_for_function("document.querySelectorAll('#population img').length >= 8")
                kids = page.locator("#population button.thumbnail-item")
                page.locator("#parents textarea").fill("")
                page.locator("#parents textarea").blur()  # typed favourites count once the person moves on
                kids.nth(0).click()
                kids.nth(1).click()
                shown = ids_in(page, "population_ids")
                wait_value(page, "#parents textarea", f"{shown[0]}, {shown[1]}")
            newest = ids_in(page, "population_ids")[0]
            set_number(page, "lineage_of", newest)
            page.get_by_role("button", name="Show its ancestors").click()
            wait_text(page, "sample")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / "studio-breed.png"), full_page=True)

            page.get_by_role("tab", name="Restyle").click()
            page.locator("#content input[type=file]").set_input_files(args.photo)
            page.locator("#styles input[type=file]").set_input_files(args.style)
            page.get_by_role("button", name="Fast (AdaIN)").click()
            wait_text(page, "restyle (fast)")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(args.out / "studio-restyle-fast.png"), full_page=True)
            page.get_by_role("button", name="Quality (Gatys)").click()
            wait_text(page, "step ")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / "studio-restyle-quality-progress.png"), full_page=True)
            wait_text(page, "restyle (quality")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(args.out / "studio-restyle-quality.png"), full_page=True)

            page.get_by_role("tab", name="Gallery").click()
            page.get_by_role("button", name="Refresh").click()
            page.wait_for_function("document.querySelectorAll('#gallery img').length >= 16")
            page.locator("#gallery button.thumbnail-item").nth(4).click()
            set_number(page, "score", 9)
            page.get_by_role("button", name="Rate", exact=True).click()
            wait_text(page, "learnt 1 rating")
            page.get_by_role("button", name="Export zip").click()
            page.wait_for_function("document.body.innerText.includes('.zip')")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(args.out / "studio-gallery.png"), full_page=True)
            browser.close()
    finally:
        proc.kill()
        proc.wait()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
