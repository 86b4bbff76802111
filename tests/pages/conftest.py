"""Pages in a real browser: Debian's headless Chromium driven by selenium against a live server.

One browser per test session; each test's last screen is kept under build/test-artifacts/pages/
(VOXTRAL_ARTIFACTS to move it). Never fakes the browser: with no chromium, these tests fail
(scripts/bootstrap.sh installs it).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("VOXTRAL_ARTIFACTS", ROOT / "build" / "test-artifacts")) / "pages"


def _chromium() -> tuple[str, str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        raise RuntimeError(
            "The page tests need Chromium and ChromeDriver: run scripts/bootstrap.sh, or "
            "apt-get install chromium chromium-driver."
        )
    return binary, driver


@pytest.fixture(scope="session")
def chromium() -> Iterator[WebDriver]:
    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",  # play() from a test, with no click
        "--mute-audio",
        "--window-size=1280,900",
        "--disable-gpu",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: WebDriver, request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    """The session's browser, its cookies cleared; the test's last screen saved as a PNG."""
    chromium.delete_all_cookies()
    try:
        yield chromium
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]
        # A browser that died has no screen to keep; the test itself says why it failed.
        with contextlib.suppress(Exception):
            chromium.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        chromium.get("about:blank")


@pytest.fixture
def log_in(browser: WebDriver, live_server: Any) -> Callable[[Any], None]:
    """Gives the browser a logged-in session of ``user`` (no login form to fill)."""

    def log_in_as(user: Any) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        browser.get(f"{live_server.url}/static/django_voxtral/follow.css")
        browser.add_cookie(
            {"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "path": "/"}
        )

    return log_in_as


def wait_for(browser: WebDriver, script: str, timeout: float = 15, *args: Any) -> Any:
    """Polls a JavaScript expression (``return ...``) until it gives something truthy."""
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(
        lambda driver: driver.execute_script(script, *args)
    )


@pytest.fixture(scope="session")
def talk_webm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """12 s of VP8 picture and Opus sound in WebM, which every Chromium plays."""
    path = tmp_path_factory.mktemp("pages") / "talk.webm"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=size=320x180:rate=15:duration=12",
         "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=12",
         "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "200k",
         "-c:a", "libopus", "-b:a", "32k", "-shortest", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path.read_bytes()
