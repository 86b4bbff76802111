"""When the hosted backends send a request again and how long they wait first, on tenacity.

Never retry what a retry cannot fix (400, 401, 403, 413, 415, 422, a URL that is not http(s)),
and never wait but through the sleep the caller injected.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity
from tenacity import RetryCallState

#: Answers worth another try: rate limiting and the capacity errors of the contract.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

Sleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]
BeforeSleep = Callable[[RetryCallState], None]


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


def retryable_error(exc: BaseException) -> bool:
    """A dropped connection or a timeout: another try may well get through."""
    # A base_url with the wrong scheme stays wrong however often it is tried.
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol)


def retryable_answer(response: object) -> bool:
    """An answer saying "not now" (429 or a capacity error), never one saying "not this"."""
    return isinstance(response, httpx.Response) and response.status_code in RETRY_STATUSES


def retry_after(state: RetryCallState) -> float | None:
    """The seconds the last answer's ``Retry-After`` asked for, if it had one."""
    outcome = state.outcome
    if outcome is None or outcome.failed:
        return None
    response = outcome.result()
    if not isinstance(response, httpx.Response):
        return None
    return parse_retry_after(response.headers.get("retry-after"))


def last_outcome(state: RetryCallState) -> Any:
    """After the last try: its answer (for the caller to type), or its exception raised again.

    tenacity would wrap both in a RetryError; the caller's typed errors say more.
    """
    if state.outcome is None:  # tenacity calls this only after a try
        raise RuntimeError("no try was made")
    return state.outcome.result()


_RETRY_WHEN = tenacity.retry_if_exception(retryable_error) | tenacity.retry_if_result(
    retryable_answer
)


class _OutOfTime(tenacity.stop.stop_base):
    """tenacity's stop by time: the next wait would end past ``seconds`` since the first try."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, retry_state: RetryCallState) -> bool:
        # tenacity runs the wait before the stop, so upcoming_sleep is the wait just chosen.
        # The waits asked for count even when an injected sleep took no time, so the budget
        # means the same with a test's recorder as with time.sleep.
        elapsed = max(retry_state.seconds_since_start or 0.0, retry_state.idle_for)
        return elapsed + retry_state.upcoming_sleep > self.seconds


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

    def wait(self, state: RetryCallState) -> float:
        """tenacity's wait: the delay before the try that follows ``state``'s last one."""
        return self.delay(state.attempt_number, retry_after(state))

    def _stop(self) -> tenacity.stop.stop_base:
        # max_retries retries are max_retries + 1 tries.
        return tenacity.stop_after_attempt(self.max_retries + 1) | _OutOfTime(
            self.max_retry_seconds
        )

    def retrying(
        self, *, sleep: Sleep, before_sleep: BeforeSleep | None = None
    ) -> tenacity.Retrying:
        """A tenacity controller for one request; call it with the function that sends it.

        It returns the last answer, retryable or not, or raises the last exception: the caller
        turns either into its typed error. One per request: tenacity keeps a call's state on
        the controller (per thread), which two requests of one event loop would share.
        """
        return tenacity.Retrying(
            # tenacity hands the sleep a float subclass; a plain float reads better in a record.
            sleep=lambda seconds: sleep(float(seconds)),
            stop=self._stop(),
            wait=self.wait,
            retry=_RETRY_WHEN,
            before_sleep=before_sleep,
            retry_error_callback=last_outcome,
        )

    def async_retrying(
        self, *, sleep: AsyncSleep, before_sleep: BeforeSleep | None = None
    ) -> tenacity.AsyncRetrying:
        """The async form of ``retrying``, waiting with the awaitable ``sleep``."""
        return tenacity.AsyncRetrying(
            sleep=lambda seconds: sleep(float(seconds)),
            stop=self._stop(),
            wait=self.wait,
            retry=_RETRY_WHEN,
            before_sleep=before_sleep,
            retry_error_callback=last_outcome,
        )
