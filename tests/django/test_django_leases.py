"""Leases: work survives dead workers (SIGKILL), stopped workers (SIGTERM once or twice) and
leaves no temporary files behind; real db_worker processes on a file SQLite database.

Never share the workers' database with other tests: each test copies a freshly migrated one.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from django_voxtral import leases, spool
from django_voxtral.models import Transcript
from django_voxtral.runner import INTERRUPTED, run_transcript
from django_voxtral.speech.backends import dummy
from tests.fixtures_standin import write_tones
from tests.standin import StandIn

ROOT = Path(__file__).resolve().parents[2]
LEASE = 3
TONES = 12  # one chunk each
LATENCY = 0.6  # seconds per chunk at the stand-in: a run takes about 7 s

Status = Transcript.Status


# -- in this process -------------------------------------------------------------------------


def _transcript(path: Path, **fields: Any) -> Transcript:
    transcript = Transcript(media_name=path.name, **fields)
    transcript.media.save(path.name, ContentFile(path.read_bytes()), save=False)
    transcript.save()
    return transcript


@pytest.mark.django_db
def test_a_running_transcript_whose_lease_ran_out_is_claimed_again_and_resumes(
    long_pause_audio: Path,
) -> None:
    dummy.clear_outbox()
    transcript = _transcript(long_pause_audio)
    assert run_transcript(transcript.pk) == Status.DONE
    stored = transcript.chunks.count()
    assert stored == len(dummy.outbox) >= 2
    dummy.clear_outbox()
    past = timezone.now() - timedelta(seconds=1)
    Transcript.objects.filter(pk=transcript.pk).update(status=Status.RUNNING, lease_expires=past)

    assert run_transcript(transcript.pk) == Status.DONE
    assert dummy.outbox == [], "every chunk was stored: none is sent again"
    transcript.refresh_from_db()
    assert transcript.lease_expires is None and transcript.error == ""


@pytest.mark.django_db
def test_a_running_transcript_with_a_live_lease_is_left_to_its_worker(
    long_pause_audio: Path,
) -> None:
    dummy.clear_outbox()
    later = timezone.now() + timedelta(seconds=60)
    transcript = _transcript(
        long_pause_audio, status=Status.RUNNING, started=timezone.now(), lease_expires=later
    )
    assert run_transcript(transcript.pk) == Status.RUNNING
    assert leases.requeue_expired() == []
    assert dummy.outbox == []


@pytest.mark.django_db
def test_expired_leases_are_queued_again_once(settings: Any) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "WORKER_LEASE_SECONDS": 60}
    now = timezone.now()
    dead = Transcript.objects.create(
        status=Status.RUNNING, started=now - timedelta(minutes=5), lease_expires=now
    )
    # Claimed before leases existed: no lease, running for longer than one.
    old = Transcript.objects.create(status=Status.RUNNING, started=now - timedelta(minutes=5))
    young = Transcript.objects.create(status=Status.RUNNING, started=now)
    live = Transcript.objects.create(
        status=Status.RUNNING, started=now, lease_expires=now + timedelta(seconds=60)
    )

    assert sorted(leases.requeue_expired()) == sorted([str(dead.pk), str(old.pk)])
    assert leases.requeue_expired() == [], "a second sweep finds nothing to do"
    for row in (dead, old):
        row.refresh_from_db()
        assert row.status == Status.QUEUED and row.lease_expires is None
        assert "lease ran out" in row.error and "resumes from its stored chunks" in row.error
    for row in (young, live):
        row.refresh_from_db()
        assert row.status == Status.RUNNING


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_the_run_owns_it_and_lost_when_claimed_again(
    settings: Any,
) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "WORKER_LEASE_SECONDS": 1.5}
    started = timezone.now()
    first = started + timedelta(seconds=1.5)
    row = Transcript.objects.create(status=Status.RUNNING, started=started, lease_expires=first)
    with leases.LeaseKeeper(row.pk, started) as keeper:
        time.sleep(1.2)
        row.refresh_from_db()
        assert row.lease_expires is not None and row.lease_expires > first
        assert not keeper.lost.is_set()
        Transcript.objects.filter(pk=row.pk).update(started=timezone.now())  # claimed again
        assert keeper.lost.wait(2), "the next renewal notices the row is another run's"


@pytest.mark.django_db
def test_sigterm_during_a_run_stores_what_arrived_and_queues_it_again(
    long_pause_audio: Path, settings: Any
) -> None:
    """The worker's own handler still runs; the run sends no new chunk and hands back the row."""
    settings.VOXTRAL = {**settings.VOXTRAL, "CONCURRENCY": 1}
    dummy.clear_outbox()
    transcript = _transcript(long_pause_audio)
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))

    def stop_after_the_first_chunk(p: Any) -> None:
        if p.stage == "transcribing" and p.chunks_done == 1 and not seen:
            os.kill(os.getpid(), signal.SIGTERM)

    try:
        outcome = run_transcript(transcript.pk, progress=stop_after_the_first_chunk)
    finally:
        handler_after = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)

    assert outcome == INTERRUPTED
    assert seen == [signal.SIGTERM], "the worker's handler was called too"
    assert handler_after is not previous and callable(handler_after), "its handler is back"
    transcript.refresh_from_db()
    assert transcript.status == Status.QUEUED and transcript.lease_expires is None
    assert transcript.error.startswith("Interrupted: the worker was asked to stop (SIGTERM)")
    assert transcript.chunks.count() == len(dummy.outbox) == 1, "no chunk started after it"

    dummy.clear_outbox()
    assert run_transcript(transcript.pk) == Status.DONE
    transcript.refresh_from_db()
    assert transcript.error == "" and len(dummy.outbox) == transcript.chunks.count() - 1


