"""POST /v1/inference/<model>: the hosted service's request and answer, webhooks, and real clients.

Real HTTP on 127.0.0.1 (Django's live server, a webhook receiver, curl, our own DeepInfraBackend),
real ffmpeg, the dummy speech backend; transcripts run at commit (django.tasks ImmediateBackend).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from django_voxtral.models import Transcript
from django_voxtral.speech.backends import dummy, load_backend
from django_voxtral.speech.backends.errors import ServiceError, ServiceUnavailable
from django_voxtral.speech.backends.options import TranscriptionOptions
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import tone

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "mistralai/Voxtral-Small-24B-2507"
CONTRACT_KEYS = [
    "text", "segments", "language", "input_length_ms", "words", "duration", "request_id",
    "inference_status",
]  # fmt: skip


@pytest.fixture(scope="session")
def voice_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of a tone as MP3, the hosted service's own example format."""
    folder = tmp_path_factory.mktemp("deepinfra-media")
    wav = tone(folder / "voice.wav", 2.0, 330)
    mp3 = folder / "my_voice.mp3"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), str(mp3)], check=True
    )
    return mp3


@pytest.fixture(autouse=True)
def _fresh(settings: Any) -> Iterator[None]:
    cache.clear()
    dummy.clear_outbox()
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        **settings.VOXTRAL,
        "BACKENDS": {
            **settings.VOXTRAL["BACKENDS"],
            "small": {"BACKEND": "dummy", "OPTIONS": {"model": MODEL, "text": "small model"}},
            "broken": {
                "BACKEND": "dummy",
                "OPTIONS": {"model": "acme/broken", "error": ServiceUnavailable("service down")},
            },
        },
    }
    yield
    dummy.clear_outbox()


def infer(client: APIClient, path: Path | None, model: str = MODEL, **fields: Any) -> Any:
    data: dict[str, Any] = dict(fields)
    if path is None:
        return client.post(f"/v1/inference/{model}", data, format="multipart")
    with path.open("rb") as fh:
        data["audio"] = fh
        return client.post(f"/v1/inference/{model}", data, format="multipart")


def test_answers_the_contract_json(api: APIClient, voice_mp3: Path) -> None:
    response = infer(api, voice_mp3)

    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == CONTRACT_KEYS
    transcript = Transcript.objects.get()
    assert body["request_id"] == str(transcript.pk)
    assert body["text"] == "small model", "the backend serving the model in the path answers"
    assert transcript.backend == "small"
    assert body["duration"] == pytest.approx(2.0, abs=0.1)
    assert body["input_length_ms"] == pytest.approx(2000, abs=100)
    segment = body["segments"][0]
    assert (segment["id"], segment["start"], segment["text"]) == (0, 0.0, "small model")
    assert segment["end"] == pytest.approx(body["duration"], abs=0.15)  # MP3 padding
    assert [w["text"] for w in body["words"]] == ["small", "model"]
    assert body["inference_status"] == {
        "status": "succeeded", "runtime_ms": 0, "cost": 0.0, "tokens_generated": 0,
        "tokens_input": 0,
    }  # fmt: skip


def test_unknown_model_uses_the_default_backend(api: APIClient, voice_mp3: Path) -> None:
    response = infer(api, voice_mp3, model="openai/whisper-large-v3")
    assert response.status_code == 200
    assert response.json()["text"] == "dummy transcript"
    assert Transcript.objects.get().backend == "default"


