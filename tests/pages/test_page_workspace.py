"""The workspace in a real browser: the media plays, the lit word follows, clicks and keys seek.

Headless Chromium against the live test server, a 12 s WebM stored as a done transcript's media
with word times laid out here; screenshots in build/test-artifacts/pages/.
"""

from __future__ import annotations

import subprocess
from typing import Any

import numpy as np
import pytest
from django.core.files.base import ContentFile
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from django_voxtral.models import Segment, Transcript
from ffmpeg_bridge.peaks import encode_peaks, peaks_of
from tests.pages.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SENTENCES = [
    "one small step for man",
    "a giant leap for mankind",
    "ask not what your country",
    "can do for you today",
    "we choose to go",
    "to the moon in this decade",
]


def make_transcript(owner: Any, media: bytes) -> Transcript:
    row = Transcript.objects.create(
        owner=owner,
        media_name="talk.webm",
        status=Transcript.Status.DONE,
        duration=12.0,
        detected_language="en",
        text=" ".join(SENTENCES),
    )
    row.media.save("talk.webm", ContentFile(media), save=True)
    for index, sentence in enumerate(SENTENCES):
        start = 0.5 + 1.9 * index
        words = sentence.split()
        step = 1.8 / len(words)
        Segment.objects.create(
            transcript=row,
            index=index,
            start=start,
            end=round(start + 1.8, 3),
            text=sentence,
            speaker="A" if index % 2 == 0 else "B",
            words=[
                {
                    "start": round(start + i * step, 3),
                    "end": round(start + (i + 1) * step - 0.02, 3),
                    "text": word,
                }
                for i, word in enumerate(words)
            ],
        )
    return row


def open_page(browser: WebDriver, live_server: Any, row: Transcript, query: str = "") -> None:
    browser.get(f"{live_server.url}/transcripts/{row.pk}/{query}")
    wait_for(browser, "return document.getElementById('voxtral-media').readyState >= 1")


def current_time(browser: WebDriver) -> float:
    return float(
        browser.execute_script("return document.getElementById('voxtral-media').currentTime")
    )


def lit_word(browser: WebDriver) -> dict[str, Any] | None:
    return browser.execute_script(  # type: ignore[no-any-return]
        "const w = document.querySelector('#voxtral-words [aria-current=\"true\"]');"
        "return w && {text: w.textContent, start: +w.dataset.start, end: +w.dataset.end};"
    )


@pytest.fixture
def transcript(alice: Any, talk_webm: bytes) -> Transcript:
    return make_transcript(alice, talk_webm)


def test_the_media_plays_and_the_lit_word_follows(
    browser: WebDriver, live_server: Any, log_in: Any, alice: Any, transcript: Transcript
) -> None:
    log_in(alice)
    open_page(browser, live_server, transcript)
    words = browser.find_elements(By.CSS_SELECTOR, "#voxtral-words .voxtral-word")
    assert len(words) == sum(len(s.split()) for s in SENTENCES)
    assert words[0].get_attribute("data-start") == "0.5"
    browser.execute_script("document.getElementById('voxtral-media').play()")
    wait_for(browser, "return document.getElementById('voxtral-media').currentTime > 2.6")
    seen = []
    for threshold in (2.6, 4.8):
        wait_for(
            browser,
            f"return document.getElementById('voxtral-media').currentTime > {threshold}",
        )
        word = lit_word(browser)
        now = current_time(browser)
        assert word is not None
        # The lit word is the last one started (the view updates each frame while playing).
        assert word["start"] <= now + 0.05, (word, now)
        assert now - word["start"] < 1.2, (word, now)
        seen.append(word["text"])
    browser.execute_script("document.getElementById('voxtral-media').pause()")
    assert seen[0] != seen[1]


def test_a_click_on_a_word_seeks_to_its_start(
    browser: WebDriver, live_server: Any, log_in: Any, alice: Any, transcript: Transcript
) -> None:
    log_in(alice)
    open_page(browser, live_server, transcript)
    target = browser.find_element(
        By.XPATH, "//span[contains(@class,'voxtral-word') and text()='moon']"
    )
    start = float(target.get_attribute("data-start") or "nan")
    target.click()
    wait_for(
        browser,
        f"return Math.abs(document.getElementById('voxtral-media').currentTime - {start}) < 0.05",
    )
    assert lit_word(browser) == {
        "text": "moon",
        "start": start,
        "end": float(target.get_attribute("data-end") or "nan"),
    }