def _run_folder(root: Path, pid: int, age: float) -> Path:
    folder = root / f"{spool.RUN_PREFIX}{pid}-test"
    folder.mkdir()
    (folder / "owner").write_text(f"{os.uname().nodename} {pid}\n")
    (folder / "media.wav").write_bytes(b"x")
    when = time.time() - age
    os.utime(folder, (when, when))
    return folder


def test_temporary_folders_of_dead_runs_are_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead_old = _run_folder(tmp_path, gone.pid, age=120)
    ours = _run_folder(tmp_path, os.getpid(), age=120)
    alive = _run_folder(tmp_path, os.getppid(), age=120)
    other_host = _run_folder(tmp_path, gone.pid + 1, age=120)
    (other_host / "owner").write_text(f"elsewhere {gone.pid}\n")

    assert spool.remove_dead_runs(older_than=60, directory=str(tmp_path)) == 1
    assert not dead_old.exists()
    assert ours.exists() and alive.exists() and other_host.exists()
    (tmp_path / "young").mkdir()
    young = _run_folder(tmp_path / "young", gone.pid, age=0)
    assert spool.remove_dead_runs(older_than=60, directory=str(tmp_path / "young")) == 0
    assert young.exists(), "too young: its pid may belong to a process just started"


# -- real db_worker processes ------------------------------------------------------------------

SETTINGS = """
import os
from tests.django_settings import *  # noqa: F403

_HERE = os.environ["LEASE_TEST_DIR"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(_HERE, "db.sqlite3"),
        "OPTIONS": {"timeout": 30},
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
    "BACKENDS": {
        "default": {
            "BACKEND": "deepinfra",
            "OPTIONS": {
                "base_url": os.environ["LEASE_TEST_URL"],
                "token": os.environ["LEASE_TEST_TOKEN"],
                "max_retries": 0,
            },
        }
    },
    "MAX_CHUNK_SECONDS": 1.5,
    "CONCURRENCY": 1,
    "WORKER_LEASE_SECONDS": %(lease)s,
}
"""

