"""GET /api/transcripts/<id>/peaks/: the waveform saved by a real run, its shape, who may see it.

DRF's APIClient against the real views and worker path: real ffmpeg, generated tones, the dummy.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from django_voxtral.models import Transcript
from django_voxtral.reuse import reuse_machine_result
from django_voxtral.runner import run_transcript
from django_voxtral.speech.backends import dummy
from django_voxtral.speech.pipeline import PipelineProgress
from tests.fixtures_api import client_for
from tests.fixtures_standin import write_tones

pytestmark = pytest.mark.django_db

SECONDS = 3.0


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s: silence, a 440 Hz tone of amplitude 0.3 from 1 s to 2 s, silence (16 kHz WAV)."""
    path = tmp_path_factory.mktemp("peaks-media") / "tone.wav"
    return write_tones(path, duration=SECONDS, tones=[(1.0, 2.0)], amplitude=0.3)


@pytest.fixture(autouse=True)
def _fresh_throttle_and_outbox() -> Iterator[None]:
    cache.clear()
    dummy.clear_outbox()
    yield
    cache.clear()
    dummy.clear_outbox()


def upload(client: APIClient, path: Path) -> str:
    """Uploads; the job is queued (it runs only when the caller runs it)."""
    with path.open("rb") as fh:
        response = client.post("/api/transcripts/", {"audio": fh}, format="multipart")
    assert response.status_code == 202, response.content
    return str(response.json()["id"])


def upload_done(client: APIClient, path: Path, capture: Any) -> str:
    """Uploads and runs the queued job at commit, as a worker would."""
    with capture(execute=True):
        pk = upload(client, path)
    assert Transcript.objects.get(pk=pk).status == Transcript.Status.DONE
    return pk


def peaks_url(pk: str) -> str:
    return f"/api/transcripts/{pk}/peaks/"


def test_peaks_of_a_done_transcript_in_wavesurfers_shape(
    api: APIClient, tone_wav: Path, django_capture_on_commit_callbacks: Any
) -> None:
    pk = upload_done(api, tone_wav, django_capture_on_commit_callbacks)
    response = api.get(peaks_url(pk))

    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"duration", "seconds_per_peak", "peaks"}
    assert body["duration"] == pytest.approx(SECONDS, abs=0.02)
    assert body["seconds_per_peak"] == pytest.approx(0.02)
    maxs, mins = body["peaks"]
    assert len(maxs) == len(mins) == math.ceil(body["duration"] / body["seconds_per_peak"] - 1e-9)
    assert all(-1 <= lo <= hi <= 1 for lo, hi in zip(mins, maxs, strict=True))
    # The tone (1 s to 2 s, amplitude 0.3), and silence around it.
    loud = [i for i, hi in enumerate(maxs) if hi > 0.25]
    assert loud[0] * 0.02 == pytest.approx(1.0, abs=0.05)
    assert (loud[-1] + 1) * 0.02 == pytest.approx(2.0, abs=0.05)
    assert max(maxs) == pytest.approx(0.3, abs=0.01)
    assert min(mins) == pytest.approx(-0.3, abs=0.01)
    assert max(maxs[:45] + maxs[-45:]) < 0.01


def test_the_row_holds_the_compact_form(
    api: APIClient, tone_wav: Path, django_capture_on_commit_callbacks: Any
) -> None:
    pk = upload_done(api, tone_wav, django_capture_on_commit_callbacks)
    stored = Transcript.objects.values_list("peaks", flat=True).get(pk=pk)
    assert stored["v"] == 1 and set(stored) == {
        "v", "seconds_per_peak", "duration", "scale", "max", "min"
    }  # fmt: skip
    assert len(base64.b64decode(stored["max"])) == 150, "one byte per window of 20 ms"
    assert stored["scale"] == pytest.approx(0.3, abs=0.01)
    body = api.get(peaks_url(pk)).json()
    assert body["peaks"] == [
        [round(v, 3) for v in body["peaks"][0]],
        [round(v, 3) for v in body["peaks"][1]],
    ], "3 decimals at most"


def test_peaks_stored_as_lists_before_are_still_served(
    api: APIClient, tone_wav: Path, django_capture_on_commit_callbacks: Any
) -> None:
    pk = upload_done(api, tone_wav, django_capture_on_commit_callbacks)
    Transcript.objects.filter(pk=pk).update(
        peaks={
            "seconds_per_peak": 0.02,
            "duration": 0.06,
            "mins": [0.0, -0.25, -0.001],
            "maxs": [0.0, 0.3, 0.002],
        }
    )
    body = api.get(peaks_url(pk)).json()
    assert body == {
        "duration": 0.06,
        "seconds_per_peak": 0.02,
        "peaks": [[0.0, 0.3, 0.002], [0.0, -0.25, -0.001]],
    }


def test_before_the_split_there_are_no_peaks(alice: Any, api: APIClient, tone_wav: Path) -> None:
    pk = upload(api, tone_wav)  # queued: no worker ran it
    response = api.get(peaks_url(pk))

    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "no_peaks"
    assert "queued" in body["detail"] and "split" in body["detail"]


def test_peaks_are_saved_before_any_chunk_is_sent(api: APIClient, tone_wav: Path) -> None:
    pk = upload(api, tone_wav)
    seen: list[tuple[int, bool]] = []

    def watch(p: PipelineProgress) -> None:
        if p.stage == "transcribing":
            stored = Transcript.objects.filter(pk=pk).values_list("peaks", flat=True).get()
            seen.append((len(dummy.outbox), stored is not None))

    assert run_transcript(pk, progress=watch) == Transcript.Status.DONE
    assert seen[0] == (0, True)
    assert api.get(peaks_url(pk)).status_code == 200


def test_others_get_404_and_no_hint(
    api: APIClient, bob: Any, tone_wav: Path, django_capture_on_commit_callbacks: Any
) -> None:
    pk = upload_done(api, tone_wav, django_capture_on_commit_callbacks)
    response = client_for(bob).get(peaks_url(pk))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    missing = api.get(peaks_url("00000000-0000-0000-0000-000000000000"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_not_signed_in_is_401(client: Any, alice: Any, tone_wav: Path) -> None:
    pk = upload(client_for(alice), tone_wav)
    assert client.get(peaks_url(pk)).status_code == 401


def test_a_reused_result_takes_its_twins_peaks(
    api: APIClient, tone_wav: Path, django_capture_on_commit_callbacks: Any
) -> None:
    first = Transcript.objects.get(
        pk=upload_done(api, tone_wav, django_capture_on_commit_callbacks)
    )
    second = Transcript.objects.get(pk=upload(api, tone_wav))
    second.sha256 = first.sha256
    second.save(update_fields=["sha256"])

    assert reuse_machine_result(second, first.model) == first
    assert Transcript.objects.get(pk=second.pk).peaks == first.peaks
    assert api.get(peaks_url(str(second.pk))).json() == api.get(peaks_url(str(first.pk))).json()


def test_the_schema_documents_the_peaks(api: APIClient) -> None:
    schema = api.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/transcripts/{id}/peaks/"]["get"]
    assert "wavesurfer" in operation["description"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    shape = schema["components"]["schemas"][ok.rsplit("/", 1)[-1]]
    assert set(shape["properties"]) == {"duration", "seconds_per_peak", "peaks"}
    assert "404" in operation["responses"]
