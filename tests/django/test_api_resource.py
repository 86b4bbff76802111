"""The resource API /api/transcripts/: auth, upload, bad input, limits, ownership, listing, exports.

DRF's APIClient against the real views, real ffmpeg on small generated media, the dummy backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pysrt
import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from django_voxtral import transcripts
from django_voxtral.models import Transcript
from django_voxtral.speech.backends import dummy
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import client_for, tone

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.5 s of a 440 Hz tone, 16 kHz mono WAV."""
    return tone(tmp_path_factory.mktemp("api-media") / "tone clip.wav", 1.5, 440)


@pytest.fixture(autouse=True)
def _fresh_throttle_and_outbox() -> Iterator[None]:
    cache.clear()
    dummy.clear_outbox()
    yield
    cache.clear()
    dummy.clear_outbox()


def upload(client: APIClient, path: Path, **fields: Any) -> Any:
    with path.open("rb") as fh:
        return client.post("/api/transcripts/", {"audio": fh, **fields}, format="multipart")


def upload_done(client: APIClient, path: Path, capture: Any, **fields: Any) -> Any:
    """Uploads and runs the queued job at commit, as a worker would."""
    with capture(execute=True):
        response = upload(client, path, **fields)
    assert response.status_code == 202, response.content
    return response


# --- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Token", "token", "Bearer", "bearer", "BEARER", "bEaReR"])
def test_token_accepted_under_either_scheme_in_any_case(alice: Any, scheme: str) -> None:
    response = client_for(alice, scheme).get("/api/transcripts/")
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 0


def test_no_credentials_is_401_with_json(client: Any) -> None:
    response = client.get("/api/transcripts/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


def test_wrong_token_is_401(alice: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    response = client.get("/api/transcripts/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_upload_without_credentials_is_refused_before_reading(client: Any, tone_wav: Path) -> None:
    with tone_wav.open("rb") as fh:
        response = client.post("/api/transcripts/", {"audio": fh})
    assert response.status_code == 401
    assert Transcript.objects.count() == 0


def test_session_auth_for_the_browsable_api(client: Any, alice: Any) -> None:
    client.force_login(alice)
    response = client.get("/api/transcripts/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Transcript" in response.content
    assert response["Content-Type"].startswith("text/html")


# --- upload -------------------------------------------------------------------------------


def test_upload_answers_202_with_location_and_queues(
    api: APIClient, alice: Any, tone_wav: Path
) -> None:
    response = upload(api, tone_wav, language="fr", temperature="0.2", chunk_length_s="20")

    assert response.status_code == 202, response.content
    body = response.json()
    transcript = Transcript.objects.get(pk=body["id"])
    assert response["Location"].endswith(f"/api/transcripts/{transcript.pk}/")
    assert body["status"] == "queued" and body["progress"] == 0
    assert transcript.owner == alice
    assert transcript.media_name == "tone clip.wav"
    assert transcript.language == "fr"
    assert transcript.temperature == pytest.approx(0.2)
    assert transcript.chunk_length_s == 20
    assert len(transcript.sha256) == 64
    assert transcript.media.read() == tone_wav.read_bytes()


def test_upload_runs_at_commit_and_detail_shows_result(
    api: APIClient, tone_wav: Path, django_capture_on_commit_callbacks: Any
) -> None:
    response = upload_done(api, tone_wav, django_capture_on_commit_callbacks, task="transcribe")
    detail = api.get(response["Location"]).json()

    assert detail["status"] == "done" and detail["progress"] == 100
    assert detail["error"] == ""
    assert detail["text"] == "dummy transcript"
    result = detail["result"]
    assert result["text"] == "dummy transcript"
    assert result["segments"][0]["end"] == pytest.approx(1.5, abs=0.05)
    assert [w["text"] for w in result["words"]] == ["dummy", "transcript"]
    assert result["request_id"] == detail["id"]
    assert result["inference_status"]["status"] == "succeeded"
    assert set(detail["exports"]) == {"json", "srt", "vtt", "txt"}
    assert len(dummy.outbox) == 1


def test_backend_alias_is_used(api: APIClient, tone_wav: Path) -> None:
    response = upload(api, tone_wav, backend="local")
    assert response.status_code == 202, response.content
    assert Transcript.objects.get(pk=response.json()["id"]).backend == "local"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"language": "xx"}, "language", "ISO 639-1"),
        ({"task": "summarize"}, "task", "transcribe, translate"),
        ({"temperature": "hot"}, "temperature", "number"),
        ({"chunk_length_s": "31"}, "chunk_length_s", "1 to 30"),
        ({"chunk_level": "sentence"}, "chunk_level", "segment, word"),
        ({"colour": "blue"}, "colour", "one of the fields"),
    ],
)
def test_bad_option_is_400_naming_the_field(
    api: APIClient, tone_wav: Path, fields: dict[str, str], field: str, words: str
) -> None:
    response = upload(api, tone_wav, **fields)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_option"
    assert body["field"] == field
    assert words in body["detail"]
    assert Transcript.objects.count() == 0


