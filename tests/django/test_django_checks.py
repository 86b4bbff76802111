"""Django system checks: misconfiguration shows up in `manage.py check`, not at the first upload.

Each test changes one setting and looks for the check's id.
"""

from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_voxtral import checks
from django_voxtral.conf import get_settings

ROOT = Path(__file__).resolve().parents[2]


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_the_test_settings_pass() -> None:
    call_command("check", tags=["django_voxtral"])


def test_ffmpeg_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FFMPEG_BINARY", "/nonexistent/ffmpeg")
    messages = checks.check_ffmpeg()
    assert ids(messages) == ["django_voxtral.E001"]
    assert "apt-get install ffmpeg" in (messages[0].hint or "")


def test_no_default_backend(settings: Any) -> None:
    settings.VOXTRAL = {"BACKENDS": {"other": {"BACKEND": "dummy"}}}
    assert "django_voxtral.E002" in ids(checks.check_backends())


def test_unknown_backend(settings: Any) -> None:
    settings.VOXTRAL = {"BACKENDS": {"default": {"BACKEND": "whisperz"}}}
    messages = checks.check_backends()
    assert ids(messages) == ["django_voxtral.E003"]
    assert "whisperz" in messages[0].msg


def test_hosted_backend_without_token(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPINFRA_TOKEN", raising=False)
    settings.VOXTRAL = {"BACKENDS": {"default": {"BACKEND": "deepinfra"}}}
    messages = checks.check_backends()
    assert ids(messages) == ["django_voxtral.E004"]
    assert "DEEPINFRA_TOKEN" in messages[0].msg
    with pytest.raises(SystemCheckError, match="E004"):
        call_command("check", tags=["django_voxtral"])


def test_hosted_backend_with_token_passes(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPINFRA_TOKEN", "a-token")
    settings.VOXTRAL = {"BACKENDS": {"default": {"BACKEND": "deepinfra"}}}
    assert checks.check_backends() == []


def test_immediate_task_backend_in_production(settings: Any) -> None:
    settings.DEBUG = False
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    assert ids(checks.check_task_backend()) == ["django_voxtral.W001"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert checks.check_task_backend() == []


def test_task_backend_alias_must_exist(settings: Any) -> None:
    settings.VOXTRAL = {"TASK_BACKEND": "transcripts"}
    assert ids(checks.check_task_backend()) == ["django_voxtral.E005"]


def test_settings_reload_when_changed(settings: Any) -> None:
    settings.VOXTRAL = {"CONCURRENCY": 3}
    assert get_settings().concurrency == 3
    settings.VOXTRAL = {"CONCURRENCY": 5}
    assert get_settings().concurrency == 5
    assert get_settings().max_chunk_seconds == 30


def test_upload_hook_with_an_unknown_backend() -> None:
    from django_voxtral import hooks
    from tests.testapp.models import Clip

    hooks.register(Clip, "file", backend="fast")
    try:
        messages = checks.check_hooks()
    finally:
        hooks.unregister(Clip)
    assert ids(messages) == ["django_voxtral.E006"]
    assert "testapp.Clip.file" in messages[0].msg and "'fast'" in messages[0].msg
    assert checks.check_hooks() == []


def test_unknown_chunk_format(settings: Any) -> None:
    settings.VOXTRAL = {"CHUNK_FORMAT": "ogg"}
    messages = checks.check_chunk_format()
    assert ids(messages) == ["django_voxtral.E007"]
    assert "ogg" in messages[0].msg
    settings.VOXTRAL = {"CHUNK_FORMAT": "mp3"}
    assert checks.check_chunk_format() == []


def test_speech_detector_default_is_silero_and_passes(settings: Any) -> None:
    settings.VOXTRAL = {}
    assert get_settings().pipeline_options()["detector"] == "auto"
    assert checks.check_speech_detector() == []


def test_speech_detector_unknown_name(settings: Any) -> None:
    settings.VOXTRAL = {"SPEECH_DETECTOR": "ears"}
    messages = checks.check_speech_detector()
    assert ids(messages) == ["django_voxtral.E008"]
    assert "auto, silero, level" in messages[0].msg


def test_speech_detector_without_onnxruntime(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec

    def without_onnxruntime(name: str, *args: Any) -> Any:
        return None if name == "onnxruntime" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_onnxruntime)
    settings.VOXTRAL = {"SPEECH_DETECTOR": "auto"}
    [warning] = checks.check_speech_detector()
    assert warning.id == "django_voxtral.W002"
    assert "loudness" in warning.msg and "onnxruntime" in warning.msg
    settings.VOXTRAL = {"SPEECH_DETECTOR": "silero"}
    [error] = checks.check_speech_detector()
    assert error.id == "django_voxtral.E008"
    assert "django-voxtral[vad]" in (error.hint or "")
    settings.VOXTRAL = {"SPEECH_DETECTOR": "level"}
    assert checks.check_speech_detector() == []


def _sqlite_check(monkeypatch: pytest.MonkeyPatch, **options: Any) -> list[Any]:
    """check_sqlite on one SQLite file database with these OPTIONS (None: no OPTIONS at all)."""
    database: dict[str, Any] = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/db.sqlite3"}
    if options:
        database["OPTIONS"] = options
    monkeypatch.setattr(checks, "settings", SimpleNamespace(DATABASES={"default": database}))
    return checks.check_sqlite()


def test_sqlite_set_up_to_lock_warns_with_the_settings_to_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django_voxtral.db_retry import SQLITE_OPTIONS

    for old in ({}, {"timeout": 20}):  # Django's default; the example site's before
        [warning] = _sqlite_check(monkeypatch, **old)
        assert warning.id == "django_voxtral.W004"
        assert "database is locked" in warning.msg and "DEFERRED" in warning.msg
        assert "not WAL" in warning.msg
        assert repr(SQLITE_OPTIONS) in (warning.hint or "")
    [short] = _sqlite_check(
        monkeypatch,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode = WAL; PRAGMA busy_timeout=2000",
    )
    assert "waits only 2 s" in short.msg and "DEFERRED" not in short.msg
    assert "WAL" not in short.msg


def test_sqlite_set_up_right_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_voxtral.db_retry import SQLITE_OPTIONS

    assert _sqlite_check(monkeypatch, **SQLITE_OPTIONS) == []
    example = runpy.run_path(str(ROOT / "example_project" / "example_project" / "settings.py"))
    if example["DATABASES"]["default"]["ENGINE"].endswith("sqlite3"):  # unless DATABASE_URL
        assert checks.sqlite_problems(example["DATABASES"]["default"]) == []
    for elsewhere in (
        {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        {"ENGINE": "django.db.backends.postgresql", "NAME": "site"},
    ):
        assert checks.sqlite_problems(elsewhere) == []


def test_swagger_ui_files_need_the_sidecar_app() -> None:
    from django.test import modify_settings

    assert checks.check_swagger_ui_files() == []
    with modify_settings(INSTALLED_APPS={"remove": ["drf_spectacular_sidecar"]}):
        [warning] = checks.check_swagger_ui_files()
        with pytest.raises(SystemCheckError, match="W005"):
            call_command("check", tags=["django_voxtral"], fail_level="WARNING")
    assert warning.id == "django_voxtral.W005"
    assert "/api/schema/swagger-ui/" in warning.msg
    assert '"drf_spectacular_sidecar"' in (warning.hint or "")
    assert checks.check_swagger_ui_files() == []
