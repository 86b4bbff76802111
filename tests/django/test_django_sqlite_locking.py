"""SQLite with two real db_worker processes and a busy admin: no transcript fails with
"database is locked", and none loses what was stored.

Never share the workers' database with other tests: it lives in this test's own folder.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_voxtral.db_retry import SQLITE_OPTIONS
from tests.fixtures_standin import write_tones

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPTS = 10
TONES = 6  # one chunk each
#: The environment variable LOCK_TEST_OPTIONS replaces the recommended SQLite OPTIONS, e.g.
#: '{}' (Django's defaults) or '{"timeout": 20}' (the example site's before): to see them fail.
OPTIONS = os.environ.get("LOCK_TEST_OPTIONS", json.dumps(SQLITE_OPTIONS))

SETTINGS = """
import json, os
from tests.django_settings import *  # noqa: F403

_HERE = os.environ["LOCK_TEST_DIR"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(_HERE, "db.sqlite3"),
        "OPTIONS": json.loads(os.environ["LOCK_TEST_OPTIONS"]),
    }
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = os.path.join(_HERE, "media")
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
VOXTRAL = {
    **TONES_ARE_SPEECH,  # noqa: F405
    "BACKENDS": {"default": {"BACKEND": "dummy", "OPTIONS": {}}},
    "MAX_CHUNK_SECONDS": 1.5,
    "CONCURRENCY": 2,
}
"""

CREATE = """
from django.core.files.base import ContentFile
from django.db import transaction
from django_voxtral.models import Transcript
from django_voxtral.tasks import enqueue
import os, pathlib
for name in os.environ["LOCK_TEST_MEDIA"].split(os.pathsep):
    path = pathlib.Path(name)
    with transaction.atomic():
        t = Transcript(media_name=path.name)
        t.media.save(path.name, ContentFile(path.read_bytes()), save=False)
        t.save()
        enqueue(t)
"""


class BusyAdmin(threading.Thread):
    """Writes the way a person busy in the admin does: sessions saved, log entries, list pages
    read, each in a short transaction of its own; its writes wait for the lock, never fail."""

    def __init__(self, db: Path) -> None:
        super().__init__(name="busy-admin", daemon=True)
        self.db = db
        self.done = threading.Event()
        self.writes = 0

    def run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=60, isolation_level=None)
        rng = random.Random(7)
        try:
            while not self.done.is_set():
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("SELECT count(*) FROM django_voxtral_transcript").fetchone()
                key = f"s{self.writes}"
                conn.execute(
                    "INSERT INTO django_session (session_key, session_data, expire_date)"
                    " VALUES (?, ?, datetime('now', '+1 day'))",
                    (key, "x" * 2000),
                )
                time.sleep(rng.uniform(0.01, 0.08))  # the rest of the request, lock held
                conn.execute("COMMIT")
                self.writes += 1
                conn.execute("BEGIN")
                conn.execute("SELECT * FROM django_voxtral_transcriptchunk").fetchall()
                time.sleep(rng.uniform(0.0, 0.05))
                conn.execute("COMMIT")
        finally:
            conn.close()


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "lockingsettings.py").write_text(SETTINGS)
    (tmp_path / "tmp").mkdir()
    yield tmp_path


def _env(here: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "LOCK_TEST_DIR": str(here),
        "LOCK_TEST_OPTIONS": OPTIONS,
        "PYTHONPATH": os.pathsep.join([str(here), str(ROOT)]),
        "TMPDIR": str(here / "tmp"),
    }
    env.pop("DATABASE_URL", None)
    return env


def _manage(here: Path, *args: str, **env: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", *args, "--settings=lockingsettings"],
        cwd=ROOT,
        env={**_env(here), **env},
        check=True,
        capture_output=True,
        timeout=120,
    )


def _worker(here: Path, n: int) -> subprocess.Popen[bytes]:
    log = (here / f"worker-{n}.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django",
            "db_worker",
            "--settings=lockingsettings",
            "--interval=0.05",
            "--no-startup-delay",
            "--no-reload",
            "-v2",
        ],
        cwd=ROOT,
        env=_env(here),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.timeout(90)
def test_two_workers_and_a_busy_admin_finish_every_transcript(here: Path) -> None:
    # Ten different files (no transcript reuses another's chunks): each one's chunks are sent.
    media = [
        write_tones(
            here / f"tones-{n}.wav",
            duration=2 * TONES,
            tones=[(0.5 + 2 * i, 1.2 + 2 * i) for i in range(TONES)],
            frequency=300.0 + 40 * n,
        )
        for n in range(TRANSCRIPTS)
    ]
    _manage(here, "migrate", "-v0")
    _manage(
        here,
        "shell",
        "-c",
        CREATE,
        LOCK_TEST_MEDIA=os.pathsep.join(str(path) for path in media),
    )
    db = sqlite3.connect(here / "db.sqlite3", timeout=60, isolation_level=None)
    admin = BusyAdmin(here / "db.sqlite3")
    admin.start()
    workers = [_worker(here, n) for n in range(2)]
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            rows = db.execute("SELECT status, error FROM django_voxtral_transcript").fetchall()
            if all(status in ("done", "failed") for status, _ in rows):
                break
            time.sleep(0.2)
    finally:
        admin.done.set()
        admin.join(timeout=10)
        for proc in workers:
            proc.kill()
            proc.wait()
    logs = "\n".join(p.read_text(errors="replace") for p in sorted(here.glob("worker-*.log")))
    rows = db.execute("SELECT status, error, chunks_done FROM django_voxtral_transcript").fetchall()
    chunks = db.execute("SELECT count(*) FROM django_voxtral_transcriptchunk").fetchone()[0]
    db.close()

    assert admin.writes > 20, "the admin kept writing meanwhile"
    assert len(rows) == TRANSCRIPTS
    errors = [error for _, error, _ in rows if error]
    assert not [e for e in errors if "locked" in e], errors
    assert [status for status, _, _ in rows] == ["done"] * TRANSCRIPTS, (rows, logs[-4000:])
    assert chunks == TRANSCRIPTS * TONES, "every chunk stored once"
    assert "database is locked" not in logs, logs[-4000:]


@pytest.mark.django_db(transaction=True)
def test_a_lock_during_a_chunk_save_or_the_final_save_is_waited_out(
    long_pause_audio: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The paid-for chunk and the merged result are saved on the next try, not failed."""
    from django.core.files.base import ContentFile
    from django.db import OperationalError

    from django_voxtral import db_retry
    from django_voxtral.models import Segment, Transcript, TranscriptChunk
    from django_voxtral.runner import run_transcript

    monkeypatch.setattr(db_retry, "FIRST_PAUSE", 0.01)
    locked: list[str] = []

    def once_locked(manager: Any, name: str) -> None:
        real = getattr(manager, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if name not in locked:
                locked.append(name)
                raise OperationalError("database is locked")
            return real(*args, **kwargs)

        monkeypatch.setattr(manager, name, call)

    once_locked(TranscriptChunk.objects, "update_or_create")
    once_locked(Segment.objects, "bulk_create")
    transcript = Transcript(media_name=long_pause_audio.name)
    transcript.media.save(
        long_pause_audio.name, ContentFile(long_pause_audio.read_bytes()), save=False
    )
    transcript.save()

    assert run_transcript(transcript.pk) == Transcript.Status.DONE
    assert locked == ["update_or_create", "bulk_create"]
    transcript.refresh_from_db()
    assert transcript.error == "" and transcript.segments.exists()
    assert transcript.chunks.count() == transcript.chunks_total >= 2, "no chunk lost"
