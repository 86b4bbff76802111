"""The pooled HTTP client of the hosted backends: one request, its retries, and a typed error.

Never log, raise or repr a token or an Authorization header, and never use an async client in
an event loop other than the one that opened it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping, Sequence

import httpx
from tenacity import RetryCallState

from .errors import (
    AuthenticationFailed,
    BackendNotConfigured,
    BadAudio,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
)
from .retry import AsyncSleep, RetryPolicy, Sleep, retry_after
from .secrets import redact, safe_url

logger = logging.getLogger("django_voxtral.speech.backends")

BAD_REQUEST_STATUSES: frozenset[int] = frozenset({400, 413, 415, 422})
AUTH_STATUSES: frozenset[int] = frozenset({401, 403})

Files = list[tuple[str, tuple[str, bytes, str]]]
FormData = Mapping[str, str | list[str]]


class ServiceClient:
    """One pooled httpx client (and, lazily, one async client) with retries and typed errors.

    Safe to share between threads: the pipeline sends several chunks at once through it.
    ``transport`` and ``async_transport`` replace httpx's own (then ``max_connections`` is
    theirs to honour) and are closed with the client; ``sleep`` and ``async_sleep`` take the
    waits between tries, so a test can record them instead of waiting.
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
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = time.sleep,
        async_sleep: AsyncSleep = asyncio.sleep,
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
        self._transport = transport
        self._async_transport = async_transport
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<ServiceClient {self.service} {safe_url(self.base_url)}>"

    # -- clients -----------------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"The {self.service} backend was closed; make a new one.")
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout,
                    limits=self._limits,
                    transport=self._transport,
                    follow_redirects=False,
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
                    timeout=self._timeout,
                    limits=self._limits,
                    transport=self._async_transport,
                    follow_redirects=False,
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
        tries = 0

        def send() -> httpx.Response:
            nonlocal tries
            tries += 1
            return client.post(url, data=dict(data), files=files, headers=dict(headers))

        retrying = self.retry.retrying(sleep=self._sleep, before_sleep=self._log_retry)
        try:
            response = retrying(send)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc, tries, secrets) from None
        return self._success(response, tries, secrets)

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
        tries = 0

        async def send() -> httpx.Response:
            nonlocal tries
            tries += 1
            return await client.post(url, data=dict(data), files=files, headers=dict(headers))

        retrying = self.retry.async_retrying(sleep=self._async_sleep, before_sleep=self._log_retry)
        try:
            response: httpx.Response = await retrying(send)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc, tries, secrets) from None
        return self._success(response, tries, secrets)

    def _success(
        self, response: httpx.Response, tries: int, secrets: Sequence[str]
    ) -> httpx.Response:
        """The last answer if it is a 2xx; else the typed error, retries being spent or futile."""
        if response.is_success:
            return response
        raise self._status_error(response, tries, secrets)

    def _log_retry(self, state: RetryCallState) -> None:
        """tenacity's before_sleep: one warning per retry, never with the request's headers."""
        outcome = state.outcome
        if outcome is None:  # tenacity sleeps only after a try
            return
        exc = outcome.exception()
        reason = type(exc).__name__ if exc is not None else f"HTTP {outcome.result().status_code}"
        hint = retry_after(state)
        delay = state.upcoming_sleep
        logger.warning(
            "%s answered %s; retry %d of %d in %.2f s%s",
            self.service,
            reason,
            state.attempt_number,
            self.retry.max_retries,
            delay,
            " (as its Retry-After asked)" if hint is not None else "",
            extra={"retry_delay": delay, "retry_after": hint, "reason": reason},
        )

    @staticmethod
    def _tries(tries: int) -> str:
        return f"{tries} {'try' if tries == 1 else 'tries'}"

    def _status_error(
        self, response: httpx.Response, tries: int, secrets: Sequence[str]
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
                f"{name} is rate limiting this account (gave up after {self._tries(tries)}); "
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
                f"{name} failed with a server error (gave up after {self._tries(tries)}); "
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
        self, exc: httpx.TransportError, tries: int, secrets: Sequence[str]
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
                f"gave up after {self._tries(tries)}); raise read_timeout or try later"
            )
        return ServiceUnavailable(
            f"could not talk to {self.service} at {where}: {detail} "
            f"(gave up after {self._tries(tries)}); check base_url and the network"
        )
