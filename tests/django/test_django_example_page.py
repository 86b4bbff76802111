"""The example site's public page per Video: the player, its captions and transcript, open to
the logged-out by the example's VOXTRAL["MEDIA_ACCESS"], while API uploads stay private.

Runs example_project/manage.py in subprocesses (its own settings) on a temporary SQLite file.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import webvtt

from tests.example_site import example_env, manage

# The demo's video, its transcript made done by hand (what a worker would save), and an upload
# of the demo user's through the API's path (a transcript of its own, no Video).
VISIT = """
import json
from html.parser import HTMLParser
from django.core.files.base import ContentFile
from django.test import Client
from django_voxtral.models import Segment, Transcript
from videos.models import Video

video = Video.objects.get()
transcript = video.latest_transcript
Transcript.objects.filter(pk=transcript.pk).update(status="done", detected_language="en")
Segment.objects.create(transcript=transcript, index=0, start=0.0, end=0.8, text="Hello <world>",
                       words=[{"text": "Hello", "start": 0.0, "end": 0.4},
                              {"text": "<world>", "start": 0.4, "end": 0.8}])
private = Transcript(owner=transcript.owner, status="done", media_name="private.wav")
private.media.save("private.wav", ContentFile(b"RIFF" + bytes(60)), save=True)
Segment.objects.create(transcript=private, index=0, start=0.0, end=1.0, text="Not for you.")


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


anonymous = Client(HTTP_HOST="localhost")
page = anonymous.get(f"/videos/{video.pk}/")
tags = Tags()
tags.feed(page.content.decode())
media = [a for t, a in tags.found if t in ("video", "audio")]
tracks = [a for t, a in tags.found if t == "track"]
vtt = anonymous.get(tracks[0]["src"]) if tracks else None
ranged = anonymous.get(media[0]["src"], HTTP_RANGE="bytes=0-3") if media else None
listing = anonymous.get("/videos/")
print(json.dumps({
    "page": page.status_code,
    "elements": [t for t, a in tags.found if t in ("video", "audio")],
    "media_src": media[0]["src"] if media else None,
    "transcript_media": f"/transcripts/{transcript.pk}/media/",
    "tracks": tracks,
    "follow": [a for t, a in tags.found if t == "div" and "data-voxtral-follow" in a],
    "escaped": "Hello &lt;world&gt;" in page.content.decode(),
    "vtt_status": vtt.status_code if vtt else None,
    "vtt_type": vtt["Content-Type"] if vtt else None,
    "vtt": vtt.content.decode() if vtt else None,
    "ranged": ranged.status_code if ranged else None,
    "ranged_bytes": b"".join(ranged.streaming_content).decode("latin-1") if ranged else None,
    "listed": f'href="/videos/{video.pk}/"' in listing.content.decode(),
    "private_captions": anonymous.get(f"/transcripts/{private.pk}/captions.vtt").status_code,
    "private_media": anonymous.get(f"/transcripts/{private.pk}/media/").status_code,
    "private_page": anonymous.get(f"/transcripts/{private.pk}/media/",
                                  HTTP_ACCEPT="text/html").status_code,
    "missing_page": anonymous.get("/videos/999999/").status_code,
}))
"""


def test_a_videos_public_page_plays_with_captions_for_the_logged_out(tmp_path: Path) -> None:
    sample = tmp_path / "sample.wav"
    t = np.arange(16000) / 16000
    soundfile.write(str(sample), (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000)
    env = example_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media")
    )
    manage("migrate", "--noinput", env=env)
    manage("demo_setup", str(sample), env=env)  # the upload hook queues one transcript
    assert "django_voxtral.E010" not in manage("check", env=env)

    seen = json.loads(manage("shell", "--no-imports", "-c", VISIT, env=env))
    assert seen["page"] == 200 and seen["listed"] and seen["missing_page"] == 404
    assert seen["elements"] == ["audio"], "a .wav plays in <audio>"
    assert seen["media_src"] == seen["transcript_media"], "through the hook, not /media/"
    (track,) = seen["tracks"]
    assert (track["kind"], track["srclang"], track["label"]) == ("captions", "en", "English")
    assert "default" in track and track["src"].endswith("/captions.vtt")
    (follow,) = seen["follow"]
    assert follow["data-voxtral-media"] and seen["escaped"]

    assert seen["vtt_status"] == 200 and seen["vtt_type"] == "text/vtt; charset=utf-8"
    (cue,) = webvtt.from_buffer(io.StringIO(seen["vtt"])).captions
    assert (cue.start, cue.end, cue.text) == ("00:00:00.000", "00:00:00.800", "Hello &lt;world&gt;")
    assert seen["ranged"] == 206 and seen["ranged_bytes"] == "RIFF"

    assert seen["private_captions"] == 404, "an API upload stays private"
    assert seen["private_media"] == 404 and seen["private_page"] == 302


@pytest.fixture(autouse=True)
def _needs_the_example_extra() -> None:
    pytest.importorskip("django_tasks_db")
    pytest.importorskip("dj_database_url")
