"""A search hit in the admin opens the workspace at its moment, in a real browser.

Headless Chromium against the live test server: the admin's search page (search.py's index on
SQLite, filled by its triggers), a click on a hit, the media at the hit's time, its word lit.
"""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.pages.conftest import wait_for
from tests.pages.test_page_workspace import make_transcript

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_search_hit_opens_the_workspace_at_its_time(
    browser: WebDriver, live_server: Any, log_in: Any, alice: Any, admin_user: Any, talk_webm: bytes
) -> None:
    row = make_transcript(alice, talk_webm)
    log_in(admin_user)
    browser.get(f"{live_server.url}/admin/django_voxtral/transcript/search/?q=moon")
    hits = browser.find_elements(By.CSS_SELECTOR, ".voxtral-hit")
    assert len(hits) == 1
    assert browser.find_element(By.CSS_SELECTOR, ".voxtral-snippet mark").text.lower() == "moon"
    link = browser.find_element(By.CSS_SELECTOR, ".voxtral-hit-time")
    start = float(link.get_attribute("data-start") or "nan")
    assert start == pytest.approx(0.5 + 5 * 1.9)  # the sixth segment: "to the moon in this decade"
    link.click()

    wait_for(browser, "return document.getElementById('voxtral-media') !== null")
    assert f"/admin/django_voxtral/transcript/{row.pk}/workspace/?t=" in browser.current_url
    wait_for(
        browser,
        "return Math.abs(document.getElementById('voxtral-media').currentTime - arguments[0])"
        " < 0.05",
        15,
        start,
    )
    lit = browser.find_element(By.CSS_SELECTOR, "#voxtral-words [aria-current='true']")
    assert lit.text == "to" and float(lit.get_attribute("data-start") or "nan") == pytest.approx(
        start
    )