def test_unknown_backend_is_400(api: APIClient, tone_wav: Path) -> None:
    response = upload(api, tone_wav, backend="nope")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_backend"
    assert "nope" in response.json()["detail"]


def test_option_the_backend_cannot_do_is_400(api: APIClient, tone_wav: Path) -> None:
    response = upload(api, tone_wav, backend="english_only", task="translate")
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_option"
    assert Transcript.objects.count() == 0


def test_missing_file_is_400(api: APIClient) -> None:
    response = api.post("/api/transcripts/", {"language": "en"}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {
        "detail": response.json()["detail"],
        "code": "missing_file",
        "field": "audio",
    }
    assert "'audio'" in response.json()["detail"]


def test_not_a_media_file_is_400_before_anything_is_created(api: APIClient) -> None:
    fake = SimpleUploadedFile("notes.mp3", b"this is plain text, not audio\n" * 50)
    response = api.post("/api/transcripts/", {"audio": fake}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "not_a_media_file"
    assert body["detail"].startswith("notes.mp3 is not an audio or video file")
    assert Transcript.objects.count() == 0


def test_video_without_audio_is_400(api: APIClient, video_without_audio: Path) -> None:
    response = upload(api, video_without_audio)
    assert response.status_code == 400
    assert response.json()["code"] == "no_audio_track"
    assert "mute.mp4 has no audio track" in response.json()["detail"]
    assert Transcript.objects.count() == 0


def test_too_long_media_is_400(api: APIClient, tone_wav: Path, settings: Any) -> None:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "MAX_MEDIA_SECONDS": 1}
    response = upload(api, tone_wav)
    assert response.status_code == 400
    assert response.json()["code"] == "media_too_long"
    assert "over the limit of 1 s" in response.json()["detail"]


def test_json_body_is_415(api: APIClient) -> None:
    response = api.post("/api/transcripts/", {"audio": "x"}, format="json")
    assert response.status_code == 415
    assert "detail" in response.json()


# --- limits -------------------------------------------------------------------------------


def test_upload_over_size_limit_is_413_streamed(
    api: APIClient, tone_wav: Path, settings: Any
) -> None:
    # Small enough that the file itself, not the declared length, trips the limit.
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "MAX_UPLOAD_SIZE": 10_000}
    response = upload(api, tone_wav)
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert "10000 bytes" in response.json()["detail"]
    assert Transcript.objects.count() == 0


def test_declared_length_over_limit_is_413_up_front(
    api: APIClient, tone_wav: Path, settings: Any
) -> None:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "MAX_UPLOAD_SIZE": 10_000}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = upload(api, tone_wav)
    assert response.status_code == 413
    assert f"({tone_wav.stat().st_size}" not in response.json()["detail"]  # the body's length
    assert "bytes" in response.json()["detail"]


def test_uploads_are_streamed_to_disk(
    api: APIClient, tone_wav: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even below Django's in-memory threshold the upload goes to a temporary file.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100 * 2**20
    seen: list[str] = []
    original = transcripts.probe_upload

    def spy(file: Any) -> Any:
        seen.append(type(file).__name__)
        return original(file)

    monkeypatch.setattr(transcripts, "probe_upload", spy)
    assert upload(api, tone_wav).status_code == 202
    assert seen == ["TemporaryUploadedFile"]


def test_uploads_are_throttled(api: APIClient, tone_wav: Path, settings: Any) -> None:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "UPLOAD_THROTTLE_RATE": "2/minute"}
    assert upload(api, tone_wav).status_code == 202
    assert upload(api, tone_wav).status_code == 202
    response = upload(api, tone_wav)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert api.get("/api/transcripts/").status_code == 200, "reading is not throttled"


# --- ownership, listing -------------------------------------------------------------------


