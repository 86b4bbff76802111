"""The HTTP client and its helpers: Retry-After, backoff, the retry policy over real HTTP.

Never sleep here: every wait is computed and recorded by an injected sleep, not taken.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from pathlib import Path

import httpx
import pytest

from django_voxtral.speech.backends import load_backend
from django_voxtral.speech.backends.client import ServiceClient
from django_voxtral.speech.backends.deepinfra import DeepInfraBackend
from django_voxtral.speech.backends.errors import (
    AuthenticationFailed,
    BackendNotConfigured,
    BadAudio,
    InvalidOption,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
)
from django_voxtral.speech.backends.http import audio_content_type
from django_voxtral.speech.backends.options import TranscriptionOptions
from django_voxtral.speech.backends.retry import RetryPolicy, parse_retry_after
from django_voxtral.speech.backends.secrets import Secret, redact, safe_url
from tests.standin import StandIn

PATH = "/v1/inference/mistralai/Voxtral-Small-24B-2507"


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("1.5") == 1.5


def test_retry_after_as_an_http_date() -> None:
    now = 1_800_000_000.0
    later = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(42.0)
    earlier = email.utils.formatdate(now - 42, usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "Mon, 99 Foo 2025"])
def test_retry_after_nonsense_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_negative_retry_after_means_now() -> None:
    assert parse_retry_after("-5") == 0.0


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    rng = random.Random(1)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # the jitter uses the whole range
        assert min(delays) < 0.2 * ceiling


def test_retry_after_wins_over_backoff_but_is_capped() -> None:
    policy = RetryPolicy(retry_after_max=10.0)
    assert policy.delay(1, 7.0) == 7.0
    assert policy.delay(1, 700.0) == 10.0


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.flac", "audio/flac"),
        ("a.WAV", "audio/wav"),
        ("a.mp3", "audio/mpeg"),
        ("a.bin", "application/octet-stream"),
    ],
)
def test_content_types(name: str, content_type: str) -> None:
    assert audio_content_type(name) == content_type


def test_secrets_stay_hidden() -> None:
    secret = Secret("tok-abcdef")
    assert "tok-abcdef" not in repr(secret) and "tok-abcdef" not in str(secret)
    assert secret.reveal() == "tok-abcdef"
    assert redact("bad token tok-abcdef here", ["tok-abcdef"]) == "bad token *** here"
    assert safe_url("https://user:pw@host.example:8443/v1") == "https://***@host.example:8443/v1"
    assert safe_url("https://host.example/v1") == "https://host.example/v1"


# -- the retry policy through the client, over real HTTP to the stand-in ----------------------


class RecordingTransport(httpx.HTTPTransport):
    """httpx's own transport, forwarding every request and noting what it sent."""

    def __init__(self) -> None:
        super().__init__(retries=0)
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        return super().handle_request(request)


class RecordingAsyncTransport(httpx.AsyncHTTPTransport):
    """The async form of RecordingTransport."""

    def __init__(self) -> None:
        super().__init__(retries=0)
        self.sent: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        return await super().handle_async_request(request)


