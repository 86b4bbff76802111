"""The VOXTRAL setting read through one small typed object, with defaults, reloaded on change.

Never read a setting or a secret at import time: everything is looked up when used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .exceptions import UnknownBackend
from .speech.backends.base import SpeechBackend

DEFAULT_BACKEND_ALIAS = "default"

DEFAULTS: dict[str, Any] = {
    "BACKENDS": None,  # None: one "default" backend, deepinfra with a token, else local.
    "MAX_CHUNK_SECONDS": 30,
    "CONCURRENCY": 8,
    "MAX_MEDIA_SECONDS": 4 * 3600,
    "CHUNK_FORMAT": "flac",  # how chunks are sent: flac (lossless), wav, or mp3 (smallest)
    "SPEECH_DETECTOR": "auto",  # how speech is found: silero, level (loudness), or auto
    "MAX_UPLOAD_SIZE": 1024 * 1024 * 1024,  # bytes: 1 GiB
    "UPLOAD_TO": "voxtral/%Y/%m/",
    "TASK_BACKEND": "default",  # the django.tasks backend alias that runs transcripts
    "QUEUE_NAME": "default",
    "WEBHOOK_ALLOW_PRIVATE": False,
    "WEBHOOK_TIMEOUT": 10,
    "WEBHOOK_SECRET": "",  # whsec_<base64>: signs webhooks (Standard Webhooks); "" sends unsigned
    "UPLOAD_THROTTLE_RATE": "60/hour",
    "SYNC_TIMEOUT": 300,  # seconds the synchronous endpoints (/v1/...) wait for a result
    "MODELS": {},  # "app_label.Model": {"field": ..., "task": ..., ...}: declarative hooks
    "WORKER_LEASE_SECONDS": 90,  # a running transcript's lease; a dead worker's runs out
    "USER_MINUTES_PER_DAY": None,  # audio minutes a user may queue per day (budgets.py); None: any
    "SIGNED_MEDIA_URLS": False,  # media view redirects to the storage's signed URL (S3)
    "REUSE_RESULTS": True,  # same media, same options as a done transcript: nothing sent again
    # (request, transcript) -> bool: who may fetch media and captions (media_access.py)
    "MEDIA_ACCESS": "django_voxtral.media_access.viewers_only",
}

_cached: VoxtralSettings | None = None


@dataclass(frozen=True)
class BackendSettings:
    """One named entry of VOXTRAL["BACKENDS"]."""

    alias: str
    backend: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        model = self.options.get("model")
        return str(model) if model else None


@dataclass(frozen=True)
class VoxtralSettings:
    backends: dict[str, BackendSettings]
    max_chunk_seconds: float
    concurrency: int
    max_media_seconds: float
    chunk_format: str
    speech_detector: str
    max_upload_size: int
    upload_to: str
    task_backend: str
    queue_name: str
    webhook_allow_private: bool
    webhook_timeout: float
    webhook_secret: str
    upload_throttle_rate: str | None
    sync_timeout: float
    models: dict[str, dict[str, Any]]
    worker_lease_seconds: float
    user_minutes_per_day: float | None
    reuse_results: bool
    signed_media_urls: bool
    #: A dotted path (or the function itself) of (request, transcript) -> bool.
    media_access: str | Callable[..., Any]

    def pipeline_options(self) -> dict[str, Any]:
        """The keyword arguments of pipeline.transcribe_media that these settings decide."""
        return {
            "max_chunk_seconds": self.max_chunk_seconds,
            "concurrency": self.concurrency,
            "max_media_seconds": self.max_media_seconds,
            "chunk_format": self.chunk_format,
            "detector": self.speech_detector,
        }

    def backend_settings(self, alias: str | None = None) -> BackendSettings:
        alias = alias or DEFAULT_BACKEND_ALIAS
        try:
            return self.backends[alias]
        except KeyError:
            raise UnknownBackend(alias, sorted(self.backends)) from None

    def backend_for_model(self, model: str) -> BackendSettings:
        """The configured backend that serves ``model``, else the default one."""
        for entry in self.backends.values():
            if entry.model == model:
                return entry
        return self.backend_settings(DEFAULT_BACKEND_ALIAS)


def _default_backends() -> dict[str, Any]:
    from .speech.backends import default_backend_name

    return {DEFAULT_BACKEND_ALIAS: {"BACKEND": default_backend_name(), "OPTIONS": {}}}


def _read() -> VoxtralSettings:
    user: dict[str, Any] = dict(getattr(settings, "VOXTRAL", None) or {})
    merged = {**DEFAULTS, **user}
    raw_backends = merged["BACKENDS"] or _default_backends()
    backends = {
        alias: BackendSettings(
            alias=alias,
            backend=str(entry.get("BACKEND", "")),
            options=dict(entry.get("OPTIONS") or {}),
        )
        for alias, entry in raw_backends.items()
    }
    return VoxtralSettings(
        backends=backends,
        max_chunk_seconds=float(merged["MAX_CHUNK_SECONDS"]),
        concurrency=int(merged["CONCURRENCY"]),
        max_media_seconds=float(merged["MAX_MEDIA_SECONDS"]),
        chunk_format=str(merged["CHUNK_FORMAT"]),
        speech_detector=str(merged["SPEECH_DETECTOR"]),
        max_upload_size=int(merged["MAX_UPLOAD_SIZE"]),
        upload_to=str(merged["UPLOAD_TO"]),
        task_backend=str(merged["TASK_BACKEND"]),
        queue_name=str(merged["QUEUE_NAME"]),
        webhook_allow_private=bool(merged["WEBHOOK_ALLOW_PRIVATE"]),
        webhook_timeout=float(merged["WEBHOOK_TIMEOUT"]),
        webhook_secret=str(merged["WEBHOOK_SECRET"] or ""),
        upload_throttle_rate=merged["UPLOAD_THROTTLE_RATE"],
        sync_timeout=float(merged["SYNC_TIMEOUT"]),
        models=dict(merged["MODELS"] or {}),
        worker_lease_seconds=float(merged["WORKER_LEASE_SECONDS"]),
        user_minutes_per_day=(
            None
            if merged["USER_MINUTES_PER_DAY"] is None
            else float(merged["USER_MINUTES_PER_DAY"])
        ),
        reuse_results=bool(merged["REUSE_RESULTS"]),
        signed_media_urls=bool(merged["SIGNED_MEDIA_URLS"]),
        media_access=merged["MEDIA_ACCESS"] or DEFAULTS["MEDIA_ACCESS"],
    )


def get_settings() -> VoxtralSettings:
    """The current VOXTRAL settings with defaults filled in (cached until settings change)."""
    global _cached
    if _cached is None:
        _cached = _read()
    return _cached


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    global _cached
    if setting in {"VOXTRAL", "TASKS"}:
        _cached = None


def get_backend(alias: str | None = None) -> SpeechBackend:
    """A new speech backend for the named entry of VOXTRAL["BACKENDS"]; close it after use."""
    from .speech.backends import load_backend

    entry = get_settings().backend_settings(alias)
    return load_backend(entry.backend, **entry.options)
