"""The example site served as docs/deploy.md says: gunicorn, an RQ worker on Redis, PostgreSQL, S3.

Real processes on 127.0.0.1: moto's S3 server, gunicorn (2 workers, threads) and
`manage.py rqworker`, on a fresh PostgreSQL database (dropped at the end) and a queue of its own
on Redis. A real recording goes up through the REST API and comes back as text and subtitles.
Skipped only when PostgreSQL (5432) or Redis (6379) is not reachable (scripts/services.sh).
"""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.example_site import EXAMPLE, example_env, manage

ROOT = Path(__file__).resolve().parents[2]
JFK = ROOT / "tests" / "data" / "jfk.flac"
POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
REDIS_DB = 9  # no other test uses it; the queue's name is unique to the run as well
WORDS = ["ask", "not", "what", "your", "country", "can", "do", "for", "you"]

# The environment docs/deploy.md sets, minus what only the test decides (names, ports, keys).
DEPLOY_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "VOXTRAL_TASKS": "rq",
    "AWS_S3_REGION_NAME": "us-east-1",
}
# gunicorn as docs/deploy.md runs it: threads for the requests that wait, a timeout above
# VOXTRAL["SYNC_TIMEOUT"] (300 s by default) so a waiting request is answered, never cut.
GUNICORN = ["--workers", "2", "--threads", "4", "--timeout", "330", "--graceful-timeout", "30"]
RQWORKER = [
    "--job-class",
    "django_tasks_rq.Job",
    "--worker-class",
    "rq.worker.SimpleWorker",
    "--with-scheduler",
]

# `manage.py check` (no warning either), `manage.py collectstatic`, and the owner of the upload:
# an API token, and a password for the admin's login page (staff, which shows no transcript but
# one's own: docs/api.md, "Who sees what"). One process: each start of Django takes seconds.
PREPARE = """
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
call_command("check", fail_level="WARNING")
call_command("collectstatic", interactive=False, verbosity=0)
user = get_user_model().objects.create_user("alice", password="deploy-test-password", is_staff=True)
print(Token.objects.create(user=user).key)
"""

# With VOXTRAL["SIGNED_MEDIA_URLS"], the media view answers with a redirect to a signed S3 URL.
SIGNED_MEDIA = """
from django.contrib.auth import get_user_model
from django.test import Client
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(get_user_model().objects.get(username="alice"))
answer = client.get("/transcripts/%s/media/")
print(answer.status_code, answer["Location"])
"""


def _reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, size: int = 3000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


class Processes:
    """Subprocesses each in a process group of its own, logging to files; all ended by close()."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[subprocess.Popen[Any]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                argv,
                cwd=EXAMPLE,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append(proc)
        return proc

    def log(self, name: str) -> str:
        return _tail(self.logs / f"{name}.log")

    def close(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        # rq 3.0's worker sometimes hangs after "unsubscribing from channel" (rq issue #1613):
        # a few seconds each, then SIGKILL.
        for proc in self.running:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _wait(what: str, ready: Callable[[], bool], seconds: float, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.25)
    pytest.fail(f"{what} not ready after {seconds} s:\n{log()}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database of a unique name, dropped at the end."""
    import psycopg

    name = f"voxtral_deploy_{uuid.uuid4().hex[:12]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue name of the run's own on Redis; its jobs and registries are removed at the end."""
    import redis

    name = f"voxtral-deploy-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis(*REDIS, db=REDIS_DB, socket_timeout=5)
    keys = list(client.scan_iter(f"rq:*{name}*"))
    jobs: set[bytes] = set()
    for key in keys:
        kind = client.type(key)
        if kind == b"list":
            jobs.update(client.lrange(key, 0, -1))
        elif kind == b"zset":
            jobs.update(m.split(b":")[0] for m in client.zrange(key, 0, -1))
    for job in jobs:
        keys.extend(client.scan_iter(f"rq:*{job.decode()}*"))
    if keys:
        client.delete(*keys)
    client.srem("rq:queues", f"rq:queue:{name}", f"rq:queue:{name}:intermediate")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.close()


@pytest.fixture(autouse=True)
def _services_up() -> None:
    for name, address in (("PostgreSQL", POSTGRES), ("Redis", REDIS)):
        if not _reachable(address):
            pytest.skip(
                f"{name} is not reachable on {address[0]}:{address[1]} (scripts/services.sh)"
            )


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _says(text: str, words: list[str]) -> bool:
    found = _words(text)
    return any(found[i : i + len(words)] == words for i in range(len(found)))


