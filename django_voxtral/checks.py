"""Django system checks: ffmpeg present, backends known and configured, tasks run off the request.

Checks only look: never call a service or start a process other than `ffmpeg -version` lookups.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import checks

from ffmpeg_bridge import CHUNK_FORMATS, DETECTORS, detector_problems

from .conf import get_backend, get_settings
from .speech.backends.errors import SpeechError

TAG = "django_voxtral"


def check_ffmpeg(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for env, default in (("FFMPEG_BINARY", "ffmpeg"), ("FFPROBE_BINARY", "ffprobe")):
        binary = os.environ.get(env, default)
        if shutil.which(binary) is None:
            errors.append(
                checks.Error(
                    f"{binary} was not found on PATH; transcripts cannot be made without it.",
                    hint="Install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew "
                    f"install ffmpeg), or set {env} to its full path.",
                    id="django_voxtral.E001",
                )
            )
    return errors


def check_backends(**kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    conf = get_settings()
    if "default" not in conf.backends:
        messages.append(
            checks.Error(
                "VOXTRAL['BACKENDS'] has no 'default' entry.",
                hint="Name one of the backends 'default'; it serves transcripts that name none.",
                id="django_voxtral.E002",
            )
        )
    for alias in conf.backends:
        try:
            backend = get_backend(alias)
        except (SpeechError, ImportError, ValueError, TypeError) as exc:
            messages.append(
                checks.Error(
                    f"VOXTRAL['BACKENDS'][{alias!r}] cannot be loaded: {exc}",
                    hint="BACKEND is an alias (deepinfra, openai, local, dummy) or the dotted "
                    "path of a SpeechBackend subclass; OPTIONS are its keyword arguments.",
                    id="django_voxtral.E003",
                )
            )
            continue
        with backend:
            for problem in backend.configuration_problems():
                messages.append(
                    checks.Error(
                        f"VOXTRAL['BACKENDS'][{alias!r}]: {problem}",
                        id="django_voxtral.E004",
                    )
                )
    return messages


def check_hooks(**kwargs: Any) -> list[checks.CheckMessage]:
    """Upload hooks that name a backend alias VOXTRAL['BACKENDS'] does not have."""
    from .hooks import all_hooks

    known = get_settings().backends
    return [
        checks.Error(
            f"The upload hook of {hook.model._meta.label}.{hook.field} uses the backend "
            f"{hook.backend!r}, which is not in VOXTRAL['BACKENDS'] ({', '.join(known)}).",
            hint="Add it to VOXTRAL['BACKENDS'], or pass one of those to register(backend=...).",
            obj=hook.model,
            id="django_voxtral.E006",
        )
        for hook in all_hooks()
        if hook.backend not in known
    ]


def check_task_backend(**kwargs: Any) -> list[checks.CheckMessage]:
    conf = get_settings()
    tasks_setting = getattr(settings, "TASKS", None) or {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
    }
    entry = tasks_setting.get(conf.task_backend)
    if entry is None:
        return [
            checks.Error(
                f"VOXTRAL['TASK_BACKEND'] is {conf.task_backend!r}, which is not in TASKS.",
                hint=f"Add {conf.task_backend!r} to TASKS, or set VOXTRAL['TASK_BACKEND'].",
                id="django_voxtral.E005",
            )
        ]
    backend = str(entry.get("BACKEND", ""))
    if backend.endswith("ImmediateBackend") and not settings.DEBUG:
        return [
            checks.Warning(
                "Transcripts run with django.tasks' ImmediateBackend: inside the request that "
                "creates them, for as long as the transcription takes.",
                hint="In production use a worker: django_tasks_db.DatabaseBackend "
                "(manage.py db_worker) or django_tasks_rq.RQBackend (rqworker).",
                id="django_voxtral.W001",
            )
        ]
    return []


def check_chunk_format(**kwargs: Any) -> list[checks.CheckMessage]:
    fmt = get_settings().chunk_format
    if fmt in CHUNK_FORMATS:
        return []
    return [
        checks.Error(
            f"VOXTRAL['CHUNK_FORMAT'] is {fmt!r}; chunks can be sent as "
            f"{', '.join(CHUNK_FORMATS)}.",
            hint="Use flac (lossless, the default) or mp3 (about a quarter of the bytes).",
            id="django_voxtral.E007",
        )
    ]


def check_speech_detector(**kwargs: Any) -> list[checks.CheckMessage]:
    """Which detector finds speech: an error when the one named cannot run, a warning when
    "auto" falls back to loudness (which sends speech over noise or music whole)."""
    name = get_settings().speech_detector
    if name not in DETECTORS:
        return [
            checks.Error(
                f"VOXTRAL['SPEECH_DETECTOR'] is {name!r}; it is one of {', '.join(DETECTORS)}.",
                hint="Use auto (the default): the Silero detector where onnxruntime is "
                "installed, else loudness.",
                id="django_voxtral.E008",
            )
        ]
    if name == "level":
        return []
    problems = detector_problems()
    if not problems:
        return []
    if name == "silero":
        return [
            checks.Error(
                f"VOXTRAL['SPEECH_DETECTOR'] is 'silero', which cannot run here: "
                f"{'; '.join(problems)}.",
                hint='pip install "django-voxtral[vad]", or set SPEECH_DETECTOR to "level".',
                id="django_voxtral.E008",
            )
        ]
    return [
        checks.Warning(
            "Speech is found by loudness, not by the Silero detector "
            f"({'; '.join(problems)}): speech over noise or music is sent whole, and so are "
            "quiet stretches without speech.",
            hint='pip install "django-voxtral[vad]" (onnxruntime), or set '
            'VOXTRAL["SPEECH_DETECTOR"] = "level" to choose loudness knowingly.',
            id="django_voxtral.W002",
        )
    ]


def check_webhook_secret(**kwargs: Any) -> list[checks.CheckMessage]:
    """Webhooks are signed with VOXTRAL['WEBHOOK_SECRET']: a warning without one, an error when
    it cannot be read (then no webhook is sent)."""
    from .exceptions import WebhookSecretInvalid
    from .webhook_signing import secret_key

    secret = get_settings().webhook_secret
    if not secret:
        return [
            checks.Warning(
                "VOXTRAL['WEBHOOK_SECRET'] is not set: webhooks of /v1/inference are sent "
                "unsigned, so a receiver cannot tell them from forged ones.",
                hint="Set it to a whsec_ secret (python -c \"import base64, os; print('whsec_' + "
                'base64.b64encode(os.urandom(32)).decode())") and give it to your receivers; '
                "see docs/api.md, Webhooks.",
                id="django_voxtral.W003",
            )
        ]
    try:
        secret_key(secret)
    except WebhookSecretInvalid as exc:
        return [checks.Error(f"{exc} Until then no webhook is sent.", id="django_voxtral.E009")]
    return []


#: Shorter waits for SQLite's write lock than this make a busy site fail with "database is locked".
SQLITE_MIN_TIMEOUT = 5.0
_BUSY_TIMEOUT = re.compile(r"busy_timeout\s*=\s*(\d+)", re.IGNORECASE)
_WAL = re.compile(r"journal_mode\s*=\s*'?wal\b", re.IGNORECASE)


def sqlite_problems(database: Mapping[str, Any]) -> list[str]:
    """How one DATABASES entry, if a SQLite file, is set up to lock under concurrent writes."""
    if not str(database.get("ENGINE", "")).endswith("sqlite3"):
        return []
    name = str(database.get("NAME", ""))
    if not name or name == ":memory:" or "mode=memory" in name:
        return []
    options = database.get("OPTIONS") or {}
    init = str(options.get("init_command", ""))
    problems = []
    mode = str(options.get("transaction_mode") or "DEFERRED").upper()
    if mode not in ("IMMEDIATE", "EXCLUSIVE"):
        problems.append(
            f"transaction_mode is {mode} (a transaction that reads, then writes, fails at once "
            "when another process writes meanwhile)"
        )
    pragma = _BUSY_TIMEOUT.findall(init)
    timeout = int(pragma[-1]) / 1000 if pragma else float(options.get("timeout", 5))
    if timeout < SQLITE_MIN_TIMEOUT:
        problems.append(f"a write waits only {timeout:g} s for the lock")
    if not _WAL.search(init):
        problems.append("the journal is not WAL (readers, such as admin pages, block writers)")
    return problems


def check_sqlite(**kwargs: Any) -> list[checks.CheckMessage]:
    """A SQLite file shared by the site and its workers, set up so that writes fail when busy."""
    from .db_retry import SQLITE_OPTIONS

    return [
        checks.Warning(
            f"DATABASES[{alias!r}] is SQLite set up to fail with 'database is locked' when the "
            f"site and its workers write at once: {'; '.join(problems)}.",
            hint=f"Set DATABASES[{alias!r}]['OPTIONS'] = {SQLITE_OPTIONS!r} (Django 5.1 or "
            "later); see docs/django.md, Workers, SQLite.",
            id="django_voxtral.W004",
        )
        for alias, database in settings.DATABASES.items()
        if (problems := sqlite_problems(database))
    ]


def check_swagger_ui_files(**kwargs: Any) -> list[checks.CheckMessage]:
    """The schema page serves Swagger UI from drf-spectacular-sidecar's static files, which
    staticfiles finds only with its app installed."""
    from django.apps import apps

    if apps.is_installed("drf_spectacular_sidecar"):
        return []
    return [
        checks.Warning(
            "drf_spectacular_sidecar is not in INSTALLED_APPS: the schema page "
            "/api/schema/swagger-ui/ loads Swagger UI's script and style from it, so without it "
            "the page stays blank.",
            hint='Add "drf_spectacular_sidecar" to INSTALLED_APPS (the package '
            "drf-spectacular-sidecar comes with django-voxtral); see docs/api.md, The schema.",
            id="django_voxtral.W005",
        )
    ]


def check_media_access(**kwargs: Any) -> list[checks.CheckMessage]:
    """VOXTRAL['MEDIA_ACCESS'] names a function that can be imported: else no media or captions
    could be served (media_access.py raises rather than guess)."""
    from django.core.exceptions import ImproperlyConfigured

    from .media_access import media_access_hook

    try:
        media_access_hook()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="See docs/django.md, Captions on your own pages: who may fetch them.",
                id="django_voxtral.E010",
            )
        ]
    return []


def register() -> None:
    checks.register(check_ffmpeg, TAG)
    checks.register(check_backends, TAG)
    checks.register(check_hooks, TAG)
    checks.register(check_task_backend, TAG)
    checks.register(check_chunk_format, TAG)
    checks.register(check_speech_detector, TAG)
    checks.register(check_webhook_secret, TAG)
    checks.register(check_sqlite, TAG)
    checks.register(check_swagger_ui_files, TAG)
    checks.register(check_media_access, TAG)
