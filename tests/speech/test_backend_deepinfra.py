"""The deepinfra backend against the local stand-in over real HTTP: request shape, retries, errors.

Never call the real service; every token here is a test token the stand-in checks.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from pathlib import Path

import pytest

from django_voxtral.speech.backends import load_backend
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
from django_voxtral.speech.backends.options import TranscriptionOptions
from tests.standin import Fault, StandIn

SMALL = "mistralai/Voxtral-Small-24B-2507"
MINI = "mistralai/Voxtral-Mini-3B-2507"


def make(standin: StandIn, token: str, **options: object) -> DeepInfraBackend:
    options.setdefault("backoff_base", 0.0)
    backend = load_backend("deepinfra", base_url=standin.base_url, token=token, **options)
    assert isinstance(backend, DeepInfraBackend)
    return backend


@pytest.fixture
def recorded_sleeps() -> list[float]:
    """The waits between retries, for the backend's injected ``sleep`` to record (none taken)."""
    return []


def test_request_has_exactly_the_contract_shape(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    options = TranscriptionOptions(language="en", initial_prompt="Tones.", chunk_level="word")
    with make(standin, standin_token) as backend:
        backend.transcribe(tones_audio["flac"], options)
    (request,) = standin.requests
    assert request.path == f"/v1/inference/{SMALL}"
    assert request.headers["authorization"] == "bearer ***"  # lower-case scheme, as the docs
    assert request.status == 200  # the stand-in accepted the token
    assert set(request.files) == {"audio"}
    upload = request.files["audio"]
    assert upload.filename == "tones.flac"
    assert upload.content_type == "audio/flac"
    assert upload.size == tones_audio["flac"].stat().st_size
    assert {k: v[0] for k, v in request.fields.items()} == options.to_form()
    assert all(len(v) == 1 for v in request.fields.values())


@pytest.mark.parametrize(("kind", "content_type"), [("wav", "audio/wav"), ("flac", "audio/flac")])
def test_content_type_follows_the_suffix(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path], kind: str, content_type: str
) -> None:
    with make(standin, standin_token) as backend:
        backend.transcribe(tones_audio[kind], TranscriptionOptions())
    assert standin.requests[0].files["audio"].content_type == content_type


def test_result_is_parsed_with_status_and_request_id(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    with make(standin, standin_token) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions(language="en"))
    # The stand-in puts segments where the audio is loud: the tones at 0.5-1.5 s and 2.5-3 s.
    bounds = [t for s in result.segments for t in (s.start, s.end)]
    assert bounds == pytest.approx([0.5, 1.5, 2.5, 3.0], abs=0.03)
    assert result.text == " ".join(s.text for s in result.segments)
    assert result.words and all(w.start < w.end for w in result.words)
    assert result.language == "en"
    assert result.duration == pytest.approx(4.0)
    assert result.input_length_ms == 4000
    assert result.request_id is not None and result.request_id.startswith("standin-")
    assert result.inference_status.status == "succeeded"
    assert result.inference_status.cost == pytest.approx(4.0 / 60 * 0.003)


def test_model_goes_into_the_path_and_sets_the_price(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    with make(standin, standin_token, model=MINI) as backend:
        assert backend.price_per_minute == 0.001
        result = backend.transcribe(tones_audio["wav"], TranscriptionOptions())
    assert standin.requests[0].path == f"/v1/inference/{MINI}"
    assert result.inference_status.cost == pytest.approx(4.0 / 60 * 0.001)
    assert make(standin, standin_token).price_per_minute == 0.003
    assert make(standin, standin_token, model="openai/whisper-large-v3").price_per_minute is None
    assert make(standin, standin_token, price_per_minute="0.5").price_per_minute == 0.5


def test_defaults_are_the_hosted_service() -> None:
    backend = DeepInfraBackend(token="x" * 10)
    assert backend.base_url == "https://api.deepinfra.com"
    assert backend.model == SMALL
    assert backend.read_timeout >= 120  # inference is slow; a short read timeout would waste it


@pytest.mark.parametrize("fault", ["429", "500", "502", "503", "504", "drop"])
def test_retries_a_passing_fault_then_succeeds(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path], fault: str
) -> None:
    standin.inject(fault)
    with make(standin, standin_token) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert [r.fault for r in standin.requests] == [fault, None]
    assert standin.requests[-1].status == 200
    assert len(result.segments) == 2


