"""The example project: its settings read the environment, and the demo's setup works end to end.

Runs example_project/manage.py in subprocesses (its own settings) on a temporary SQLite file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.example_site import EXAMPLE, example_env, manage

SHOW_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "media_root": str(settings.MEDIA_ROOT),
    "backend": settings.VOXTRAL["BACKENDS"]["default"]["BACKEND"],
    "tasks": settings.TASKS["default"]["BACKEND"],
}))
"""

# Thirty videos in the changelist: the latest-transcript column must not query once per row.
COUNT_CHANGELIST_QUERIES = """
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from videos.models import Video
Video.objects.bulk_create(Video(title=f"v{i}", file=f"videos/v{i}.wav") for i in range(30))
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username="demo"))
client.get("/admin/videos/video/")
with CaptureQueriesContext(connection) as queries:
    page = client.get("/admin/videos/video/")
print(page.status_code, len(queries), page.content.decode().count("/admin/django_voxtral/"))
"""


def test_settings_read_database_url_media_root_and_token(tmp_path: Path) -> None:
    default = json.loads(manage("shell", "--no-imports", "-c", SHOW_SETTINGS, env=example_env()))
    assert default["engine"].endswith("sqlite3")
    assert default["name"] == str(EXAMPLE / "db.sqlite3")
    assert default["media_root"] == str(EXAMPLE / "media")
    assert default["backend"].endswith("LocalBackend"), "no token: the offline engine"
    assert default["tasks"] == "django_tasks_db.DatabaseBackend"

    given = json.loads(
        manage(
            "shell",
            "--no-imports",
            "-c",
            SHOW_SETTINGS,
            env=example_env(
                DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}",
                MEDIA_ROOT=str(tmp_path / "media"),
                DEEPINFRA_TOKEN="not-a-real-token",
            ),
        )
    )
    assert given["name"] == str(tmp_path / "other.sqlite3")
    assert given["media_root"] == str(tmp_path / "media")
    assert given["backend"].endswith("DeepInfraBackend"), "a token: Voxtral on DeepInfra"


def test_demo_setup_then_db_worker_transcribes_the_sample(tmp_path: Path) -> None:
    sample = tmp_path / "sample.wav"
    t = np.arange(16000) / 16000
    soundfile.write(str(sample), (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000)
    env = example_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media")
    )
    manage("migrate", "--noinput", env=env)

    creds = dict(part.split("=", 1) for part in manage("demo_setup", str(sample), env=env).split())
    assert creds["user"] == "demo" and creds["password"] and len(creds["token"]) == 40
    assert (tmp_path / "media" / "videos" / "sample.wav").exists()
    again = dict(part.split("=", 1) for part in manage("demo_setup", str(sample), env=env).split())
    assert again == creds, "idempotent"

    manage("db_worker", "--batch", "--interval", "0.1", "--no-startup-delay", env=env)
    status = manage(
        "shell",
        "--no-imports",
        "-c",
        "from videos.models import Video; "
        "print(*[t.status for t in Video.objects.get().transcripts], Video.objects.count())",
        env=env,
    ).split()
    assert status == ["done", "1"], "one transcript, made by the upload hook, run by db_worker"

    code, queries, links = manage(
        "shell", "--no-imports", "-c", COUNT_CHANGELIST_QUERIES, env=env
    ).split()
    assert code == "200" and int(links) >= 1
    assert int(queries) <= 12, f"{queries} queries for 31 rows"


# Uploads only through the view that checks the user: never as static files.
FETCH_MEDIA = """
from pathlib import Path
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from videos.models import Video
name = Video.objects.get().file.name
(Path(settings.MEDIA_ROOT) / "videos" / "stray.wav").write_bytes(b"no row holds me")
anonymous = Client(HTTP_HOST="localhost")
page = anonymous.get("/media/" + name, HTTP_ACCEPT="text/html")
head = anonymous.head("/media/" + name)
print(page.status_code, page["Location"].split("?")[0], head.status_code)
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username="demo"))
whole = client.get("/media/" + name)
ranged = client.get("/media/" + name, HTTP_RANGE="bytes=0-3")
data = b"".join(ranged.streaming_content)
transcript = Video.objects.get().transcripts[0]
via_transcript = client.get(f"/transcripts/{transcript.pk}/media/", HTTP_RANGE="bytes=0-3")
print(whole.status_code, ranged.status_code, data.decode(), via_transcript.status_code,
      client.get("/media/videos/stray.wav").status_code)
"""


def test_uploads_are_served_only_through_a_login(tmp_path: Path) -> None:
    sample = tmp_path / "sample.wav"
    soundfile.write(str(sample), np.zeros(1600, dtype=np.float32), 16000)
    env = example_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media")
    )
    manage("migrate", "--noinput", env=env)
    manage("demo_setup", str(sample), env=env)
    anonymous, signed_in = manage("shell", "--no-imports", "-c", FETCH_MEDIA, env=env).splitlines()
    assert anonymous.split() == ["302", "/admin/login/", "302"], "anonymous: to the login page"
    assert signed_in.split() == ["200", "206", "RIFF", "206", "404"], (
        "the demo user gets the video's file and ranges of it, also through its transcript; "
        "a file on disk that no row holds is never served"
    )


@pytest.fixture(autouse=True)
def _needs_the_example_extra() -> None:
    pytest.importorskip("django_tasks_db")
    pytest.importorskip("dj_database_url")
