"""/v1/audio/transcriptions and /v1/audio/translations driven by the official openai SDK, unchanged.

The SDK talks real HTTP to Django's live server with a site token as its API key; real ffmpeg,
the dummy speech backend, transcripts run at commit (django.tasks ImmediateBackend).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pysrt
import pytest
import webvtt
from django.core.cache import cache
from rest_framework.test import APIClient

from django_voxtral.api.compat_openai import LANGUAGE_NAMES
from django_voxtral.models import Transcript
from django_voxtral.speech.backends import dummy
from django_voxtral.speech.backends.options import LANGUAGES
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import tone

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session")
def speech_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone(tmp_path_factory.mktemp("openai-media") / "meeting.flac", 2.5, 220)


@pytest.fixture(autouse=True)
def _fresh(settings: Any) -> Iterator[None]:
    cache.clear()
    dummy.clear_outbox()
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        **settings.VOXTRAL,
        "BACKENDS": {
            **settings.VOXTRAL["BACKENDS"],
            "whisper": {
                "BACKEND": "dummy",
                "OPTIONS": {"model": "whisper-1", "text": "hello from whisper", "language": "fr"},
            },
        },
    }
    yield
    dummy.clear_outbox()


@pytest.fixture
def sdk(live_server: Any, token: str) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        api_key=token,
        base_url=f"{live_server.url}/v1",
        max_retries=0,
        http_client=httpx.Client(trust_env=False, timeout=60),
    )
    yield client
    client.close()


def test_json(sdk: openai.OpenAI, speech_like: Path) -> None:
    with speech_like.open("rb") as fh:
        result = sdk.audio.transcriptions.create(file=fh, model="whisper-1")
    assert result.text == "hello from whisper"
    transcript = Transcript.objects.get()
    assert transcript.backend == "whisper" and transcript.owner is not None


def test_text_srt_and_vtt(sdk: openai.OpenAI, speech_like: Path) -> None:
    with speech_like.open("rb") as fh:
        text = sdk.audio.transcriptions.create(file=fh, model="whisper-1", response_format="text")
    assert text.strip() == "hello from whisper"

    with speech_like.open("rb") as fh:
        srt = sdk.audio.transcriptions.create(file=fh, model="whisper-1", response_format="srt")
    subs = pysrt.from_string(srt)
    assert [s.text for s in subs] == ["hello from whisper"]
    assert subs[0].end.ordinal == pytest.approx(2500, abs=50)

    with speech_like.open("rb") as fh:
        vtt = sdk.audio.transcriptions.create(file=fh, model="whisper-1", response_format="vtt")
    captions = webvtt.from_string(vtt)
    assert [c.text for c in captions] == ["hello from whisper"]


def test_verbose_json_with_words(sdk: openai.OpenAI, speech_like: Path) -> None:
    with speech_like.open("rb") as fh:
        result = sdk.audio.transcriptions.create(
            file=fh,
            model="whisper-1",
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
            language="fr",
            prompt="Bonjour.",
            temperature=0.3,
        )
    assert result.text == "hello from whisper"
    assert result.language == "french"
    assert result.duration == pytest.approx(2.5, abs=0.05)
    assert result.segments is not None and result.words is not None
    assert [s.text for s in result.segments] == ["hello from whisper"]
    assert [w.word for w in result.words] == ["hello", "from", "whisper"]
    assert result.words[-1].end == pytest.approx(result.duration, abs=0.05)
    options = dummy.outbox[0].options
    assert (options.language, options.initial_prompt, options.temperature) == (
        "fr",
        "Bonjour.",
        0.3,
    )


def test_verbose_json_without_word_granularity_has_no_words(
    sdk: openai.OpenAI, speech_like: Path
) -> None:
    with speech_like.open("rb") as fh:
        result = sdk.audio.transcriptions.create(
            file=fh, model="other-model", response_format="verbose_json"
        )
    assert result.text == "dummy transcript"
    assert result.segments and not result.words


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks translations deprecated
def test_translation(sdk: openai.OpenAI, speech_like: Path) -> None:
    with speech_like.open("rb") as fh:
        result = sdk.audio.translations.create(
            file=fh, model="whisper-1", response_format="verbose_json"
        )
    assert result.language == "english"
    assert result.text == "hello from whisper"
    assert dummy.outbox[0].options.task == "translate"


def test_bad_key_raises_authentication_error(live_server: Any, speech_like: Path) -> None:
    client = openai.OpenAI(
        api_key="sk-not-a-token",
        base_url=f"{live_server.url}/v1",
        max_retries=0,
        http_client=httpx.Client(trust_env=False),
    )
    with pytest.raises(openai.AuthenticationError) as caught, speech_like.open("rb") as fh:
        client.audio.transcriptions.create(file=fh, model="whisper-1")
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.type == "invalid_request_error"
    assert Transcript.objects.count() == 0


def test_bad_file_raises_bad_request(sdk: openai.OpenAI, tmp_path: Path) -> None:
    fake = tmp_path / "audio.mp3"
    fake.write_bytes(b"not audio at all\n" * 100)
    with pytest.raises(openai.BadRequestError) as caught, fake.open("rb") as fh:
        sdk.audio.transcriptions.create(file=fh, model="whisper-1")
    assert caught.value.status_code == 400
    assert caught.value.code == "not_a_media_file"
    assert caught.value.param == "file"
    assert "audio.mp3 is not an audio or video file" in caught.value.message


def test_bad_language_raises_bad_request(sdk: openai.OpenAI, speech_like: Path) -> None:
    with pytest.raises(openai.BadRequestError) as caught, speech_like.open("rb") as fh:
        sdk.audio.transcriptions.create(file=fh, model="whisper-1", language="french")
    assert caught.value.param == "language"
    assert caught.value.code == "invalid_option"


def post(client: APIClient, path: Path | None, **fields: Any) -> Any:
    data = dict(fields)
    if path is None:
        return client.post("/v1/audio/transcriptions", data, format="multipart")
    with path.open("rb") as fh:
        data["file"] = fh
        return client.post("/v1/audio/transcriptions", data, format="multipart")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"response_format": "docx"}, "response_format"),
        ({"timestamp_granularities[]": "word"}, "timestamp_granularities[]"),
        (
            {"response_format": "verbose_json", "timestamp_granularities[]": "letter"},
            "timestamp_granularities[]",
        ),
        ({"stream": "true"}, "stream"),
        ({"voice": "alloy"}, "voice"),
        ({"temperature": "-1"}, "temperature"),
    ],
)
def test_bad_parameters_in_openai_shape(
    api: APIClient, speech_like: Path, fields: dict[str, str], param: str
) -> None:
    response = post(api, speech_like, **fields)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]
    assert Transcript.objects.count() == 0


def test_missing_file_and_missing_key(api: APIClient, client: Any) -> None:
    error = post(api, None, model="whisper-1").json()["error"]
    assert (error["param"], error["code"]) == ("file", "missing_file")
    response = client.post("/v1/audio/transcriptions", {"model": "whisper-1"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in response.json()["error"]["message"]


def test_too_large_is_413(api: APIClient, speech_like: Path, settings: Any) -> None:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "MAX_UPLOAD_SIZE": 1000}
    response = post(api, speech_like, model="whisper-1")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"


def test_language_names_cover_every_language_of_the_contract() -> None:
    assert set(LANGUAGE_NAMES) == set(LANGUAGES)
    assert len(set(LANGUAGE_NAMES.values())) == len(LANGUAGE_NAMES)
