"""The example site's public video page in a real browser: the video plays for the logged-out,
its captions track holds the cues, and the follow-along shows the words.

The example project under its own runserver (a subprocess on a free port, temporary SQLite and
media) and headless Chromium (tests/pages/conftest.py); the last screen is kept as a PNG.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.example_site import EXAMPLE, example_env, manage
from tests.pages.conftest import wait_for

# A Video saved as an editor would (the upload hook queues its transcript), then the transcript
# made done by hand with what a worker would have saved: no speech engine needed here.
ADD_VIDEO = """
import json, sys
from django.core.files.base import ContentFile
from django_voxtral.models import Segment, Transcript
from videos.models import Video

video = Video(title="A talk")
video.file.save("talk.webm", ContentFile(open(sys.argv[-1], "rb").read()), save=True)
transcript = video.latest_transcript
Transcript.objects.filter(pk=transcript.pk).update(
    status="done", detected_language="en", duration=12.0, text="one small step a giant leap"
)
for index, (start, sentence) in enumerate([(0.2, "one small step"), (3.0, "a giant leap")]):
    words = sentence.split()
    Segment.objects.create(
        transcript=transcript, index=index, start=start, end=start + 2.4, text=sentence,
        words=[{"text": w, "start": start + 0.8 * i, "end": start + 0.8 * i + 0.7}
               for i, w in enumerate(words)],
    )
print(json.dumps({"video": video.pk, "transcript": str(transcript.pk)}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def example_site(tmp_path: Path, talk_webm: bytes) -> Iterator[tuple[str, dict[str, str]]]:
    """The example site on http://127.0.0.1:<port> with one Video and its done transcript."""
    env = example_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media")
    )
    manage("migrate", "--noinput", env=env)
    media = tmp_path / "talk.webm"
    media.write_bytes(talk_webm)
    # manage.py shell -c passes no arguments through: the file's path goes on sys.argv by hand.
    script = f"import sys; sys.argv.append({str(media)!r})\n" + ADD_VIDEO
    ids = json.loads(manage("shell", "--no-imports", "-c", script, env=env))
    port = _free_port()
    log = (tmp_path / "runserver.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=EXAMPLE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/videos/", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "The example site did not start: "
                        + (tmp_path / "runserver.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.2)
        yield url, {key: str(value) for key, value in ids.items()}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def test_the_public_page_plays_with_its_captions(
    browser: WebDriver, example_site: tuple[str, dict[str, str]]
) -> None:
    url, ids = example_site
    browser.get(f"{url}/videos/{ids['video']}/")  # no login: the example's hook opens it
    media_id = browser.execute_script("return document.querySelector('video.voxtral-media').id")
    assert media_id == f"voxtral-videos-video-{ids['video']}-file"
    assert browser.execute_script(
        "return document.getElementById(arguments[0]).getAttribute('src')", media_id
    ) == (f"/transcripts/{ids['transcript']}/media/")

    wait_for(browser, "return document.getElementById(arguments[0]).readyState >= 1", 20, media_id)
    browser.execute_script("document.getElementById(arguments[0]).play()", media_id)
    wait_for(
        browser, "return document.getElementById(arguments[0]).currentTime > 1.0", 20, media_id
    )
    assert not browser.execute_script(
        "return document.getElementById(arguments[0]).error", media_id
    )

    # The default track is showing, so the browser fetched captions.vtt and parsed its cues.
    cues = wait_for(
        browser,
        """
        const tracks = document.getElementById(arguments[0]).textTracks;
        if (tracks.length !== 1 || !tracks[0].cues || !tracks[0].cues.length) return null;
        return {kind: tracks[0].kind, language: tracks[0].language, label: tracks[0].label,
                mode: tracks[0].mode,
                cues: Array.from(tracks[0].cues).map(c => [c.startTime, c.endTime, c.text])};
        """,
        20,
        media_id,
    )
    assert (cues["kind"], cues["language"], cues["label"], cues["mode"]) == (
        "captions",
        "en",
        "English",
        "showing",
    )
    # Cues end with their last word (the WebVTT writer's rule), not with the segment.
    assert cues["cues"] == [[0.2, 2.5, "one small step"], [3.0, 5.3, "a giant leap"]]

    # The follow-along beside it shows the words (follow.js drew them from the page's JSON).
    words = wait_for(
        browser,
        """
        const words = document.querySelectorAll('[data-voxtral-media="' + arguments[0] + '"] '
                                                 + '.voxtral-word');
        return words.length ? Array.from(words).map(w => w.textContent.trim()) : null;
        """,
        20,
        media_id,
    )
    assert words == ["one", "small", "step", "a", "giant", "leap"]
