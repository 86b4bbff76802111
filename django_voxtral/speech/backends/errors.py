"""Typed errors of the speech floor: what went wrong with the service, for a person to act on.

Never include a token, an Authorization header or a whole response body in a message.
"""

from __future__ import annotations

from typing import Any

BODY_EXCERPT_CHARS = 300


def body_excerpt(body: str | bytes | None) -> str:
    """The start of a response body, on one line, short enough for a log or an error."""
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    text = " ".join(body.split())
    return text if len(text) <= BODY_EXCERPT_CHARS else text[:BODY_EXCERPT_CHARS] + "..."


class SpeechError(Exception):
    """Base class of every error a speech backend raises."""


class InvalidOption(SpeechError, ValueError):
    """A request option has a value the contract does not allow."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: {value!r} is not allowed; expected {allowed}.")


class UnsupportedOption(SpeechError, ValueError):
    """The backend cannot do what the options ask (e.g. translate offline)."""


class BackendNotConfigured(SpeechError, RuntimeError):
    """The backend is missing something it needs (a token, a package, a base URL)."""


class ServiceError(SpeechError):
    """The service answered with an error, or could not be reached, after any retries."""

    def __init__(
        self, message: str, *, status_code: int | None = None, body: str | bytes | None = None
    ) -> None:
        self.status_code = status_code
        self.body_excerpt = body_excerpt(body)
        detail = f" (HTTP {status_code})" if status_code is not None else ""
        tail = f": {self.body_excerpt}" if self.body_excerpt else ""
        super().__init__(f"{message}{detail}{tail}")


class AuthenticationFailed(ServiceError, PermissionError):
    """401/403: the token is missing, wrong or not allowed to use the model."""


class RateLimited(ServiceError):
    """429 after every retry: too many requests at once for the account."""


class BadAudio(ServiceError, ValueError):
    """400/413/415/422: the service refused this audio or these options."""


class ServiceUnavailable(ServiceError):
    """5xx, timeouts or dropped connections after every retry."""