class Waits:
    """The injected sleeps: every wait asked for, none taken."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.taken.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.taken.append(seconds)


def make_client(
    standin: StandIn,
    waits: Waits,
    policy: RetryPolicy,
    *,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
) -> ServiceClient:
    return ServiceClient(
        base_url=standin.base_url,
        service="The stand-in",
        auth_hint="check the stand-in's token",
        connect_timeout=5.0,
        read_timeout=30.0,
        max_connections=4,
        retry=policy,
        transport=transport,
        async_transport=async_transport,
        sleep=waits.sleep,
        async_sleep=waits.async_sleep,
    )


def send(client: ServiceClient, token: str, audio: Path) -> httpx.Response:
    try:
        return client.post(
            PATH,
            data={"language": "en"},
            files=[("audio", (audio.name, audio.read_bytes(), "audio/flac"))],
            headers={"Authorization": f"bearer {token}"},
            secrets=[token],
        )
    finally:
        client.close()


async def asend(client: ServiceClient, token: str, audio: Path) -> httpx.Response:
    try:
        return await client.apost(
            PATH,
            data={"language": "en"},
            files=[("audio", (audio.name, audio.read_bytes(), "audio/flac"))],
            headers={"Authorization": f"bearer {token}"},
            secrets=[token],
        )
    finally:
        await client.aclose()


def test_retry_after_is_honoured_and_capped(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("429", retry_after="3")
    standin.inject("503", retry_after="100000")
    standin.inject("502", retry_after="0")
    waits = Waits()
    client = make_client(standin, waits, RetryPolicy(retry_after_max=10.0))
    response = send(client, standin_token, tones_audio["flac"])
    assert response.status_code == 200
    assert waits.taken == [3.0, 10.0, 0.0]
    assert [r.fault for r in standin.requests] == ["429", "503", "502", None]


def test_retry_after_as_a_date_is_honoured(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("503", retry_after=email.utils.formatdate(time.time() + 20, usegmt=True))
    waits = Waits()
    send(make_client(standin, waits, RetryPolicy()), standin_token, tones_audio["flac"])
    (wait,) = waits.taken
    assert 17.0 <= wait <= 20.0  # the date has whole seconds, and a moment passed


def test_backoff_without_retry_after_is_full_jitter_under_a_capped_ceiling(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("503", "500", "429", "504", "drop")
    waits = Waits()
    policy = RetryPolicy(backoff_base=1.0, backoff_max=4.0)
    response = send(make_client(standin, waits, policy), standin_token, tones_audio["flac"])
    assert response.status_code == 200
    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(waits.taken) == len(ceilings)
    assert all(0.0 <= w <= c for w, c in zip(waits.taken, ceilings, strict=True))
    assert len(set(waits.taken)) == len(waits.taken)  # drawn, not fixed


def test_stops_after_max_retries(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("503", "503", "503", "503")
    waits = Waits()
    client = make_client(standin, waits, RetryPolicy(max_retries=2, backoff_base=0.0))
    with pytest.raises(ServiceUnavailable) as caught:
        send(client, standin_token, tones_audio["flac"])
    assert len(standin.requests) == 3
    assert standin.pending_faults == 1
    assert waits.taken == [0.0, 0.0]
    assert "gave up after 3 tries" in str(caught.value)
    assert caught.value.status_code == 503


def test_no_retries_at_all_is_one_try(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("429")
    waits = Waits()
    client = make_client(standin, waits, RetryPolicy(max_retries=0))
    with pytest.raises(RateLimited) as caught:
        send(client, standin_token, tones_audio["flac"])
    assert waits.taken == []
    assert "gave up after 1 try)" in str(caught.value)


def test_stops_when_the_next_wait_would_pass_max_retry_seconds(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    # Waits of 4 s: 4 and 8 fit in 10 s, the third would end at 12 s, so it is not taken.
    standin.inject("503", "503", "503", "503", retry_after="4")
    waits = Waits()
    client = make_client(standin, waits, RetryPolicy(max_retry_seconds=10.0))
    with pytest.raises(ServiceUnavailable) as caught:
        send(client, standin_token, tones_audio["flac"])
    assert waits.taken == [4.0, 4.0]
    assert len(standin.requests) == 3
    assert "gave up after 3 tries" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("400", BadAudio),
        ("401", AuthenticationFailed),
        ("403", AuthenticationFailed),
        ("413", BadAudio),
        ("422", BadAudio),
    ],
)
def test_no_retry_of_what_a_retry_cannot_fix(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    status: str,
    error: type[ServiceError],
) -> None:
    standin.inject(status, "503", retry_after="1")
    waits = Waits()
    with pytest.raises(error) as caught:
        send(make_client(standin, waits, RetryPolicy()), standin_token, tones_audio["flac"])
    assert waits.taken == []
    assert len(standin.requests) == 1
    assert caught.value.status_code == int(status)
    assert standin_token not in str(caught.value)


def test_a_url_that_is_not_http_is_not_retried(tones_audio: dict[str, Path]) -> None:
    waits = Waits()
    client = ServiceClient(
        base_url="ftp://127.0.0.1:9",
        service="The stand-in",
        auth_hint="",
        connect_timeout=1.0,
        read_timeout=1.0,
        max_connections=1,
        retry=RetryPolicy(),
        sleep=waits.sleep,
    )
    with pytest.raises(BackendNotConfigured, match="is not an http"):
        send(client, "t" * 8, tones_audio["flac"])
    assert waits.taken == []


def test_retries_are_logged_without_the_token(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="django_voxtral.speech.backends")
    standin.inject("429", retry_after="2")
    standin.inject("drop")
    waits = Waits()
    send(make_client(standin, waits, RetryPolicy()), standin_token, tones_audio["flac"])
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0] == (
        "The stand-in answered HTTP 429; retry 1 of 5 in 2.00 s (as its Retry-After asked)"
    )
    assert messages[1].startswith("The stand-in answered RemoteProtocolError; retry 2 of 5 in ")
    assert caplog.records[0].retry_after == 2.0  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if standin_token in repr(r.__dict__)]


def test_async_path_waits_with_the_injected_async_sleep(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("429", retry_after="2")
    standin.inject("drop", "503")
    waits = Waits()
    policy = RetryPolicy(backoff_base=1.0, backoff_max=4.0)
    client = make_client(standin, waits, policy)
    response = asyncio.run(asend(client, standin_token, tones_audio["flac"]))
    assert response.status_code == 200
    assert [r.fault for r in standin.requests] == ["429", "drop", "503", None]
    assert waits.taken[0] == 2.0
    assert 0.0 <= waits.taken[1] <= 2.0 and 0.0 <= waits.taken[2] <= 4.0


def test_async_path_gives_up_like_the_sync_one(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("503", "503", "503", retry_after="0")
    waits = Waits()
    client = make_client(standin, waits, RetryPolicy(max_retries=1))
    with pytest.raises(ServiceUnavailable, match="gave up after 2 tries"):
        asyncio.run(asend(client, standin_token, tones_audio["flac"]))
    assert waits.taken == [0.0]
    assert standin.pending_faults == 1


def test_requests_go_through_a_transport_passed_in(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("503", retry_after="0")
    transport = RecordingTransport()
    waits = Waits()
    client = make_client(standin, waits, RetryPolicy(), transport=transport)
    response = send(client, standin_token, tones_audio["flac"])
    assert response.json()["request_id"] == "standin-000002"
    assert transport.sent == [f"POST {PATH}"] * 2
    assert len(standin.requests) == 2


def test_async_requests_go_through_an_async_transport_passed_in(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("drop")
    transport = RecordingAsyncTransport()
    waits = Waits()
    client = make_client(standin, waits, RetryPolicy(), async_transport=transport)
    response = asyncio.run(asend(client, standin_token, tones_audio["flac"]))
    assert response.status_code == 200
    assert transport.sent == [f"POST {PATH}"] * 2
    assert len(waits.taken) == 1


# -- the backend's transport options ----------------------------------------------------------


def test_a_backend_hands_its_transport_and_sleep_to_its_client(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("429", retry_after="5")
    transport = RecordingTransport()
    waits = Waits()
    with load_backend(
        "deepinfra",
        base_url=standin.base_url,
        token=standin_token,
        transport=transport,
        sleep=waits.sleep,
    ) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert result.request_id == "standin-000002"
    assert transport.sent == [f"POST {PATH}"] * 2
    assert waits.taken == [5.0]


def test_a_backend_hands_its_async_transport_and_sleep_to_its_client(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("503", retry_after="6")
    transport = RecordingAsyncTransport()
    waits = Waits()
    backend = load_backend(
        "deepinfra",
        base_url=standin.base_url,
        token=standin_token,
        async_transport=transport,
        async_sleep=waits.async_sleep,
    )

    async def run() -> str | None:
        try:
            return (
                await backend.atranscribe(tones_audio["flac"], TranscriptionOptions())
            ).request_id
        finally:
            await backend.aclose()

    assert asyncio.run(run()) == "standin-000002"
    assert transport.sent == [f"POST {PATH}"] * 2
    assert waits.taken == [6.0]


def test_transport_options_stay_out_of_the_answer_options() -> None:
    options = {
        "model": "mistralai/Voxtral-Mini-3B-2507",
        "transport": RecordingTransport(),
        "async_transport": RecordingAsyncTransport(),
        "sleep": Waits().sleep,
        "async_sleep": Waits().async_sleep,
        "max_retries": 2,
    }
    assert DeepInfraBackend.answer_options(options) == {"model": "mistralai/Voxtral-Mini-3B-2507"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("transport", httpx.AsyncHTTPTransport()),
        ("async_transport", httpx.HTTPTransport()),
        ("sleep", 5),
        ("async_sleep", "asyncio.sleep"),
    ],
)
def test_transport_options_of_the_wrong_kind_are_refused_by_name(name: str, value: object) -> None:
    with pytest.raises(InvalidOption) as caught:
        load_backend("deepinfra", token="t" * 8, **{name: value})
    assert caught.value.field == name