def test_contract_fields_reach_the_backend(api: APIClient, voice_mp3: Path) -> None:
    response = infer(
        api,
        voice_mp3,
        task="translate",
        language="fr",
        initial_prompt="Names: Ada.",
        temperature="0.4",
        chunk_level="word",
        chunk_length_s="15",
    )
    assert response.status_code == 200, response.content
    options = dummy.outbox[0].options
    assert (options.task, options.language, options.initial_prompt) == (
        "translate",
        "fr",
        "Names: Ada.",
    )
    assert (options.temperature, options.chunk_level, options.chunk_length_s) == (0.4, "word", 15)


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"language": "english"}, 400, "invalid_option", "language"),
        ({"chunk_length_s": "0"}, 400, "invalid_option", "chunk_length_s"),
        ({"speaker": "1"}, 400, "invalid_option", "speaker"),
        ({"webhook": "ftp://example.com/hook"}, 400, "invalid_webhook", "webhook"),
        ({"webhook": "http://127.0.0.1:9/hook"}, 400, "invalid_webhook", "webhook"),
        ({"webhook": "http://[::ffff:10.0.0.1]/hook"}, 400, "invalid_webhook", "webhook"),
    ],
)
def test_bad_input_is_a_4xx_json(
    api: APIClient, voice_mp3: Path, fields: dict[str, str], status: int, code: str, field: str
) -> None:
    response = infer(api, voice_mp3, **fields)
    assert response.status_code == status
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["detail"]
    assert Transcript.objects.count() == 0


def test_missing_audio_and_bad_media(api: APIClient, tmp_path: Path) -> None:
    response = infer(api, None, language="en")
    assert response.status_code == 400
    assert response.json()["code"] == "missing_file"
    text = tmp_path / "speech.wav"
    text.write_text("RIFF? no, just text\n" * 20)
    response = infer(api, text)
    assert response.status_code == 400
    assert response.json()["code"] == "not_a_media_file"


def test_without_token_is_401(client: Any, voice_mp3: Path) -> None:
    with voice_mp3.open("rb") as fh:
        response = client.post(f"/v1/inference/{MODEL}", {"audio": fh})
    assert response.status_code == 401
    assert Transcript.objects.count() == 0


def test_failed_transcription_is_500_with_its_error(api: APIClient, voice_mp3: Path) -> None:
    response = infer(api, voice_mp3, model="acme/broken")
    assert response.status_code == 500
    assert response.json()["code"] == "transcription_failed"
    assert "service down" in response.json()["detail"]
    assert Transcript.objects.get().status == Transcript.Status.FAILED


def test_not_done_in_time_answers_202_with_request_id(
    api: APIClient, voice_mp3: Path, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "SYNC_TIMEOUT": 0}

    response = infer(api, voice_mp3)

    assert response.status_code == 202
    transcript = Transcript.objects.get()
    assert response.json() == {
        "request_id": str(transcript.pk),
        "inference_status": {
            "status": "queued", "runtime_ms": 0, "cost": 0.0, "tokens_generated": 0,
            "tokens_input": 0,
        },
    }  # fmt: skip
    assert response["Location"].endswith(f"/api/transcripts/{transcript.pk}/")
    assert api.get(response["Location"]).json()["status"] == "queued"


# --- webhooks -----------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.answers: list[int] = []
        self.done = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                receiver.calls.append((self.path, body, dict(self.headers)))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.done.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "WEBHOOK_ALLOW_PRIVATE": True}
    server = Receiver()
    yield server
    server.close()


def test_webhook_answers_queued_then_posts_the_result(
    api: APIClient, voice_mp3: Path, receiver: Receiver
) -> None:
    response = infer(api, voice_mp3, webhook=f"{receiver.url}/hooks/s3cret?x=1")

    assert response.status_code == 200
    body = response.json()
    transcript = Transcript.objects.get()
    assert body["request_id"] == str(transcript.pk)
    assert body["inference_status"]["status"] == "queued"
    assert transcript.webhook == f"{receiver.url}/hooks/s3cret?x=1"
    assert receiver.done.wait(10)
    path, sent, headers = receiver.calls[0]
    assert path == "/hooks/s3cret?x=1"
    assert headers["Content-Type"] == "application/json"
    assert sent["request_id"] == str(transcript.pk)
    assert sent["inference_status"]["status"] == "succeeded"
    assert set(sent["inference_status"]) >= {"runtime_ms", "cost"}
    assert list(sent["results"]) == CONTRACT_KEYS
    assert sent["results"]["text"] == "small model"


