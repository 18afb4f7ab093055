"""The studio in a real browser: Playwright driving Debian's chromium (never a downloaded browser).

Open the page, generate, pick two favourites by clicking, breed two generations, rate, restyle fast, reload
the page and find everything in the gallery, then ask for pictures "For you".  Screenshots of each tab go to
the test's temp folder (and to ``$ARTFORGE_SCREENSHOTS`` when set, to look at them)."""

import contextlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artforge.studio.launcher import CHROMIUM_ARGS, chromium
from tests.conftest import tiny_export
from tests.studio.test_app import start_studio

CHROMIUM = chromium()
TIMEOUT_MS = 180_000  # one action; generous because CI's 2 cores may be busy with other tests' processes

if CHROMIUM is None and os.environ.get("ARTFORGE_REQUIRE_BROWSER"):
    pytest.fail("chromium is missing but ARTFORGE_REQUIRE_BROWSER is set: apt-get install chromium", pytrace=False)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make browser installs it)")


@pytest.fixture
def browser_page(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    runs = tmp_path / "runs"
    tiny_export(runs / "tiny-dcgan" / "model", "dcgan")
    proc, url = start_studio(tmp_path / "home", runs, tmp_path)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.console_lines = []  # what the page logged, printed if the test fails
            page.on("console", lambda msg: page.console_lines.append(f"{msg.type}: {msg.text}"))
            page.goto(url)
            yield page, url
            browser.close()
    finally:
        proc.kill()
        proc.wait()


def shot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / "screenshots" / f"{name}.png"
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("ARTFORGE_SCREENSHOTS"):
        Path(os.environ["ARTFORGE_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["ARTFORGE_SCREENSHOTS"]) / path.name)


@contextlib.contextmanager
def explained_failure(page, tmp_path: Path):
    """On failure, print what the page showed and the studio's log, so a failure on a CI machine can be understood."""
    try:
        yield
    except BaseException:
        shot(page, tmp_path, "failure")
        print("page text at failure:\n", page.locator("body").inner_text(timeout=10_000)[-3000:])
        print("studio log:\n", (tmp_path / "studio.log").read_text(errors="replace")[-3000:])
        print("browser console:\n", "\n".join(page.console_lines[-40:]))
        raise


def wait_value(page, selector: str, value: str) -> None:
    page.wait_for_function(f"document.querySelector({selector!r}).value === {value!r}")


def wait_images(page, gallery: str, at_least: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#{gallery} img').length >= {at_least}")


def test_generate_breed_rate_restyle_reload(browser_page, tmp_path):
    page, url = browser_page
    with explained_failure(page, tmp_path):
        rng = np.random.default_rng(0)
        for name in ("photo.png", "style.png"):
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(tmp_path / name)

        # Create: a grid of samples; clicking two makes them favourites
        page.get_by_role("button", name="Generate").click()
        wait_images(page, "samples", 8)
        thumbs = page.locator("#samples button.thumbnail-item")
        thumbs.nth(0).click()
        thumbs.nth(2).click()  # at once: the second click must not lose the first
        wait_value(page, "#picked input", "3")
        shot(page, tmp_path, "1-create")

        # Breed: two generations from the picks
        page.get_by_role("tab", name="Breed").click()
        wait_value(page, "#parents textarea", "1, 3")
        favourites = page.locator("#parents textarea")
        page.get_by_role("button", name="Breed", exact=True).click()
        wait_images(page, "population", 8)
        first_generation = page.locator("#population_ids textarea").input_value()
        favourites.fill(", ".join(first_generation.split(", ")[:2]))
        favourites.blur()
        page.get_by_role("button", name="Breed", exact=True).click()
        page.wait_for_function(
            f"(v => v && v !== '{first_generation}')(document.querySelector('#population_ids textarea').value)"
        )
        wait_images(page, "population", 8)
        shot(page, tmp_path, "2-breed")

        # Restyle: fast, from uploads
        page.get_by_role("tab", name="Restyle").click()
        page.locator("#content input[type=file]").set_input_files(str(tmp_path / "photo.png"))
        page.locator("#styles input[type=file]").set_input_files(str(tmp_path / "style.png"))
        page.get_by_role("button", name="Fast (AdaIN)").click()
        page.wait_for_function("document.body.innerText.includes('restyle (fast)')")
        shot(page, tmp_path, "3-restyle")

        # Gallery: pick a picture by clicking, rate it, see the taste panel
        page.get_by_role("tab", name="Gallery").click()
        page.get_by_role("button", name="Refresh").click()
        wait_images(page, "gallery", 20)
        page.locator("#gallery button.thumbnail-item").nth(0).click()
        page.wait_for_function("document.querySelector('#current input').value !== ''")
        page.get_by_role("button", name="Rate", exact=True).click()
        page.wait_for_function("document.body.innerText.includes('learnt 1 rating')")
        shot(page, tmp_path, "4-gallery")
        total = len(page.locator("#gallery_ids textarea").input_value().split(","))
        assert total >= 8 + 8 + 8 + 3  # samples, two generations, the restyle and its two uploads

        # Reload: the gallery finds everything again
        page.reload()
        page.get_by_role("tab", name="Gallery").click()
        wait_images(page, "gallery", min(total, 48))
        shown = page.locator("#gallery_ids textarea").input_value()
        assert len(shown.split(",")) == total
        shot(page, tmp_path, "5-reloaded")

        # For you: new pictures the person's critic ranks high, shown in the gallery
        page.locator("#for_you_n input[type=number]").fill("4")
        page.locator("#for_you_n input[type=number]").blur()
        wait_value(page, "#for_you_n input[type=range]", "4")  # the page holds the new count before the click
        page.locator("#for_you").click()
        page.wait_for_function(
            f"(v => v !== {shown!r} && v.split(',').length === 4)"
            "(document.querySelector('#gallery_ids textarea').value)"
        )
        wait_images(page, "gallery", 4)
        for_you = [int(t) for t in page.locator("#gallery_ids textarea").input_value().split(",")]
        assert min(for_you) > max(int(t) for t in shown.split(","))  # made now, not picked from the gallery
        shot(page, tmp_path, "6-for-you")