def test_others_transcripts_are_404(api: APIClient, bob: Any, tone_wav: Path) -> None:
    pk = upload(api, tone_wav).json()["id"]
    other = client_for(bob)
    assert other.get(f"/api/transcripts/{pk}/").status_code == 404
    assert other.get(f"/api/transcripts/{pk}.srt").status_code == 404
    assert other.delete(f"/api/transcripts/{pk}/").status_code == 404
    assert other.get("/api/transcripts/").json()["count"] == 0
    assert Transcript.objects.filter(pk=pk).exists()


def test_view_permission_sees_everything(
    api: APIClient, django_user_model: Any, tone_wav: Path
) -> None:
    # is_staff alone is not enough (tests/django/test_api_permissions.py): the model permission is.
    pk = upload(api, tone_wav).json()["id"]
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_transcript"))
    client = client_for(staff)
    assert client.get(f"/api/transcripts/{pk}/").status_code == 200
    assert client.get("/api/transcripts/").json()["count"] == 1


def test_garbage_id_is_404(api: APIClient) -> None:
    assert api.get("/api/transcripts/not-a-uuid/").status_code == 404
    response = api.get("/api/transcripts/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def make_rows(owner: Any, specs: list[dict[str, Any]]) -> list[Transcript]:
    return [
        Transcript.objects.create(owner=owner, media_name=f"f{i}.wav", **spec)
        for i, spec in enumerate(specs)
    ]


def test_list_paginates_filters_and_searches(api: APIClient, alice: Any) -> None:
    make_rows(
        alice,
        [
            {"status": "done", "detected_language": "fr", "text": "bonjour le monde"},
            {"status": "done", "language": "fr", "detected_language": "fr", "text": "au revoir"},
            {"status": "done", "detected_language": "en", "text": "hello world"},
            {"status": "queued", "language": "de"},
            {"status": "failed", "error": "broken"},
        ],
    )

    page = api.get("/api/transcripts/", {"page_size": 2}).json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert "text" not in page["results"][0]

    done = api.get("/api/transcripts/", {"status": "done"}).json()
    assert {r["status"] for r in done["results"]} == {"done"} and done["count"] == 3

    french = api.get("/api/transcripts/", {"language": "fr"}).json()
    assert french["count"] == 2
    german = api.get("/api/transcripts/", {"language": "de"}).json()
    assert german["count"] == 1 and german["results"][0]["status"] == "queued"

    found = api.get("/api/transcripts/", {"search": "monde"}).json()
    assert [r["media_name"] for r in found["results"]] == ["f0.wav"]

    both = api.get("/api/transcripts/", {"search": "world", "status": "queued"}).json()
    assert both["count"] == 0


def test_list_queries_do_not_grow_with_rows(
    api: APIClient, alice: Any, django_assert_max_num_queries: Any
) -> None:
    Transcript.objects.bulk_create(
        Transcript(owner=alice, media_name=f"f{i}.wav", status="done", text="words " * 50)
        for i in range(120)
    )
    # token, the user's and their groups' permissions (permissions.py), count, page; and no
    # query per row.
    with django_assert_max_num_queries(6):
        page = api.get("/api/transcripts/", {"page_size": 100}).json()
    assert len(page["results"]) == 100 and page["count"] == 120
    with django_assert_max_num_queries(7):  # the detail: token, permissions, row, segments
        detail = api.get(page["results"][0]["url"])
    assert detail.status_code == 200


def test_bad_filter_values_are_400(api: APIClient) -> None:
    response = api.get("/api/transcripts/", {"status": "finished"})
    assert response.status_code == 400 and response.json()["field"] == "status"
    response = api.get("/api/transcripts/", {"language": "klingon"})
    assert response.status_code == 400 and response.json()["field"] == "language"


def test_delete_removes_row_and_file(
    api: APIClient, tone_wav: Path, django_capture_on_commit_callbacks: Any
) -> None:
    pk = upload(api, tone_wav).json()["id"]
    transcript = Transcript.objects.get(pk=pk)
    storage, name = transcript.media.storage, transcript.media.name
    assert storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/transcripts/{pk}/")

    assert response.status_code == 204
    assert not Transcript.objects.filter(pk=pk).exists()
    assert not storage.exists(name)


# --- exports ------------------------------------------------------------------------------


@pytest.fixture
def done_id(api: APIClient, tone_wav: Path, django_capture_on_commit_callbacks: Any) -> str:
    return str(upload_done(api, tone_wav, django_capture_on_commit_callbacks).json()["id"])


def test_srt_export_by_suffix_and_query(api: APIClient, done_id: str) -> None:
    by_suffix = api.get(f"/api/transcripts/{done_id}.srt")
    by_query = api.get(f"/api/transcripts/{done_id}/", {"format": "srt"})

    assert by_suffix.status_code == 200
    assert by_suffix["Content-Type"].startswith("application/x-subrip")
    assert by_suffix["Content-Disposition"] == 'attachment; filename="tone clip.srt"'
    assert by_suffix.content == by_query.content
    subs = pysrt.from_string(by_suffix.content.decode())
    assert len(subs) == 1 and subs[0].text == "dummy transcript"
    assert subs[0].end.ordinal == pytest.approx(1500, abs=50)


def test_vtt_txt_and_json_exports(api: APIClient, done_id: str) -> None:
    vtt = api.get(f"/api/transcripts/{done_id}.vtt")
    assert vtt["Content-Type"].startswith("text/vtt")
    assert vtt.content.decode().startswith("WEBVTT")
    assert "dummy transcript" in vtt.content.decode()

    txt = api.get(f"/api/transcripts/{done_id}/?format=txt")
    assert txt["Content-Type"].startswith("text/plain")
    assert txt.content.decode().strip() == "dummy transcript"

    exported = api.get(f"/api/transcripts/{done_id}.json")
    assert exported["Content-Disposition"].endswith('.json"')
    contract = exported.json()
    assert list(contract) == [
        "text", "segments", "language", "input_length_ms", "words", "duration", "request_id",
        "inference_status",
    ]  # fmt: skip
    detail = api.get(f"/api/transcripts/{done_id}/").json()
    assert detail["result"] == contract


def test_export_links_in_detail_work(api: APIClient, done_id: str) -> None:
    exports = api.get(f"/api/transcripts/{done_id}/").json()["exports"]
    for fmt, url in exports.items():
        response = api.get(url)
        assert response.status_code == 200, (fmt, response.content)


def test_export_before_done_is_409_json(api: APIClient, tone_wav: Path) -> None:
    pk = upload(api, tone_wav).json()["id"]
    response = api.get(f"/api/transcripts/{pk}.srt")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_done"
    assert "queued" in response.json()["detail"]


def test_unknown_export_format_is_404(api: APIClient, done_id: str) -> None:
    assert api.get(f"/api/transcripts/{done_id}.docx").status_code == 404
    assert api.get(f"/api/transcripts/{done_id}/", {"format": "docx"}).status_code == 404


def test_export_filename_keeps_non_ascii_names(
    api: APIClient, tone_wav: Path, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    named = tmp_path / 'réunion d\'été "final".wav'
    named.write_bytes(tone_wav.read_bytes())
    pk = upload_done(api, named, django_capture_on_commit_callbacks).json()["id"]
    response = api.get(f"/api/transcripts/{pk}.vtt")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert unquote(disposition.split("''", 1)[1]) == 'réunion d\'été "final".vtt'


def test_list_has_no_export_formats(api: APIClient) -> None:
    assert api.get("/api/transcripts/", {"format": "srt"}).status_code == 404


def test_failed_transcript_keeps_its_error(api: APIClient, alice: Any) -> None:
    row = make_rows(alice, [{"status": "failed", "error": "The service was down; retry."}])[0]
    detail = api.get(f"/api/transcripts/{row.pk}/").json()
    assert detail["status"] == "failed"
    assert detail["error"] == "The service was down; retry."
    assert detail["result"] is None and detail["text"] is None


# --- schema -------------------------------------------------------------------------------


def test_openapi_schema_describes_uploads_and_exports(api: APIClient, client: Any) -> None:
    assert client.get("/api/schema/").status_code == 401
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert {"/api/transcripts/", "/api/transcripts/{id}/", "/v1/inference/{model}",
            "/v1/audio/transcriptions", "/v1/audio/translations"} <= set(paths)  # fmt: skip
    create = paths["/api/transcripts/"]["post"]
    form = create["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    form_schema = schema["components"]["schemas"][form.rsplit("/", 1)[-1]]
    assert form_schema["properties"]["audio"]["format"] == "binary"
    assert "202" in create["responses"] and "413" in create["responses"]
    exports = paths["/api/transcripts/{id}/"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "application/x-subrip", "text/vtt", "text/plain"} <= set(exports)
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_swagger_page(api: APIClient) -> None:
    response = api.get("/api/schema/swagger-ui/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content