def test_webhook_reports_a_failure(api: APIClient, voice_mp3: Path, receiver: Receiver) -> None:
    response = infer(api, voice_mp3, model="acme/broken", webhook=f"{receiver.url}/h")
    assert response.status_code == 200
    assert receiver.done.wait(10)
    sent = receiver.calls[0][1]
    assert sent["request_id"] == str(Transcript.objects.get().pk)
    assert sent["inference_status"]["status"] == "failed"
    assert "service down" in sent["error"]
    assert "results" not in sent


def test_webhook_is_retried_after_a_server_error(
    api: APIClient, voice_mp3: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("django_voxtral.webhooks.BACKOFF", (0.01, 0.01))
    receiver.answers = [503]
    assert infer(api, voice_mp3, webhook=f"{receiver.url}/h").status_code == 200
    assert [call[1]["inference_status"]["status"] for call in receiver.calls] == [
        "succeeded",
        "succeeded",
    ]


# --- real clients -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_hosted_services_curl_example_works(
    live_server: Any, token: str, voice_mp3: Path
) -> None:
    # The provider's documented command with only the host and the token changed.
    done = subprocess.run(
        ["curl", "-sS", "-X", "POST", "-H", f"Authorization: bearer {token}",
         "-F", f"audio=@{voice_mp3.name}", f"{live_server.url}/v1/inference/{MODEL}"],
        cwd=voice_mp3.parent, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    body = json.loads(done.stdout)
    assert list(body) == CONTRACT_KEYS
    assert body["text"] == "small model"
    assert body["inference_status"]["status"] == "succeeded"


def test_our_own_deepinfra_backend_talks_to_the_site(
    live_server: Any, token: str, voice_mp3: Path
) -> None:
    options = TranscriptionOptions(language="de", chunk_length_s=20)
    with load_backend("deepinfra", base_url=live_server.url, token=token, model=MODEL) as backend:
        result = backend.transcribe(voice_mp3, options)
    assert result.text == "small model"
    assert result.duration == pytest.approx(2.0, abs=0.1)
    assert result.request_id == str(Transcript.objects.get().pk)
    assert dummy.outbox[0].options == options


def test_works_with_atomic_requests(
    api: APIClient, voice_mp3: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # The endpoint waits for its transcript, so it must commit the row before the request ends.
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "SYNC_TIMEOUT": 20}
    response = infer(api, voice_mp3)
    assert response.status_code == 200, response.content
    assert response.json()["inference_status"]["status"] == "succeeded"


def test_our_backend_reports_a_queued_answer_instead_of_an_empty_result(
    live_server: Any, token: str, voice_mp3: Path, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "SYNC_TIMEOUT": 0}
    with (
        load_backend("deepinfra", base_url=live_server.url, token=token, model=MODEL) as backend,
        pytest.raises(ServiceError, match="status 'queued'") as caught,
    ):
        backend.transcribe(voice_mp3, TranscriptionOptions())
    assert str(Transcript.objects.get().pk) in str(caught.value)


def test_a_canceled_transcript_tells_its_webhook(
    api: APIClient,
    voice_mp3: Path,
    receiver: Receiver,
    settings: Any,
    admin_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Queued but never run (no worker), then canceled in the admin.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    response = infer(api, voice_mp3, webhook=f"{receiver.url}/hooks/t0k3n")
    assert response.json()["inference_status"]["status"] == "queued"
    transcript = Transcript.objects.get()

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/django_voxtral/transcript/",
            {"action": "cancel", "_selected_action": [str(transcript.pk)], "index": 0},
        )

    assert Transcript.objects.get().status == Transcript.Status.CANCELED
    assert receiver.done.wait(10)
    path, sent, _ = receiver.calls[0]
    assert path == "/hooks/t0k3n"
    assert sent["request_id"] == str(transcript.pk)
    assert sent["inference_status"]["status"] == "failed"
    assert "canceled" in sent["error"]
