"""The app in a real browser: `streamlit run` on a free loopback port, driven by headless Chromium.

Screenshots of every page go to `test-artifacts/` (gitignored); with ``PRICING_SCREENSHOTS=<folder>``
(`make screenshots` sets docs/screenshots) they are also written there for the README.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
PAGES = {"simulate": "", "scenario": "scenario", "wtp": "wtp", "compare": "compare", "export": "export"}
VIEWPORT = {"width": 1440, "height": 1500}

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """The app served by `streamlit run`, headless on 127.0.0.1; stopped by its process id afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (make test installs it via .ci/system-deps)")
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "streamlit.log", "w")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app" / "streamlit_app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"streamlit did not start; see {ARTIFACTS / 'streamlit.log'}"
                    ) from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _settled(page, timeout: float = 60.0) -> None:
    """Wait until the script run finished and every chart on the page has drawn."""
    page.wait_for_selector("[data-testid=stApp]", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = page.locator("[data-testid=stStatusWidget]").count()
        charts = page.locator("[data-testid=stVegaLiteChart]").count()
        drawn = page.locator(
            "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg"
        ).count()
        skeletons = page.locator("[data-testid=stSkeleton]").count()
        if not running and not skeletons and drawn >= charts:
            time.sleep(0.5)
            return
        time.sleep(0.2)
    raise AssertionError("the page did not settle")


def _metric(page, label: str) -> str:
    metric = page.locator("[data-testid=stMetric]").filter(has_text=label).first
    return metric.locator("[data-testid=stMetricValue]").inner_text()


def _save(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    extra = os.environ.get("PRICING_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / f"{name}.png")


def test_price_change_with_keyboard_redraws_and_changes_profit(server, browser):
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(server)
        _settled(page)
        assert page.locator("[data-testid=stException]").count() == 0
        profit_before = _metric(page, "Profit")
        chart = page.locator("[data-testid=stVegaLiteChart]").first
        picture_before = chart.screenshot()

        page.locator("[data-testid=stSlider] input[type=range]").first.focus()
        for _ in range(4):  # four grid steps up: EUR 12.00 -> 13.00
            page.keyboard.press("ArrowRight")
        deadline = time.monotonic() + 30
        while _metric(page, "Profit") == profit_before and time.monotonic() < deadline:
            time.sleep(0.2)
        _settled(page)
        profit_after = _metric(page, "Profit")
        assert profit_after != profit_before
        assert chart.screenshot() != picture_before, "the profit chart did not redraw"
        assert "price=13" in page.url
        _save(page, "simulate")
    finally:
        page.close()


@pytest.mark.parametrize("name", [n for n in PAGES if n != "simulate"])
def test_every_page_renders(server, browser, name):
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{server}/{PAGES[name]}")
        _settled(page)
        assert page.locator("[data-testid=stException]").count() == 0
        _save(page, name)
    finally:
        page.close()
