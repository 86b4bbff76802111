"""Editing in the workspace, in a real browser: a saved edit reaches the exports and the history,
and any revision can be restored; speakers, find and replace, and nudged times likewise.

Headless Chromium against the live test server and the real API; what the server stored is
read back through the API as a client would.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from django_voxtral.models import Segment, Transcript
from tests.pages.conftest import wait_for
from tests.pages.test_page_workspace import make_transcript, open_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def transcript(alice: Any, talk_webm: bytes) -> Transcript:
    return make_transcript(alice, talk_webm)


def message(browser: WebDriver, contains: str) -> str:
    wait_for(
        browser,
        "return document.getElementById('voxtral-message').textContent.includes(arguments[0])",
        15,
        contains,
    )
    return str(browser.find_element(By.ID, "voxtral-message").text)


def export(user: Any, transcript: Transcript, query: str = "") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/api/transcripts/{transcript.pk}.srt{query}")
    assert response.status_code == 200, response.content
    return response.content.decode()


def open_editor(browser: WebDriver, index: int) -> Any:
    segment = browser.find_element(By.CSS_SELECTOR, f".voxtral-segment[data-index='{index}']")
    segment.find_element(By.CSS_SELECTOR, ".voxtral-edit-button").click()
    return segment.find_element(By.CSS_SELECTOR, "form.voxtral-editor")


def test_an_edit_reaches_the_exports_and_the_history_and_can_be_undone(
    browser: WebDriver, live_server: Any, log_in: Any, alice: Any, transcript: Transcript
) -> None:
    log_in(alice)
    open_page(browser, live_server, transcript)
    form = open_editor(browser, 1)
    text = form.find_element(By.NAME, "text")
    text.clear()
    text.send_keys("a giant leap for humankind")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "revision 1" in message(browser, "Saved segment 1")

    # The page shows the new words, with times kept (the changed word takes the old one's).
    new_word = browser.find_element(
        By.XPATH, "//span[@class='voxtral-word' and text()='humankind']"
    )
    old = Segment.objects.get(transcript=transcript, index=1)
    assert old.text == "a giant leap for humankind"
    assert float(new_word.get_attribute("data-start") or "nan") == pytest.approx(
        old.words[-1]["start"], abs=1e-3
    )
    assert "humankind" in export(alice, transcript)
    assert "mankind" in export(alice, transcript, "?original=1")

    browser.find_element(By.ID, "voxtral-history-button").click()
    wait_for(browser, "return document.querySelectorAll('.voxtral-revisions > li').length === 2")
    items = browser.find_elements(By.CSS_SELECTOR, ".voxtral-revisions > li")
    assert items[0].get_attribute("data-revision") == "1" and "alice" in items[0].text
    assert items[1].get_attribute("data-revision") == "0"

    items[1].find_element(By.CSS_SELECTOR, ".voxtral-restore").click()
    assert "now revision 2" in message(browser, "Restored revision 0")
    browser.find_element(By.XPATH, "//span[@class='voxtral-word' and text()='mankind']")
    assert "humankind" not in export(alice, transcript)
    wait_for(browser, "return document.querySelectorAll('.voxtral-revisions > li').length === 3")


def test_speakers_find_and_replace_and_nudged_times(
    browser: WebDriver, live_server: Any, log_in: Any, alice: Any, transcript: Transcript
) -> None:
    log_in(alice)
    open_page(browser, live_server, transcript)

    rename = browser.find_element(By.CSS_SELECTOR, "input[aria-label='Rename A']")
    rename.clear()
    rename.send_keys("Neil")
    rename.find_element(By.XPATH, "following-sibling::button").click()
    message(browser, "Renamed A to Neil")
    heads = browser.find_elements(By.CSS_SELECTOR, ".voxtral-speaker")
    assert [h.text for h in heads] == ["Neil", "B", "Neil", "B", "Neil", "B"]

    replace = browser.find_element(By.ID, "voxtral-replace")
    replace.find_element(By.NAME, "find").send_keys("for")
    replace.find_element(By.NAME, "replace").send_keys("FOR")
    replace.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "Replaced 3" in message(browser, "Replaced")
    assert export(alice, transcript).count("FOR") == 3

    form = open_editor(browser, 4)
    plus = form.find_elements(By.CSS_SELECTOR, ".voxtral-time-field button")[1]  # start +0.1
    plus.click()
    plus.click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    message(browser, "Saved segment 4")
    segment = Segment.objects.get(transcript=transcript, index=4)
    assert segment.start == pytest.approx(0.5 + 4 * 1.9 + 0.2, abs=1e-3)
    shown = browser.find_element(By.CSS_SELECTOR, ".voxtral-segment[data-index='4']")
    assert float(shown.get_attribute("data-start") or "nan") == pytest.approx(segment.start)