CREATE = """
from django.core.files.base import ContentFile
from django.db import transaction
from django_voxtral.models import Transcript
from django_voxtral.tasks import enqueue
import os, pathlib
path = pathlib.Path(os.environ["LEASE_TEST_MEDIA"])
with transaction.atomic():
    t = Transcript(media_name=path.name)
    t.media.save(path.name, ContentFile(path.read_bytes()), save=False)
    t.save()
    enqueue(t)
print(t.pk.hex)
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied by each test."""
    here = tmp_path_factory.mktemp("leases-db")
    (here / "leasesettings.py").write_text(SETTINGS % {"lease": LEASE})
    env = {
        **os.environ,
        "LEASE_TEST_DIR": str(here),
        "LEASE_TEST_URL": "http://127.0.0.1:9",
        "LEASE_TEST_TOKEN": "-",
    }
    env["PYTHONPATH"] = os.pathsep.join([str(here), str(ROOT)])
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v0", "--settings=leasesettings"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return here / "db.sqlite3"


class Site:
    """One test's database, media, temp folder and workers, all in a folder of its own."""

    def __init__(self, here: Path, db: Path, standin: StandIn, token: str) -> None:
        self.here = here
        shutil.copy(db, here / "db.sqlite3")
        (here / "leasesettings.py").write_text(SETTINGS % {"lease": LEASE})
        self.tmp = here / "tmp"
        self.tmp.mkdir()
        self.env = {
            **os.environ,
            "LEASE_TEST_DIR": str(here),
            "LEASE_TEST_URL": standin.base_url,
            "LEASE_TEST_TOKEN": token,
            "PYTHONPATH": os.pathsep.join([str(here), str(ROOT)]),
            "TMPDIR": str(self.tmp),
        }
        self.env.pop("DATABASE_URL", None)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.db = sqlite3.connect(here / "db.sqlite3", timeout=30, isolation_level=None)

    def create(self, media: Path) -> None:
        """A transcript of ``media``, queued the way a site queues one."""
        subprocess.run(
            [sys.executable, "-m", "django", "shell", "--settings=leasesettings", "-c", CREATE],
            cwd=ROOT,
            env={**self.env, "LEASE_TEST_MEDIA": str(media)},
            check=True,
            capture_output=True,
            timeout=60,
        )

    def worker(self) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        log = (self.here / f"worker-{n}.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "django",
                "db_worker",
                "--settings=leasesettings",
                "--interval=0.2",
                "--no-startup-delay",
                "--no-reload",
                "-v2",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(proc)
        return proc

    def row(self) -> tuple[str, str, str | None]:
        found = self.db.execute(
            "SELECT status, error, lease_expires FROM django_voxtral_transcript"
        ).fetchone()
        assert found is not None
        return found[0], found[1], found[2]

    def chunks(self) -> dict[int, str]:
        rows = self.db.execute("SELECT `index`, created FROM django_voxtral_transcriptchunk")
        return dict(rows.fetchall())

    def runs(self) -> list[tuple[str, str | None, str]]:
        """The transcribe tasks' status, return value and exception, oldest first."""
        rows = self.db.execute(
            "SELECT status, return_value, exception_class_path"
            " FROM django_tasks_database_dbtaskresult"
            " WHERE task_path LIKE '%.transcribe_transcript' ORDER BY enqueued_at"
        )
        return [(a, b, c) for a, b, c in rows.fetchall()]

    def wait(self, what: str, ok: Callable[[], bool], seconds: float = 40) -> None:
        end = time.monotonic() + seconds
        while not ok():
            if time.monotonic() > end:
                logs = "\n".join(p.read_text()[-3000:] for p in self.here.glob("worker-*.log"))
                pytest.fail(f"waited {seconds} s for {what}; row {self.row()}\n{logs}")
            time.sleep(0.1)

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self.db.close()


@pytest.fixture
def site(tmp_path: Path, migrated: Path, standin: StandIn, standin_token: str) -> Iterator[Site]:
    standin.latency = LATENCY
    made = Site(tmp_path, migrated, standin, standin_token)
    yield made
    made.close()


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TONES short tones two seconds apart: one chunk each."""
    folder = tmp_path_factory.mktemp("lease-tones")
    spans = [(0.5 + 2 * i, 1.2 + 2 * i) for i in range(TONES)]
    return write_tones(folder / "tones.wav", duration=2 * TONES, tones=spans)


def _run_folders(site: Site) -> list[Path]:
    return sorted(site.tmp.glob(spool.RUN_PREFIX + "*"))


def _resumed_without_resending(
    site: Site, standin: StandIn, stored: dict[int, str], sent_before: int
) -> None:
    """A new worker finishes the transcript by itself, sending only the chunks not stored."""
    site.worker()
    site.wait("the next worker to finish it", lambda: site.row()[0] == Status.DONE)
    _, error, lease = site.row()
    assert error == "" and lease is None
    chunks = site.chunks()
    assert len(chunks) == TONES
    assert all(chunks[i] == created for i, created in stored.items()), "stored ones kept"
    assert len(standin.requests) - sent_before == TONES - len(stored), "none sent twice"


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_after_sigkill_the_next_worker_resumes_by_itself(
    site: Site, standin: StandIn, tones: Path
) -> None:
    site.create(tones)
    first = site.worker()
    site.wait("three stored chunks", lambda: len(site.chunks()) >= 3)
    assert _run_folders(site), "the run spools its media into a folder of its own"
    assert list(_run_folders(site)[0].glob("voxtral-chunks-*")), "its chunks beside the media"
    first.kill()
    first.wait()
    time.sleep(0.3)
    status, error, _ = site.row()
    assert status == Status.RUNNING and error == "", "what a dead worker leaves behind"
    stored, sent = site.chunks(), len(standin.requests)

    _resumed_without_resending(site, standin, stored, sent)
    assert _run_folders(site) == [], "the dead run's folder was removed, and the new one's"
    assert list(site.tmp.glob("voxtral-chunks-*")) == [], "no chunk folder left anywhere"


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize("signals", [1, 2], ids=["once", "twice"])
def test_after_sigterm_the_transcript_waits_queued_and_the_next_worker_finishes_it(
    site: Site, standin: StandIn, tones: Path, signals: int
) -> None:
    site.create(tones)
    first = site.worker()
    site.wait("two stored chunks", lambda: len(site.chunks()) >= 2)
    for _ in range(signals):
        first.send_signal(signal.SIGTERM)
        time.sleep(0.1)
    assert first.wait(timeout=15) is not None
    status, error, lease = site.row()
    assert status == Status.QUEUED and lease is None
    assert error.startswith("Interrupted: the worker was asked to stop (SIGTERM)")
    stored, sent = site.chunks(), len(standin.requests)
    assert len(stored) < TONES and sent - len(stored) <= 1, "at most the one in flight is lost"
    assert _run_folders(site) == []
    # The task says how its run ended: interrupted, or stopped hard by the second signal.
    expected = ("SUCCESSFUL", '"interrupted"', "") if signals == 1 else ("FAILED", None, "")
    assert site.runs()[0][:2] == expected[:2]
    assert (site.runs()[0][2] == "builtins.SystemExit") == (signals == 2)

    _resumed_without_resending(site, standin, stored, sent)
    # The worker records its task's result just after the transcript is saved done.
    site.wait("the task's result", lambda: site.runs()[-1][0] != "RUNNING", 15)
    assert site.runs()[-1][:2] == ("SUCCESSFUL", '"done"')


def test_threads_are_left_alone() -> None:
    """The lease thread ends with its run."""
    assert not [t for t in threading.enumerate() if t.name.startswith("voxtral-lease-")]
