"""Serves the example site under gunicorn on 127.0.0.1 for the serving benchmarks, then stops it.

Only ever a fresh database it made (a temporary SQLite file, or a PostgreSQL database it creates
and drops) and a free port on 127.0.0.1; never an existing database, never another host.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.example_site import EXAMPLE, example_env, manage

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
#: The PostgreSQL server of the tests (Makefile PG_URL): trust auth, user postgres.
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
WORKERS = 2
RUNNING = 25  # transcripts running, with chunks saved so far
DONE = 25  # transcripts done, with segments
CHUNKS = 12  # chunks of each running transcript (some saved)
SEGMENTS = 20  # segments of each done transcript
WORDS = 10  # words of each segment

#: Runs in `manage.py shell -c`: the user, its token and the transcripts, through the ORM.
SETUP = f"""
import json, random
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from django_voxtral.models import Segment, Transcript, TranscriptChunk

draw = random.Random(7)
user = get_user_model().objects.create_user("bench", password=None)
token = Token.objects.create(user=user)
now = timezone.now()
words = "four score and seven years ago our fathers brought forth".split()
running, done = [], []
for i in range({RUNNING}):
    saved = draw.randint(1, {CHUNKS} - 1)
    t = Transcript.objects.create(
        owner=user, media_name=f"running-{{i}}.mp4", status="running", language="en",
        duration={CHUNKS} * 30.0, chunks_total={CHUNKS}, chunks_done=saved,
        started=now, lease_expires=now + timedelta(minutes=5), model="voxtral-mini",
    )
    for c in range(saved):
        text = " ".join(words[: 1 + c % len(words)])
        TranscriptChunk.objects.create(
            transcript=t, index=c, start=c * 30.0, end=c * 30.0 + 29.5,
            result={{"text": text, "segments": [
                {{"id": 0, "start": 0.0, "end": 29.5, "text": text}}
            ], "language": "en", "duration": 29.5}},
        )
    running.append(str(t.pk))
for i in range({DONE}):
    segs = []
    for s in range({SEGMENTS}):
        start = s * 6.0
        ws = [
            {{"start": start + 0.5 * w, "end": start + 0.5 * w + 0.4, "text": words[w]}}
            for w in range({WORDS})
        ]
        segs.append((start, start + 5.5, " ".join(x["text"] for x in ws), ws))
    t = Transcript.objects.create(
        owner=user, media_name=f"done-{{i}}.mp4", status="done", language="en",
        detected_language="en", text=" ".join(s[2] for s in segs), duration={SEGMENTS} * 6.0,
        chunks_total=4, chunks_done=4, started=now, finished=now, runtime_ms=4200,
        model="voxtral-mini",
    )
    Segment.objects.bulk_create(
        Segment(transcript=t, index=n, start=a, end=b, text=x, words=ws)
        for n, (a, b, x, ws) in enumerate(segs)
    )
    done.append(str(t.pk))
print(json.dumps({{"token": token.key, "running": running, "done": done}}))
"""


@dataclass
class Site:
    """The example site under gunicorn, with its user's token and transcripts."""

    port: int
    master: subprocess.Popen[bytes]
    token: str
    running: list[str]
    done: list[str]
    folder: Path
    env: dict[str, str] = field(repr=False)

    @property
    def ids(self) -> list[str]:
        """Running and done transcripts, interleaved."""
        return [x for pair in zip(self.running, self.done, strict=False) for x in pair]

    def workers(self) -> list[int]:
        """The pids of gunicorn's workers (the master's children)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.master.pid:
                found.append(int(entry.name))
        return sorted(found)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A DATABASE_URL for a new, empty database: SQLite in the folder, or PostgreSQL (dropped)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'db.sqlite3'}"
        return
    if kind != "postgresql":
        raise ValueError(kind)
    import psycopg

    name = f"voxtral_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_until_up(port: int, master: subprocess.Popen[bytes], log: Path) -> None:
    """Until gunicorn answers on the port (at most 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if master.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1) as s:
            s.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            if s.recv(64).startswith(b"HTTP/1."):
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on {HOST}:{port} within 60 s")


def _stop(master: subprocess.Popen[bytes]) -> None:
    if master.poll() is None:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(timeout=30)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait(timeout=10)


@contextlib.contextmanager
def serve(kind: str, workers: int = WORKERS, timeout_s: int = 300) -> Iterator[Site]:
    """The example site, migrated and filled, under gunicorn (sync workers) on a free port."""
    folder = Path(tempfile.mkdtemp(prefix=f"voxtral-serve-{kind}-"))
    try:
        with fresh_database(kind, folder) as url:
            env = example_env(
                DATABASE_URL=url,
                MEDIA_ROOT=str(folder / "media"),
                DJANGO_SETTINGS_MODULE="example_project.settings",
                DJANGO_DEBUG="0",
                DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
                HF_HUB_OFFLINE="1",
                TMPDIR=str(folder),  # the uploads' temporary files, removed with the folder
            )
            manage("migrate", "--noinput", env=env, timeout=600)
            made = json.loads(
                manage("shell", "-c", SETUP, env=env, timeout=600).strip().splitlines()[-1]
            )
            port = free_port()
            log = folder / "gunicorn.log"
            args = ["example_project.wsgi:application", "--bind", f"{HOST}:{port}"]
            args += ["--workers", str(workers), "--worker-class", "sync"]
            args += ["--timeout", str(timeout_s), "--error-logfile", "-"]
            with open(log, "wb") as log_file:
                master = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", *args],
                    cwd=EXAMPLE,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
            try:
                _wait_until_up(port, master, log)
                yield Site(
                    port=port,
                    master=master,
                    token=made["token"],
                    running=made["running"],
                    done=made["done"],
                    folder=folder,
                    env=env,
                )
            finally:
                _stop(master)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
