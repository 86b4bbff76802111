"""Pooled, retrying HTTP for the hosted speech backends, with typed errors and secret hygiene.

Never log, raise or repr a token or an Authorization header, and never retry a request the
service refused for a reason a retry cannot fix (400, 401, 403, 413, 422).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..results import TranscriptionResult
from .base import AudioPath, SpeechBackend
from .errors import (
    AuthenticationFailed,
    BackendNotConfigured,
    BadAudio,
    InvalidOption,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
)

logger = logging.getLogger("django_voxtral.speech.backends")

#: Answers worth another try: rate limiting and the capacity errors of the contract.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
BAD_REQUEST_STATUSES: frozenset[int] = frozenset({400, 413, 415, 422})
AUTH_STATUSES: frozenset[int] = frozenset({401, 403})

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


class Secret:
    """A token that keeps itself out of reprs, logs and tracebacks' locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret replaced, for anything a person or a log may see."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def safe_url(url: str) -> str:
    """A URL without user:password, for messages and reprs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, "***@" + netloc, parts.path, parts.query, parts.fragment))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry: exponential backoff with full jitter, bounded twice."""

    max_retries: int = 5
    max_retry_seconds: float = 120.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 60.0

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """The wait before retry number ``retry`` (1-based) when the service gave no hint."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** min(retry - 1, 60))
        return (rng or random).uniform(0.0, ceiling)

    def delay(
        self, retry: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        # A service that says when to come back knows its load better than our backoff does.
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        return self.backoff(retry, rng)


class _Attempts:
    """The retry budget of one request, shared by the sync and async loops."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.started = time.monotonic()
        self.retries = 0

    def next_delay(self, retry_after: float | None) -> float | None:
        """Seconds to wait before the next try, or None when the budget is spent."""
        if self.retries >= self.policy.max_retries:
            return None
        delay = self.policy.delay(self.retries + 1, retry_after)
        elapsed = time.monotonic() - self.started
        if elapsed + delay > self.policy.max_retry_seconds:
            return None
        self.retries += 1
        return delay


Files = list[tuple[str, tuple[str, bytes, str]]]
FormData = Mapping[str, str | list[str]]


