"""Live progress in a real browser: while a worker runs, the workspace and the admin list update
by themselves (chunks done of total, the words so far), and the page opens the result when done.

A real run (runner.run_transcript in a thread, the real pipeline on a 12 s tone cut into chunks
of at most 4 s) with a backend that answers each chunk only when the test releases it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from django_voxtral.models import Transcript
from django_voxtral.runner import run_transcript
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import tone
from tests.pages.conftest import wait_for
from tests.testapp.backends import GatedBackend

pytestmark = pytest.mark.django_db(transaction=True)

GATED = {
    "BACKENDS": {
        "default": {
            "BACKEND": "tests.testapp.backends.GatedBackend",
            "OPTIONS": {"text": "words so far"},
        }
    },
    "MAX_CHUNK_SECONDS": 4,
    "CONCURRENCY": 1,
    **TONES_ARE_SPEECH,
}


@pytest.fixture
def worker(alice: Any, tmp_path: Path) -> Iterator[tuple[Transcript, threading.Thread]]:
    """A running 12 s transcript (its chunks counted) and its worker thread, held before its
    first chunk."""
    GatedBackend.reset()
    audio = tone(tmp_path / "talk.wav", 12.0, 440.0)
    with override_settings(VOXTRAL=GATED):
        row = Transcript.objects.create(owner=alice, media_name="talk.wav")
        row.media.save("talk.wav", ContentFile(audio.read_bytes()), save=True)
        outcome: list[str] = []
        thread = threading.Thread(target=lambda: outcome.append(run_transcript(row.pk)))
        thread.start()
        try:
            wait_running(row)
            yield row, thread
        finally:
            GatedBackend.release(10)  # whatever the test did not release
            thread.join(60)
    assert outcome == ["done"]


def wait_running(row: Transcript) -> None:
    for _ in range(200):
        row.refresh_from_db()
        if row.status == Transcript.Status.RUNNING and row.chunks_total:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"the worker never started: {row.status}")


def test_the_workspace_shows_the_chunks_as_they_arrive(
    browser: WebDriver,
    live_server: Any,
    log_in: Any,
    alice: Any,
    worker: tuple[Transcript, threading.Thread],
) -> None:
    row, thread = worker
    total = row.chunks_total
    assert total >= 3  # 12 s in chunks of 4 s at most
    log_in(alice)
    browser.get(f"{live_server.url}/transcripts/{row.pk}/")
    wait_for(browser, "return !document.getElementById('voxtral-live').hidden")
    assert not browser.find_elements(By.CSS_SELECTOR, ".voxtral-word")

    GatedBackend.release()
    wait_for(
        browser,
        "return document.getElementById('voxtral-live-status').textContent.includes(arguments[0])",
        15,
        f"1 of {total} chunks",
    )
    words = [w.text for w in browser.find_elements(By.CSS_SELECTOR, "#voxtral-words .voxtral-word")]
    assert words == ["words", "so", "far"]

    GatedBackend.release(total - 1)
    thread.join(60)
    # Done: the page reloads itself with the whole result, the editor, and no progress bar.
    wait_for(browser, "return document.querySelectorAll('.voxtral-edit-button').length > 0", 20)
    assert browser.find_element(By.ID, "voxtral-live").get_attribute("hidden") is not None


def test_the_admin_list_row_updates_by_itself(
    browser: WebDriver,
    live_server: Any,
    log_in: Any,
    admin_user: Any,
    worker: tuple[Transcript, threading.Thread],
) -> None:
    row, thread = worker
    total = row.chunks_total
    log_in(admin_user)
    browser.get(f"{live_server.url}/admin/django_voxtral/transcript/")
    cell = browser.find_element(By.CSS_SELECTOR, "[data-voxtral-poll]")
    assert cell.text.strip() == "0%"

    GatedBackend.release()
    wait_for(
        browser,
        "const t = document.querySelector('.voxtral-progress-text');"
        "return t && t.textContent.includes(arguments[0]);",
        15,
        f"1/{total} chunks",
    )
    assert browser.find_element(By.CSS_SELECTOR, ".voxtral-partial").text == "words so far"
    assert browser.find_element(By.CSS_SELECTOR, ".voxtral-badge").text == "Running"

    GatedBackend.release(total - 1)
    thread.join(60)
    wait_for(browser, "return document.querySelector('.voxtral-badge').textContent === 'Done'", 20)
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-voxtral-poll]")
    assert not browser.find_elements(By.CSS_SELECTOR, ".voxtral-partial")
    assert "100%" in browser.find_element(By.CSS_SELECTOR, ".voxtral-progress-text").text