@pytest.mark.timeout(150)
def test_gunicorn_rq_postgresql_and_s3_transcribe_an_upload(
    tmp_path: Path, database: str, queue: str, processes: Processes
) -> None:
    import boto3
    import redis

    s3_port, web_port = _free_port(), _free_port()
    endpoint = f"http://127.0.0.1:{s3_port}"
    bucket = f"voxtral-{uuid.uuid4().hex[:12]}"
    site = f"http://127.0.0.1:{web_port}"
    env = example_env(
        **DEPLOY_ENV,
        DATABASE_URL=database,
        REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        VOXTRAL_QUEUE=queue,
        AWS_STORAGE_BUCKET_NAME=bucket,
        AWS_S3_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="deploy-test-key",
        AWS_SECRET_ACCESS_KEY="deploy-test-secret",
        DJANGO_SECRET_KEY=base64.b64encode(os.urandom(40)).decode(),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        VOXTRAL_WEBHOOK_SECRET="whsec_" + base64.b64encode(os.urandom(32)).decode(),
    )

    moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)]
    processes.start("moto", moto, env)
    manage("migrate", "--noinput", env=env)
    gunicorn = [sys.executable, "-m", "gunicorn", "example_project.wsgi"]
    processes.start("gunicorn", [*gunicorn, "--bind", f"127.0.0.1:{web_port}", *GUNICORN], env)
    processes.start("rqworker", [sys.executable, "manage.py", "rqworker", queue, *RQWORKER], env)

    # While they start, in one process: `manage.py check` and `collectstatic`, and the owner.
    token = manage("shell", "--no-imports", "-c", PREPARE, env=env).split()[-1]
    assert (tmp_path / "static" / "admin" / "css" / "base.css").exists()
    _wait("moto's S3 server", lambda: _answers(endpoint), 30, lambda: processes.log("moto"))
    s3: Any = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="deploy-test-key",
        aws_secret_access_key="deploy-test-secret",
    )
    s3.create_bucket(Bucket=bucket)
    _wait(
        "gunicorn", lambda: _answers(f"{site}/admin/login/"), 30, lambda: processes.log("gunicorn")
    )

    api = httpx.Client(base_url=site, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    with JFK.open("rb") as audio:
        upload = api.post("/api/transcripts/", files={"audio": ("jfk.flac", audio)})
    assert upload.status_code == 202, upload.text
    transcript_id = upload.json()["id"]

    deadline = time.monotonic() + 90
    while (found := api.get(f"/api/transcripts/{transcript_id}/").json())["status"] in {
        "queued",
        "running",
    }:
        assert time.monotonic() < deadline, (
            f"still {found['status']} after 90 s:\n{processes.log('rqworker')}"
        )
        time.sleep(0.5)
    assert found["status"] == "done", f"{found['error']}\n{processes.log('rqworker')}"
    assert _says(found["text"], WORDS), found["text"]

    # The upload is an object in the bucket, not a file on the web server's disk.
    names = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(names) == 1 and names[0].endswith("jfk.flac"), names
    stored = s3.get_object(Bucket=bucket, Key=names[0])["Body"].read()
    assert stored == JFK.read_bytes()
    assert not (EXAMPLE / "media" / names[0]).exists()

    srt = api.get(f"/api/transcripts/{transcript_id}.srt")
    assert srt.status_code == 200, srt.text
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert "-->" in srt.text and _says(srt.text, WORDS), srt.text

    # Signed URLs (asked meanwhile, in a process of its own): a redirect to S3.
    signed_env = {**env, "VOXTRAL_SIGNED_MEDIA_URLS": "1"}
    asking = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", SIGNED_MEDIA % transcript_id],
        cwd=EXAMPLE,
        env=signed_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    processes.running.append(asking)

    # The media view reads the object through the storage API, for its owner's session only.
    media = f"/transcripts/{transcript_id}/media/"
    assert httpx.get(f"{site}{media}").status_code == 404, "nobody's: as if it did not exist"
    browser = httpx.Client(base_url=site, timeout=30)
    login = browser.get("/admin/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert csrf, login.text[:500]
    signed_in = browser.post(
        "/admin/login/?next=/admin/",
        data={
            "username": "alice",
            "password": "deploy-test-password",
            "csrfmiddlewaretoken": csrf.group(1),
        },
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
    whole = browser.get(media)
    assert whole.status_code == 200 and whole.content == stored
    assert browser.get(media, headers={"Range": "bytes=0-3"}).content == b"fLaC"

    # The upload throttle counts in the shared cache (Redis), where every gunicorn worker looks.
    counted = list(redis.Redis(*REDIS, db=REDIS_DB).scan_iter("*throttle_voxtral_upload_*"))
    assert counted, "the throttle's count is in Redis"

    # The synchronous endpoint: a gunicorn thread waits while the RQ worker does the work.
    with JFK.open("rb") as audio:
        sync = api.post(
            "/v1/audio/transcriptions",
            files={"file": ("jfk.flac", audio)},
            data={"model": "whisper-1", "response_format": "text"},
            timeout=120,
        )
    assert sync.status_code == 200, sync.text
    assert _says(sync.text, WORDS), sync.text

    out, err = asking.communicate(timeout=60)
    assert asking.returncode == 0, err[-3000:]
    code, location = out.split()
    assert code == "302" and location.startswith(f"{endpoint}/{bucket}/"), out
    assert "Signature=" in location and httpx.get(location).content == stored