class ServiceClient:
    """One pooled httpx client (and, lazily, one async client) with retries and typed errors.

    Safe to share between threads: the pipeline sends several chunks at once through it.
    """

    def __init__(
        self,
        *,
        base_url: str,
        service: str,
        auth_hint: str,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        retry: RetryPolicy,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.auth_hint = auth_hint
        self.retry = retry
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None
        )
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Tests and callers may swap the waits (e.g. to record them); never used for timing.
        self._sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"<ServiceClient {self.service} {safe_url(self.base_url)}>"

    # -- clients -----------------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"The {self.service} backend was closed; make a new one.")
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout, limits=self._limits, follow_redirects=False
                )
            return self._client

    def _loop_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"The {self.service} backend was closed; make a new one.")
            # An async client's connections belong to the loop that opened them.
            if self._async_client is None or self._async_loop is not loop:
                self._async_client = httpx.AsyncClient(
                    timeout=self._timeout, limits=self._limits, follow_redirects=False
                )
                self._async_loop = loop
            return self._async_client

    def close(self) -> None:
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        with self._lock:
            async_client, self._async_client = self._async_client, None
            loop, self._async_loop = self._async_loop, None
        if async_client is not None and loop is asyncio.get_running_loop():
            await async_client.aclose()
        self.close()

    # -- requests ----------------------------------------------------------------------------

    def post(
        self,
        path: str,
        *,
        data: FormData,
        files: Files,
        headers: Mapping[str, str],
        secrets: Sequence[str] = (),
    ) -> httpx.Response:
        """POSTs a multipart form, retrying what is worth retrying; returns a 2xx response."""
        client = self._sync_client()
        url = self.base_url + path
        attempts = _Attempts(self.retry)
        while True:
            try:
                response = client.post(url, data=dict(data), files=files, headers=dict(headers))
            except httpx.TransportError as exc:
                self._sleep(self._after_transport_error(exc, attempts, secrets))
                continue
            if response.is_success:
                return response
            delay = self._after_status(response, attempts, secrets)
            self._sleep(delay)

    async def apost(
        self,
        path: str,
        *,
        data: FormData,
        files: Files,
        headers: Mapping[str, str],
        secrets: Sequence[str] = (),
    ) -> httpx.Response:
        """The async form of ``post``."""
        client = self._loop_client()
        url = self.base_url + path
        attempts = _Attempts(self.retry)
        while True:
            try:
                response = await client.post(
                    url, data=dict(data), files=files, headers=dict(headers)
                )
            except httpx.TransportError as exc:
                await asyncio.sleep(self._after_transport_error(exc, attempts, secrets))
                continue
            if response.is_success:
                return response
            delay = self._after_status(response, attempts, secrets)
            await asyncio.sleep(delay)

    def _after_transport_error(
        self, exc: httpx.TransportError, attempts: _Attempts, secrets: Sequence[str]
    ) -> float:
        """The wait before retrying a dropped or timed-out request; raises when not retrying."""
        failure = self._transport_failure(exc, attempts, secrets)
        # A base_url with the wrong scheme stays wrong however often it is tried.
        delay = None if isinstance(failure, BackendNotConfigured) else attempts.next_delay(None)
        if delay is None:
            raise failure from None
        self._log_retry(attempts, delay, type(exc).__name__, None)
        return delay

    def _after_status(
        self, response: httpx.Response, attempts: _Attempts, secrets: Sequence[str]
    ) -> float:
        """The wait before retrying an error answer; raises the typed error when not retrying."""
        status = response.status_code
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            delay = attempts.next_delay(retry_after)
            if delay is not None:
                self._log_retry(attempts, delay, f"HTTP {status}", retry_after)
                return delay
        raise self._status_error(response, attempts, secrets)

    def _log_retry(
        self, attempts: _Attempts, delay: float, reason: str, retry_after: float | None
    ) -> None:
        logger.warning(
            "%s answered %s; retry %d of %d in %.2f s%s",
            self.service,
            reason,
            attempts.retries,
            attempts.policy.max_retries,
            delay,
            " (as its Retry-After asked)" if retry_after is not None else "",
            extra={"retry_delay": delay, "retry_after": retry_after, "reason": reason},
        )

    def _tries(self, attempts: _Attempts) -> str:
        tries = attempts.retries + 1
        return f"{tries} {'try' if tries == 1 else 'tries'}"

    def _status_error(
        self, response: httpx.Response, attempts: _Attempts, secrets: Sequence[str]
    ) -> ServiceError:
        status = response.status_code
        body = redact(response.text, secrets)
        name = self.service
        if status in AUTH_STATUSES:
            return AuthenticationFailed(
                f"{name} refused the credentials; {self.auth_hint}", status_code=status, body=body
            )
        if status == 429:
            return RateLimited(
                f"{name} is rate limiting this account (gave up after {self._tries(attempts)}); "
                "lower the concurrency or try again later",
                status_code=status,
                body=body,
            )
        if status == 413:
            return BadAudio(
                f"{name} refused the audio as too large; send shorter chunks",
                status_code=status,
                body=body,
            )
        if status in BAD_REQUEST_STATUSES:
            return BadAudio(
                f"{name} refused the request (the audio's format or an option); "
                "send WAV, FLAC or MP3 and check the options",
                status_code=status,
                body=body,
            )
        if status >= 500:
            return ServiceUnavailable(
                f"{name} failed with a server error (gave up after {self._tries(attempts)}); "
                "try again later",
                status_code=status,
                body=body,
            )
        if status == 404:
            return ServiceError(
                f"{name} has no such endpoint or model at {safe_url(str(response.url))}; "
                "check base_url and model",
                status_code=status,
                body=body,
            )
        return ServiceError(f"{name} answered unexpectedly", status_code=status, body=body)

    def _transport_failure(
        self, exc: httpx.TransportError, attempts: _Attempts, secrets: Sequence[str]
    ) -> ServiceError | BackendNotConfigured:
        where = safe_url(self.base_url)
        detail = redact(str(exc) or type(exc).__name__, secrets)
        if isinstance(exc, httpx.UnsupportedProtocol):
            return BackendNotConfigured(
                f"base_url {where!r} is not an http(s) URL; set the backend's base_url option"
            )
        if isinstance(exc, httpx.TimeoutException):
            kind = "did not answer in time" if isinstance(exc, httpx.ReadTimeout) else "timed out"
            return ServiceUnavailable(
                f"{self.service} at {where} {kind} ({type(exc).__name__}, "
                f"gave up after {self._tries(attempts)}); raise read_timeout or try later"
            )
        return ServiceUnavailable(
            f"could not talk to {self.service} at {where}: {detail} "
            f"(gave up after {self._tries(attempts)}); check base_url and the network"
        )


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


class HTTPSpeechBackend(SpeechBackend):
    """What the hosted backends share: options, the token read when used, the pooled client.

    Subclasses say how to build the request and read the answer.
    """

    service: ClassVar[str] = "the speech service"
    default_base_url: ClassVar[str] = ""
    default_model: ClassVar[str] = ""
    token_env: ClassVar[str | None] = None
    token_options: ClassVar[tuple[str, ...]] = ("token",)
    transport_options: ClassVar[frozenset[str]] = frozenset(
        {
            "connect_timeout",
            "read_timeout",
            "max_retries",
            "max_retry_seconds",
            "backoff_base",
            "backoff_max",
            "retry_after_max",
            "max_connections",
            "price_per_minute",
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
