"""The openai backend against the stand-in's OpenAI-style endpoint: shape, fallbacks, errors.

Never call a real server; the stand-in can behave as vLLM (json only) and as Mistral's variant.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from django_voxtral.speech.backends import load_backend
from django_voxtral.speech.backends.errors import (
    AuthenticationFailed,
    BackendNotConfigured,
    BadAudio,
    InvalidOption,
    ServiceError,
    UnsupportedOption,
)
from django_voxtral.speech.backends.openai import OpenAIBackend, language_code
from django_voxtral.speech.backends.options import TranscriptionOptions
from tests.standin import StandIn

VOXTRAL = "mistralai/Voxtral-Mini-3B-2507"


def make(standin: StandIn, token: str | None, **options: object) -> OpenAIBackend:
    options.setdefault("backoff_base", 0.0)
    options.setdefault("model", VOXTRAL)
    if token is not None:
        options["api_key"] = token
    backend = load_backend("openai", base_url=standin.openai_base_url, **options)
    assert isinstance(backend, OpenAIBackend)
    return backend


def test_request_shape_asks_for_verbose_json_with_timestamps(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    options = TranscriptionOptions(language="en", initial_prompt="Tones.", temperature=0.2)
    with make(standin, standin_token) as backend:
        backend.transcribe(tones_audio["flac"], options)
    (request,) = standin.requests
    assert request.path == "/v1/openai/audio/transcriptions"
    assert request.headers["authorization"] == "Bearer ***"
    assert request.status == 200
    assert set(request.files) == {"file"}
    assert request.files["file"].content_type == "audio/flac"
    assert request.fields == {
        "model": [VOXTRAL],
        "language": ["en"],
        "prompt": ["Tones."],
        "temperature": ["0.2"],
        "response_format": ["verbose_json"],
        "timestamp_granularities[]": ["segment", "word"],
    }


def test_verbose_json_is_converted_to_the_contract(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    with make(standin, standin_token) as backend:
        result = backend.transcribe(tones_audio["wav"], TranscriptionOptions())
    bounds = [t for s in result.segments for t in (s.start, s.end)]
    assert bounds == pytest.approx([0.5, 1.5, 2.5, 3.0], abs=0.03)
    assert [s.id for s in result.segments] == [0, 1]
    assert all(s.text == s.text.strip() and s.text for s in result.segments)
    # OpenAI's {"word": ...} becomes the contract's Word(text=...).
    assert [w.text for w in result.words][:1] == ["speech"]
    assert result.language == "en"  # the server said "english"
    assert result.duration == pytest.approx(4.0)
    assert result.input_length_ms == 4000


def test_segments_the_server_marks_as_not_speech_are_dropped_and_listed(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    with make(standin, standin_token) as backend:
        whole = backend.transcribe(tones_audio["wav"], TranscriptionOptions())
        standin.not_speech_segments = {0}
        marked = backend.transcribe(tones_audio["wav"], TranscriptionOptions())
    assert [s.text for s in marked.segments] == [s.text for s in whole.segments[1:]]
    assert marked.text == " ".join(s.text for s in whole.segments[1:])
    [dropped] = marked.dropped
    assert dropped.reason == "no_speech" and dropped.text == whole.segments[0].text
    assert (dropped.start, dropped.end) == (whole.segments[0].start, whole.segments[0].end)
    assert all(not dropped.start <= (w.start + w.end) / 2 <= dropped.end for w in marked.words)
    assert len(marked.words) < len(whole.words)
    assert whole.dropped == ()


def test_translate_uses_the_translations_endpoint(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    with make(standin, standin_token) as backend:
        result = backend.transcribe(
            tones_audio["flac"], TranscriptionOptions(task="translate", language="fr")
        )
    (request,) = standin.requests
    assert request.path == "/v1/openai/audio/translations"
    assert "language" not in request.fields
    assert "timestamp_granularities[]" not in request.fields
    assert result.language == "en"


def test_falls_back_to_json_where_verbose_json_is_refused(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.vllm = True
    with make(standin, standin_token) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions(language="en"))
        assert not backend.verbose
        again = backend.transcribe(tones_audio["flac"], TranscriptionOptions(language="en"))
    first, second, third = standin.requests
    assert (first.status, first.fields["response_format"]) == (400, ["verbose_json"])
    assert (second.status, second.fields["response_format"]) == (200, ["json"])
    assert "timestamp_granularities[]" not in second.fields
    assert third.fields["response_format"] == ["json"]  # remembered: no second refusal
    # No times are invented: text only, the duration read from the file itself.
    assert result.text and result.segments == () and result.words == ()
    assert result.duration == pytest.approx(4.0)
    assert result.language == "en"
    assert again == result


def test_retries_without_granularities_where_language_excludes_them(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.mistral = True
    with make(standin, standin_token) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions(language="en"))
        detected = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    refused, accepted, without_language = standin.requests
    assert refused.status == 400 and "timestamp_granularities[]" in refused.fields
    assert accepted.status == 200 and "timestamp_granularities[]" not in accepted.fields
    assert accepted.fields["response_format"] == ["verbose_json"]
    assert len(result.segments) == 2  # segments still come with verbose_json
    assert without_language.fields["timestamp_granularities[]"] == ["segment", "word"]
    assert detected.words


def test_a_real_refusal_is_not_mistaken_for_a_format_problem(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("400")
    with make(standin, standin_token) as backend, pytest.raises(BadAudio) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert backend.verbose
    assert caught.value.status_code == 400
    assert len(standin.requests) == 1


def test_self_hosted_server_needs_no_key(
    standin: StandIn, tones_audio: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    standin.token = None
    with make(standin, None) as backend:
        assert backend.configuration_problems() == []
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert "authorization" not in standin.requests[0].headers
    assert len(result.segments) == 2


def test_openai_itself_without_a_key_says_to_set_openai_api_key(
    monkeypatch: pytest.MonkeyPatch, tones_audio: dict[str, Path]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = OpenAIBackend()
    assert backend.base_url == "https://api.openai.com/v1"
    assert any("OPENAI_API_KEY" in p for p in backend.configuration_problems())
    with backend, pytest.raises(BackendNotConfigured, match="OPENAI_API_KEY"):
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())


def test_wrong_key_is_authentication_failed_without_the_key(
    standin: StandIn, tones_audio: dict[str, Path]
) -> None:
    wrong = "sk-wrong-key-0123456789"
    backend = make(standin, wrong)
    with backend, pytest.raises(AuthenticationFailed) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert "OPENAI_API_KEY" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(backend)
    assert wrong not in repr(vars(backend))


def test_key_from_the_environment(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", standin_token)
    with make(standin, None) as backend:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert standin.requests[0].status == 200


def test_retries_then_succeeds(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.inject("503", "drop", "429", retry_after="2")
    sleeps: list[float] = []
    with make(standin, standin_token, backoff_base=1.0, sleep=sleeps.append) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert [r.fault for r in standin.requests] == ["503", "drop", "429", None]
    assert len(result.segments) == 2
    # Retry-After where the server gave one; backoff under 2 s (the second retry) for the drop.
    assert sleeps[0] == sleeps[2] == 2.0 and 0.0 <= sleeps[1] <= 2.0


def test_async_form_with_fallback(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.vllm = True
    backend = make(standin, standin_token)

    async def run() -> tuple[str, str]:
        first = await backend.atranscribe(tones_audio["flac"], TranscriptionOptions())
        second = await backend.atranscribe(tones_audio["wav"], TranscriptionOptions())
        await backend.aclose()
        return first.text, second.text

    first, second = asyncio.run(run())
    assert first == second != ""
    assert [r.status for r in standin.requests] == [400, 200, 200]


def test_response_format_option_is_validated() -> None:
    with pytest.raises(ValueError, match="response_format"):
        OpenAIBackend(response_format="srt")


def test_price_per_minute_estimates_cost(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    with make(standin, standin_token, price_per_minute=0.006) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert result.inference_status.cost == pytest.approx(4.0 / 60 * 0.006)


@pytest.mark.parametrize(
    ("given", "code"),
    [("english", "en"), ("English", "en"), ("fr", "fr"), ("Cantonese", "yue"), ("klingon", None)],
)
def test_language_names_become_codes(given: str, code: str | None) -> None:
    assert language_code(given) == code


def test_a_verbose_json_of_the_wrong_shape_is_a_service_error(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = {"text": "hi", "segments": [{"id": 0, "start": 0.0, "text": "no end"}]}
    monkeypatch.setattr(standin, "openai", lambda *_args: (200, answer))
    with make(standin, standin_token) as backend, pytest.raises(ServiceError) as caught:
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert "unexpected shape" in str(caught.value)
    assert "KeyError" in str(caught.value)


def test_diarize_asks_as_mistral_does_and_reads_speaker_ids(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.mistral = True
    with make(standin, standin_token, diarize=True) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    (request,) = standin.requests
    assert request.status == 200
    assert request.fields["diarize"] == ["true"]
    # Diarization labels segments and is refused without segment timestamps.
    assert request.fields["timestamp_granularities[]"] == ["segment"]
    assert request.fields["response_format"] == ["verbose_json"]
    assert [s.speaker for s in result.segments] == ["speaker_0", "speaker_1"]
    assert result.speakers == ("speaker_0", "speaker_1")
    assert result.to_contract()["segments"][0]["speaker"] == "speaker_0"


def test_diarize_async_form(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.mistral = True
    backend = make(standin, standin_token, diarize=True)

    async def run() -> tuple[str | None, ...]:
        result = await backend.atranscribe(tones_audio["wav"], TranscriptionOptions())
        await backend.aclose()
        return result.speakers

    assert asyncio.run(run()) == ("speaker_0", "speaker_1")


def test_speakers_are_read_as_strings_whatever_the_server_sends(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = {
        "text": "a b",
        "duration": 2.0,
        "segments": [
            {"id": 0, "start": 0.0, "end": 1.0, "text": "a", "speaker_id": 0},
            {"id": 1, "start": 1.0, "end": 2.0, "text": "b", "speaker": "B"},
            {"id": 2, "start": 2.0, "end": 2.5, "text": "c", "speaker_id": " "},
        ],
        "words": [{"word": "a", "start": 0.0, "end": 1.0, "speaker_id": 0}],
    }
    monkeypatch.setattr(standin, "openai", lambda *_args: (200, answer))
    with make(standin, standin_token) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert [s.speaker for s in result.segments] == ["0", "B", None]
    assert [w.speaker for w in result.words] == ["0"]


def test_without_diarize_nothing_changes(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.mistral = True
    with make(standin, standin_token) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert "diarize" not in standin.requests[0].fields
    assert result.speakers == ()


def test_a_server_that_refuses_diarize_fails_naming_the_option(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    # The stand-in in its OpenAI mode refuses the field, as api.openai.com does.
    with (
        make(standin, standin_token, diarize=True) as backend,
        pytest.raises(UnsupportedOption, match="diarize") as caught,
    ):
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert "HTTP 400" in str(caught.value)
    assert len(standin.requests) == 1  # no silent retry without it


def test_diarize_is_not_dropped_where_verbose_json_is_refused(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.vllm = True
    standin.mistral = True  # accepts the diarize field, so verbose_json is what is refused
    with (
        make(standin, standin_token, diarize=True) as backend,
        pytest.raises(UnsupportedOption, match=r"verbose_json.*diarize"),
    ):
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert backend.verbose
    assert len(standin.requests) == 1


def test_diarize_with_a_language_mistral_refuses_says_to_leave_language_unset(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    standin.mistral = True
    with (
        make(standin, standin_token, diarize=True) as backend,
        pytest.raises(UnsupportedOption, match="leave language unset"),
    ):
        backend.transcribe(tones_audio["flac"], TranscriptionOptions(language="en"))
    assert len(standin.requests) == 1


def test_a_server_that_ignores_diarize_gives_text_and_a_warning(
    standin: StandIn,
    standin_token: str,
    tones_audio: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = {"text": "a", "duration": 1.0, "segments": [{"start": 0.0, "end": 1.0, "text": "a"}]}
    monkeypatch.setattr(standin, "openai", lambda *_args: (200, answer))
    with make(standin, standin_token, diarize=True) as backend:
        result = backend.transcribe(tones_audio["flac"], TranscriptionOptions())
        backend.transcribe(tones_audio["flac"], TranscriptionOptions())
    assert result.text == "a" and result.speakers == ()
    warnings = [r for r in caplog.records if "speaker_id" in r.getMessage()]
    assert len(warnings) == 1  # once per backend, not once per chunk


def test_diarize_refuses_translation_before_sending(
    standin: StandIn, standin_token: str, tones_audio: dict[str, Path]
) -> None:
    with (
        make(standin, standin_token, diarize=True) as backend,
        pytest.raises(UnsupportedOption, match="diarize"),
    ):
        backend.transcribe(tones_audio["flac"], TranscriptionOptions(task="translate"))
    assert standin.requests == []


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"diarize": "yes"}, "diarize"),
        ({"diarize": 1}, "diarize"),
        ({"diarize": True, "response_format": "json"}, "response_format"),
    ],
)
def test_diarize_option_is_validated(options: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidOption, match=named):
        OpenAIBackend(base_url="http://127.0.0.1:9/v1", **options)
