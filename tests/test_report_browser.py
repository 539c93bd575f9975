"""End to end: the report opens in headless Chromium from a file:// URL with every image loaded.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them the
test is skipped locally, but fails when the environment variable ``CI`` is set, so CI cannot
pass by skipping it.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import planner
from planner.report import FIGURES_DIR, run_data, write_report
from tests.prerequisites import unavailable
from tests.test_report import review_dict

CHROMIUM_NAMES = ("chromium", "chromium-browser")
DRIVER_NAMES = ("chromedriver",)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
)


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        for candidate in (f"/usr/bin/{name}", shutil.which(name)):
            if candidate and os.access(candidate, os.X_OK):
                return candidate
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium driven by chromedriver, with a fresh profile and no network use."""
    chromium, driver = _find(CHROMIUM_NAMES), _find(DRIVER_NAMES)
    if chromium is None or driver is None:
        unavailable(
            "chromium and chromedriver are not installed", "install chromium chromium-driver"
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed", "pip install -e '.[dev]'")
    options = Options()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.binary_location = str(chromium)
    session = webdriver.Chrome(service=Service(executable_path=str(driver)), options=options)
    session.set_page_load_timeout(60)
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of a run with every kind of figure: deliveries, a ban, a credit deal, failures."""
    res = planner.simulate(planner.Scenario.model_validate(review_dict()), seed=0)
    return write_report(tmp_path_factory.mktemp("report"), run=run_data(res))


def test_every_figure_loads_in_a_browser_and_the_page_is_not_blank(
    browser: Any, report: Path
) -> None:
    from PIL import Image

    browser.get(report.resolve().as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map("
        "i => ({complete: i.complete, width: i.naturalWidth, alt: i.alt}))"
    )
    figures = sorted((report.parent / FIGURES_DIR).glob("*.png"))
    assert len(figures) == 9
    assert len(images) == len(figures)
    for image in images:
        assert image["complete"] and image["width"] > 0, image["alt"]
    text = browser.execute_script("return document.body.innerText")
    assert "GPUs in service by model" in text and "Credit burn-down per deal" in text
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    colours = shot.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 1, "the screenshot is a single colour"