def test_a_link_with_a_time_opens_the_page_there(
    browser: WebDriver, live_server: Any, log_in: Any, alice: Any, transcript: Transcript
) -> None:
    log_in(alice)
    open_page(browser, live_server, transcript, "?t=6.4")
    wait_for(
        browser,
        "return Math.abs(document.getElementById('voxtral-media').currentTime - 6.4) < 0.05",
    )
    word = lit_word(browser)
    assert word is not None and word["start"] <= 6.4 < word["start"] + 0.5
    assert word["text"] == "can"  # segment 3 starts at 0.5 + 3 * 1.9 = 6.2


def test_keys_play_seek_and_change_the_speed(
    browser: WebDriver, live_server: Any, log_in: Any, alice: Any, transcript: Transcript
) -> None:
    log_in(alice)
    open_page(browser, live_server, transcript)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("l")
    wait_for(
        browser, "return Math.abs(document.getElementById('voxtral-media').currentTime - 5) < 0.05"
    )
    body.send_keys("j")
    wait_for(browser, "return document.getElementById('voxtral-media').currentTime < 0.05")
    body.send_keys("]")
    assert (
        browser.execute_script("return document.getElementById('voxtral-media').playbackRate")
        == 1.25
    )
    assert browser.find_element(By.ID, "voxtral-rate").text == "×1.25"
    body.send_keys("k")
    wait_for(browser, "return !document.getElementById('voxtral-media').paused")
    body.send_keys("k")
    wait_for(browser, "return document.getElementById('voxtral-media').paused")


def test_the_admin_workspace_plays_the_same_page(
    browser: WebDriver, live_server: Any, log_in: Any, admin_user: Any, transcript: Transcript
) -> None:
    log_in(admin_user)
    browser.get(f"{live_server.url}/admin/django_voxtral/transcript/{transcript.pk}/workspace/")
    wait_for(browser, "return document.getElementById('voxtral-media').readyState >= 1")
    assert "Workspace" in browser.title
    browser.find_element(
        By.XPATH, "//span[contains(@class,'voxtral-word') and text()='leap']"
    ).click()
    wait_for(browser, "return document.getElementById('voxtral-media').currentTime > 2")
    assert lit_word(browser)["text"] == "leap"  # type: ignore[index]
    # Speech and the playhead are drawn on the timeline.
    assert browser.execute_script(
        "const c = document.getElementById('voxtral-timeline');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false;"
    )


def test_the_waveform_is_drawn_from_the_stored_peaks_and_seeks(
    browser: WebDriver, live_server: Any, log_in: Any, alice: Any, transcript: Transcript
) -> None:
    # The peaks as the runner stores them: gathered from the decoded sound, then encoded.
    pcm = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", "-", "-f", "s16le",
         "-ac", "1", "-ar", "16000", "-"],
        input=transcript.media.open("rb").read(), capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    peaks = peaks_of(np.frombuffer(pcm, dtype=np.int16), 16000)
    Transcript.objects.filter(pk=transcript.pk).update(peaks=encode_peaks(peaks))

    log_in(alice)
    open_page(browser, live_server, transcript)
    wait_for(browser, "return window.VoxtralWaveform && window.VoxtralWaveform.getDecodedData()")
    drawn = browser.execute_script(
        "const w = window.VoxtralWaveform, d = w.getDecodedData();"
        "return {channels: d.numberOfChannels, length: d.length, duration: w.getDuration()};"
    )
    assert drawn["channels"] == 2 and drawn["length"] == len(peaks.maxs)
    assert drawn["duration"] == pytest.approx(12.0, abs=0.1)

    waveform = browser.find_element(By.ID, "voxtral-waveform")
    width = waveform.size["width"]
    ActionChains(browser).move_to_element_with_offset(
        waveform, int(width * 0.25), 0
    ).click().perform()
    wait_for(
        browser,
        "return Math.abs(document.getElementById('voxtral-media').currentTime - 9) < 0.3",
    )