def test_retries_a_mix_of_faults(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("429", "drop", "503", "502")
    with make(standin, standin_token) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert len(standin.requests) == 5
    assert standin.pending_faults == 0
    assert result.request_id is not None


def test_retries_a_read_timeout(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject(Fault("slow", seconds=30))
    with make(standin, standin_token, read_timeout=0.5) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert [r.fault for r in standin.requests] == ["slow", None]
    assert len(result.segments) == 2


def test_honours_retry_after_in_seconds(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    recorded_sleeps: list[float],
) -> None:
    standin.inject("429", "503", retry_after="7")
    with make(standin, standin_token, backoff_base=0.01, sleep=recorded_sleeps.append) as backend:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert recorded_sleeps == [7.0, 7.0]


def test_caps_a_huge_retry_after(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    recorded_sleeps: list[float],
) -> None:
    standin.inject("429", retry_after="100000")
    with make(standin, standin_token, retry_after_max=30, sleep=recorded_sleeps.append) as backend:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert recorded_sleeps == [30.0]


def test_backoff_without_retry_after_is_bounded_and_jittered(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    recorded_sleeps: list[float],
) -> None:
    standin.inject("503", "503", "503", "503")
    backend = make(
        standin, standin_token, backoff_base=1.0, backoff_max=3.0, sleep=recorded_sleeps.append
    )
    with backend:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    ceilings = [1.0, 2.0, 3.0, 3.0]
    assert len(recorded_sleeps) == 4
    assert all(0 <= s <= c for s, c in zip(recorded_sleeps, ceilings, strict=True))


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
def test_does_not_retry_what_a_retry_cannot_fix(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    status: str,
    error: type[ServiceError],
) -> None:
    standin.inject(status, "429")
    with make(standin, standin_token) as backend, pytest.raises(error) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert len(standin.requests) == 1
    assert standin.pending_faults == 1
    assert caught.value.status_code == int(status)
    assert f"injected fault {status}" in caught.value.body_excerpt
    assert f"HTTP {status}" in str(caught.value)


def test_gives_up_after_max_retries_with_a_typed_error(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject(*["503"] * 6)
    backend = make(standin, standin_token, max_retries=2)
    with backend, pytest.raises(ServiceUnavailable) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert len(standin.requests) == 3
    assert caught.value.status_code == 503
    assert "injected fault 503" in caught.value.body_excerpt
    assert "3 tries" in str(caught.value)


def test_rate_limit_that_lasts_is_rate_limited(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject(*["429"] * 4)
    backend = make(standin, standin_token, max_retries=3)
    with backend, pytest.raises(RateLimited) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert caught.value.status_code == 429
    assert "concurrency" in str(caught.value)
    assert len(standin.requests) == 4


def test_total_retry_time_is_bounded(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    recorded_sleeps: list[float],
) -> None:
    # A wait that would pass max_retry_seconds is not taken: the error comes at once.
    standin.inject("503", retry_after="20")
    backend = make(standin, standin_token, max_retry_seconds=10, sleep=recorded_sleeps.append)
    with backend, pytest.raises(ServiceUnavailable):
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert recorded_sleeps == []
    assert len(standin.requests) == 1


def test_dropped_connections_that_last_are_service_unavailable(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("drop", "drop", "drop")
    backend = make(standin, standin_token, max_retries=2)
    with backend, pytest.raises(ServiceUnavailable) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert caught.value.status_code is None
    assert "base_url" in str(caught.value)


def test_unreachable_service_is_service_unavailable(tones_audio: dict[str, Path]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    backend = DeepInfraBackend(
        base_url=f"http://127.0.0.1:{port}", token="t" * 8, max_retries=1, backoff_base=0
    )
    with backend, pytest.raises(ServiceUnavailable) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_wrong_token_is_authentication_failed_without_the_token(
    standin: StandIn, tones_audio: dict[str, Path]
) -> None:
    wrong = "wrong-token-abcdef123456"
    with make(standin, wrong) as backend, pytest.raises(AuthenticationFailed) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert caught.value.status_code == 401
    assert "DEEPINFRA_TOKEN" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert len(standin.requests) == 1


def test_unknown_path_is_a_service_error_naming_base_url(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    backend = DeepInfraBackend(base_url=standin.base_url + "/nope", token=standin_token)
    with backend, pytest.raises(ServiceError) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert caught.value.status_code == 404
    assert "base_url" in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        {"text": "hi", "segments": [{"id": 0, "text": "no times"}]},
        {"text": "hi", "words": [{"start": "soon", "end": 1.0, "text": "hi"}]},
        {"text": "hi", "segments": "not a list of segments"},
        {"text": "hi", "inference_status": {"status": "succeeded", "cost": ["free"]}},
    ],
)
def test_an_answer_of_the_wrong_shape_is_a_service_error(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    answer: dict[str, object],
) -> None:
    monkeypatch.setattr(standin, "native", lambda *_args: (200, answer))
    with make(standin, standin_token) as backend, pytest.raises(ServiceError) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert "unexpected shape" in str(caught.value)
    assert caught.value.status_code == 200
    assert len(standin.requests) == 1, "a 200 is not retried, whatever its shape"


def test_token_never_shows_in_reprs_errors_or_logs(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = make(standin, standin_token, max_retries=1)
    standin.inject("503", "drop", "429", "429")
    with backend:
        errors: list[BaseException] = []
        for _ in range(2):
            try:
                backend.transcribe(tones_audio["flac"], TranscriptionOptions())
            except ServiceError as exc:
                errors.append(exc)
        assert len(errors) == 2
        seen = [repr(backend), str(backend), repr(vars(backend)), repr(backend.http)]
        seen += [str(e) for e in errors] + [repr(e) for e in errors]
        seen += [r.getMessage() for r in caplog.records]
        seen += [repr(r.__dict__) for r in caplog.records]
    assert any("retry" in m for m in seen)  # the retries were logged
    assert not [text for text in seen if standin_token in text]


def test_missing_token_says_to_set_deepinfra_token(
    monkeypatch: pytest.MonkeyPatch, standin: StandIn, tones_audio: dict[str, Path]
) -> None:
    monkeypatch.delenv("DEEPINFRA_TOKEN", raising=False)
    backend = DeepInfraBackend(base_url=standin.base_url)  # no token needed to construct
    assert any("DEEPINFRA_TOKEN" in p for p in backend.configuration_problems())
    with backend, pytest.raises(BackendNotConfigured, match="DEEPINFRA_TOKEN"):
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert standin.requests == []


def test_token_is_read_from_the_environment_when_used(
    monkeypatch: pytest.MonkeyPatch,
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
) -> None:
    monkeypatch.delenv("DEEPINFRA_TOKEN", raising=False)
    backend = DeepInfraBackend(base_url=standin.base_url)
    monkeypatch.setenv("DEEPINFRA_TOKEN", standin_token)  # set after construction
    with backend:
        assert backend.configuration_problems() == []
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert standin.requests[0].status == 200


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("read_timeout", -1),
        ("read_timeout", 0),
        ("connect_timeout", "soon"),
        ("max_retries", 1.5),
        ("max_retry_seconds", -3),
        ("max_connections", 0),
        ("price_per_minute", "free"),
        ("base_url", "ftp://example.com"),
    ],
)
def test_invalid_backend_options_name_the_option(option: str, value: object) -> None:
    with pytest.raises(InvalidOption) as caught:
        DeepInfraBackend(token="x" * 8, **{option: value})
    assert caught.value.field == option
    assert str(caught.value).startswith(f"{option}:")


def test_unknown_option_is_named_without_echoing_its_value() -> None:
    with pytest.raises(BackendNotConfigured) as caught:
        DeepInfraBackend(tokne="secret-value-123456")
    assert "'tokne'" in str(caught.value)
    assert "token" in str(caught.value)
    assert "secret-value-123456" not in str(caught.value)


def test_request_options_are_validated_naming_the_field() -> None:
    with pytest.raises(InvalidOption, match="chunk_length_s"):
        TranscriptionOptions(chunk_length_s=31)
    with pytest.raises(InvalidOption, match="language"):
        TranscriptionOptions(language="english")
    with pytest.raises(InvalidOption, match=r"initial_prompt.*NUL"):
        TranscriptionOptions.from_form({"initial_prompt": "names\x00here"})


def test_standin_refuses_fields_the_contract_does_not_name(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    # What makes the request-shape tests meaningful: the stand-in is strict.
    import httpx

    with httpx.Client() as client:
        answer = client.post(
            f"{standin.base_url}/v1/inference/{SMALL}",
            headers={"Authorization": f"Bearer {standin_token}"},
            data={"task": "transcribe", "response_format": "json"},
            files={"audio": ("a.flac", tones_audio["flac"].read_bytes(), "audio/flac")},
        )
    assert answer.status_code == 400
    assert "response_format" in answer.text


def test_async_form_works_and_retries(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    backend = make(standin, standin_token)

    async def run() -> list[int]:
        standin.inject("503", "drop")
        first = await backend.atranscribe(tones_audio["flac"], TranscriptionOptions())
        results = await asyncio.gather(
            *(backend.atranscribe(tones_audio["wav"], TranscriptionOptions()) for _ in range(4))
        )
        await backend.aclose()
        return [len(first.segments)] + [len(r.segments) for r in results]

    assert asyncio.run(run()) == [2, 2, 2, 2, 2]
    assert len(standin.requests) == 7


def test_async_form_survives_a_new_event_loop(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    with make(standin, standin_token) as backend:
        for _ in range(2):  # each asyncio.run has its own loop
            result = asyncio.run(backend.atranscribe(tones_audio["flac"], TranscriptionOptions()))
            assert len(result.segments) == 2


def test_threads_share_one_pooled_client(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.latency = 0.5
    results: list[int] = []
    with make(standin, standin_token) as backend:
        # One after the other: one kept-alive connection.
        for _ in range(3):
            backend.transcribe(tones_audio["flac"], TranscriptionOptions())
        assert len({r.client_port for r in standin.requests}) == 1

        barrier = threading.Barrier(8)

        def work() -> None:
            barrier.wait()
            result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
            results.append(len(result.segments))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == [2] * 8
    assert standin.max_in_flight > 1
    assert len({r.client_port for r in standin.requests}) <= 8


def test_closed_backend_says_so(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    backend = make(standin, standin_token)
    backend.close()
    with pytest.raises(RuntimeError, match="closed"):
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
