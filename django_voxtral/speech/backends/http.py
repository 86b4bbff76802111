"""What the hosted speech backends share: their options, the token read when used, the client.

Never read a token at import or keep it where a repr shows it, and never take an option it
does not know (a misspelt one may hold a token).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..results import TranscriptionResult
from .base import AudioPath, SpeechBackend
from .client import Files, FormData, ServiceClient
from .errors import BackendNotConfigured, InvalidOption, ServiceError
from .retry import RetryPolicy
from .secrets import Secret, redact, safe_url

# Files and FormData live with the client; the backends import them from here.
__all__ = [
    "CONTENT_TYPES",
    "INJECTED_OPTIONS",
    "Files",
    "FormData",
    "HTTPSpeechBackend",
    "audio_content_type",
    "number_option",
]

#: What the client sends through and waits with (tests, proxies, recorders): objects, not
#: settings, and never what the service answers, so they are transport options.
INJECTED_OPTIONS: dict[str, tuple[type | None, str]] = {
    "transport": (httpx.BaseTransport, "an httpx.BaseTransport, e.g. httpx.HTTPTransport()"),
    "async_transport": (httpx.AsyncBaseTransport, "an httpx.AsyncBaseTransport"),
    "sleep": (None, "a function that waits the seconds given, like time.sleep"),
    "async_sleep": (None, "an async function that waits the seconds given, like asyncio.sleep"),
}

CONTENT_TYPES: dict[str, str] = {
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".m4a": "audio/mp4",
}


def audio_content_type(path: AudioPath) -> str:
    """The multipart content type for an audio file, by its suffix."""
    return CONTENT_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


def number_option(
    name: str, value: Any, *, minimum: float, integer: bool = False, above: bool = False
) -> Any:
    """Validates one numeric backend option (strings from settings too), naming it in the error."""
    bound = "above" if above else "or more"
    kind = "a whole number" if integer else "a number"
    allowed = f"{kind}, {minimum:g} {bound}"
    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            raise InvalidOption(name, value, allowed) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOption(name, value, allowed)
    if integer and not isinstance(value, int):
        raise InvalidOption(name, value, allowed)
    if not math.isfinite(value) or value < minimum or (above and value == minimum):
        raise InvalidOption(name, value, allowed)
    return value


def injected_options(options: dict[str, Any]) -> dict[str, Any]:
    """The injected options given (None means the client's default), each checked for kind."""
    given = {name: options[name] for name in INJECTED_OPTIONS if options.get(name) is not None}
    for name, value in given.items():
        kind, allowed = INJECTED_OPTIONS[name]
        if not (isinstance(value, kind) if kind is not None else callable(value)):
            raise InvalidOption(name, value, allowed)
    return given


class HTTPSpeechBackend(SpeechBackend):
    """What the hosted backends share: options, the token read when used, the pooled client.

    Subclasses say how to build the request and read the answer.
    """

    service: ClassVar[str] = "the speech service"
    default_base_url: ClassVar[str] = ""
    default_model: ClassVar[str] = ""
    token_env: ClassVar[str | None] = None
    token_options: ClassVar[tuple[str, ...]] = ("token",)
    transport_options: ClassVar[frozenset[str]] = SpeechBackend.transport_options | frozenset(
        {
            "connect_timeout",
            "read_timeout",
            "max_retries",
            "max_retry_seconds",
            "backoff_base",
            "backoff_max",
            "retry_after_max",
            "max_connections",
            *INJECTED_OPTIONS,
        }
    )
    known_options: ClassVar[frozenset[str]] = frozenset({"base_url", "model"}) | transport_options

    def __init__(self, **options: Any) -> None:
        self.refuse_unknown_options(options, self.known_options | set(self.token_options))
        token: Secret | None = None
        for key in self.token_options:
            value = options.pop(key, None)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise BackendNotConfigured(f"The {self.name} backend's {key} must be a string.")
            token = Secret(value.strip())
        self._explicit_token = token
        super().__init__(**options)
        base_url = options.get("base_url") or self.default_base_url
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidOption("base_url", base_url, "an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        model = options.get("model") or self.default_model
        if not isinstance(model, str):
            raise InvalidOption("model", model, "a model name")
        self._model = model
        retry = RetryPolicy(
            max_retries=number_option(
                "max_retries", options.get("max_retries", 5), minimum=0, integer=True
            ),
            max_retry_seconds=number_option(
                "max_retry_seconds", options.get("max_retry_seconds", 120.0), minimum=0
            ),
            backoff_base=number_option("backoff_base", options.get("backoff_base", 0.5), minimum=0),
            backoff_max=number_option("backoff_max", options.get("backoff_max", 30.0), minimum=0),
            retry_after_max=number_option(
                "retry_after_max", options.get("retry_after_max", 60.0), minimum=0
            ),
        )
        self.connect_timeout = float(
            number_option(
                "connect_timeout", options.get("connect_timeout", 10.0), minimum=0, above=True
            )
        )
        self.read_timeout = float(
            number_option("read_timeout", options.get("read_timeout", 300.0), minimum=0, above=True)
        )
        max_connections = number_option(
            "max_connections", options.get("max_connections", 32), minimum=1, integer=True
        )
        price = options.get("price_per_minute")
        self.price_per_minute = (
            float(number_option("price_per_minute", price, minimum=0))
            if price is not None
            else self.default_price()
        )
        self.http = ServiceClient(
            base_url=self.base_url,
            service=self.service,
            auth_hint=self.auth_hint(),
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_connections=max_connections,
            retry=retry,
            **injected_options(options),
        )

    @property
    def model(self) -> str:
        return self._model

    def default_price(self) -> float | None:
        return None

    def auth_hint(self) -> str:
        if self.token_env:
            return f"check {self.token_env} (or the backend's token option)"
        return "check the backend's token option"

    def token(self) -> str | None:
        """The token: the option if given, else the environment, read now (never at import)."""
        if self._explicit_token:
            return self._explicit_token.reveal()
        if self.token_env:
            # Stripped: a token pasted from a file often ends in a newline, which no header allows.
            return os.environ.get(self.token_env, "").strip() or None
        return None

    def require_token(self) -> str:
        token = self.token()
        if not token:
            where = f"set {self.token_env} or " if self.token_env else ""
            raise BackendNotConfigured(
                f"The {self.name} backend needs an API token: {where}pass the token option."
            )
        return token

    def configuration_problems(self) -> list[str]:
        try:
            self.require_token()
        except BackendNotConfigured as exc:
            return [str(exc)]
        return []

    def read_audio(self, audio: AudioPath) -> tuple[str, bytes, str]:
        """The multipart file triple; read once so that every retry sends the same bytes."""
        path = Path(audio)
        return (path.name, path.read_bytes(), audio_content_type(path))

    def parse_json(self, response: httpx.Response, secrets: Sequence[str]) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise ServiceError(
                f"{self.service} answered with something that is not JSON",
                status_code=response.status_code,
                body=redact(response.text, secrets),
            ) from None
        if not isinstance(data, dict):
            raise ServiceError(
                f"{self.service} answered JSON that is not an object",
                status_code=response.status_code,
                body=redact(response.text, secrets),
            )
        return data

    def parse_result(
        self,
        response: httpx.Response,
        secrets: Sequence[str],
        build: Callable[[dict[str, Any]], TranscriptionResult],
    ) -> TranscriptionResult:
        """The result ``build`` makes of the JSON answer; a ServiceError if its shape is wrong.

        A segment without times or a text that is a list would otherwise escape as a KeyError
        or TypeError, which no caller expects from a service that answered 200.
        """
        data = self.parse_json(response, secrets)
        try:
            return build(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ServiceError):
                raise
            raise ServiceError(
                f"{self.service} answered JSON of an unexpected shape "
                f"({type(exc).__name__}: {redact(str(exc), secrets)}); "
                "check that base_url and model point at a speech-to-text service",
                status_code=response.status_code,
                body=redact(response.text, secrets),
            ) from None

    def close(self) -> None:
        self.http.close()

    async def aclose(self) -> None:
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} model={self.model!r} base_url={safe_url(self.base_url)!r}>"
