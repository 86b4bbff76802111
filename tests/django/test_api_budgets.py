"""Daily budgets of audio minutes (VOXTRAL["USER_MINUTES_PER_DAY"]) on every upload path.

Real views through the test client with tone media; "tomorrow" is today's usage moved to yesterday.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from django_voxtral import budgets
from django_voxtral.models import Transcript
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import client_for, tone

pytestmark = pytest.mark.django_db

#: (path, file field) of each API upload endpoint.
ENDPOINTS = {
    "resource": ("/api/transcripts/", "audio"),
    "deepinfra": ("/v1/inference/mistralai/Voxtral-Small-24B-2507", "audio"),
    "openai": ("/v1/audio/transcriptions", "file"),
}


@pytest.fixture(scope="session")
def wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 20-second tone: a third of a minute."""
    return tone(tmp_path_factory.mktemp("budgets") / "t.wav", 20.0, 440).read_bytes()


@pytest.fixture(autouse=True)
def one_minute_a_day(settings: Any) -> None:
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        **settings.VOXTRAL,
        "SYNC_TIMEOUT": 0,
        "USER_MINUTES_PER_DAY": 1,
    }
    cache.clear()


@pytest.fixture
def api(alice: Any) -> APIClient:
    """alice's client, answering a server error as a response (so a 500 fails the test)."""
    return client_for(alice, raise_request_exception=False)


def used(user: Any, seconds: float, **fields: Any) -> Transcript:
    """A transcript of ``user`` made now, of ``seconds`` of audio."""
    return Transcript.objects.create(
        owner=user, media_name="earlier.wav", duration=seconds, status="done", **fields
    )


def post(api: APIClient, endpoint: str, wav: bytes) -> Any:
    url, field = ENDPOINTS[endpoint]
    return api.post(url, {field: SimpleUploadedFile("a.wav", wav)}, format="multipart")


def message_of(response: Any, endpoint: str) -> tuple[str, str]:
    body = response.json()
    if endpoint == "openai":
        return body["error"]["message"], body["error"]["code"]
    return body["detail"], body["code"]


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_over_the_budget_is_429_with_the_figures_and_retry_after(
    api: APIClient, alice: Any, wav: bytes, endpoint: str
) -> None:
    used(alice, 45.0)  # 0.75 minutes; the 20-second upload would make 1.08 of 1
    response = post(api, endpoint, wav)
    assert response.status_code == 429, response.content
    message, code = message_of(response, endpoint)
    assert code == ("insufficient_quota" if endpoint == "openai" else "budget_exceeded")
    assert "this is 0.3 minutes of audio, and 0.8 of your 1 minutes today are used" in message
    resets = budgets.format_reset(budgets.reset_time())
    assert f"It resets at {resets}" in message
    retry_after = int(response["Retry-After"])
    expected = (budgets.reset_time() - budgets.now()).total_seconds()
    assert retry_after > 0 and abs(retry_after - expected) < 5
    if endpoint == "openai":
        body = response.json()["error"]
        assert body["type"] == "insufficient_quota" and response["x-should-retry"] == "false"
    assert Transcript.objects.count() == 1  # nothing stored, nothing queued


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_used_up_budget_says_so(api: APIClient, alice: Any, wav: bytes, endpoint: str) -> None:
    used(alice, 60.0)
    response = post(api, endpoint, wav)
    assert response.status_code == 429
    message, _ = message_of(response, endpoint)
    assert message.startswith("Daily audio budget used up: 1 of your 1 minutes today are used.")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_under_the_budget_passes_and_counts(
    api: APIClient, alice: Any, wav: bytes, endpoint: str
) -> None:
    used(alice, 30.0)
    response = post(api, endpoint, wav)
    assert response.status_code in (200, 202, 504), response.content
    made = Transcript.objects.exclude(media_name="earlier.wav").get()
    assert made.owner == alice and made.duration == pytest.approx(20.0, abs=0.1)
    assert budgets.minutes_used(alice) == pytest.approx(50 / 60, abs=0.01)
    # The next 20 seconds do not fit any more (1.17 of 1).
    assert post(api, endpoint, wav).status_code == 429


def test_another_users_usage_does_not_count(
    api: APIClient, alice: Any, bob: Any, wav: bytes
) -> None:
    used(bob, 600.0)
    Transcript.objects.create(owner=None, media_name="hook.wav", duration=600.0)
    assert post(api, "resource", wav).status_code == 202
    assert budgets.minutes_used(bob) == 10.0
    bobs = client_for(bob, raise_request_exception=False)
    assert post(bobs, "resource", wav).status_code == 429


def test_the_next_day_the_budget_starts_again(api: APIClient, alice: Any, wav: bytes) -> None:
    earlier = used(alice, 60.0)
    assert post(api, "resource", wav).status_code == 429
    # Yesterday, just before midnight (site's TIME_ZONE): it no longer counts today.
    yesterday = budgets.day_start() - dt.timedelta(minutes=1)
    Transcript.objects.filter(pk=earlier.pk).update(created=yesterday, started=yesterday)
    assert budgets.minutes_used(alice) == 0.0
    assert post(api, "resource", wav).status_code == 202


def test_a_transcript_started_today_counts_today(alice: Any) -> None:
    """A re-transcription of an old transcript is today's work: counted when it starts."""
    earlier = used(alice, 60.0)
    long_ago = budgets.day_start() - dt.timedelta(days=3)
    Transcript.objects.filter(pk=earlier.pk).update(created=long_ago, started=budgets.now())
    assert budgets.minutes_used(alice) == 1.0


def test_superusers_and_the_permission_are_not_limited(
    django_user_model: Any, alice: Any, wav: bytes
) -> None:
    root = django_user_model.objects.create_superuser("root")
    used(root, 600.0)
    assert post(client_for(root), "resource", wav).status_code == 202
    # Declared on the model (Meta.permissions): granted like any other, e.g. in the admin.
    permission = Permission.objects.get(
        codename="unlimited_minutes",
        content_type=ContentType.objects.get_for_model(Transcript),
    )
    alice.user_permissions.add(permission)
    used(alice, 600.0)
    assert post(client_for(alice), "resource", wav).status_code == 202


def test_without_the_setting_there_is_no_limit(
    settings: Any, api: APIClient, alice: Any, wav: bytes
) -> None:
    settings.VOXTRAL = {**TONES_ARE_SPEECH, **settings.VOXTRAL, "USER_MINUTES_PER_DAY": None}
    used(alice, 24 * 3600.0)
    assert budgets.budget_for(alice, 60).over is False
    assert post(api, "resource", wav).status_code == 202


def test_the_day_follows_the_sites_time_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Paris"
    # The day summer time starts in Paris: midnight is +01:00, the next one +02:00.
    moment = dt.datetime(2025, 3, 30, 12, 0, tzinfo=dt.UTC)
    assert budgets.day_start(moment) == dt.datetime(2025, 3, 29, 23, 0, tzinfo=dt.UTC)
    assert budgets.reset_time(moment) == dt.datetime(2025, 3, 30, 22, 0, tzinfo=dt.UTC)
    assert budgets.format_reset(budgets.reset_time(moment)) == "2025-03-31 00:00 +0200"
    settings.TIME_ZONE = "UTC"
    assert budgets.reset_time(moment) == dt.datetime(2025, 3, 31, 0, 0, tzinfo=dt.UTC)


def test_admin_add_form_refuses_over_the_budget(
    django_user_model: Any, wav: bytes, tmp_path: Path
) -> None:
    from django.test import Client

    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=("add_transcript", "view_transcript"))
    )
    client = Client()
    client.force_login(staff)
    used(staff, 50.0)
    url = reverse("admin:django_voxtral_transcript_add")
    form = {
        "backend": "default",
        "task": "transcribe",
        "temperature": "0",
        "chunk_level": "segment",
    }
    form |= {"chunk_length_s": "30"}
    response = client.post(url, {**form, "media": SimpleUploadedFile("a.wav", wav)})
    assert response.status_code == 200
    assert "Over the daily audio budget" in response.content.decode()
    assert Transcript.objects.count() == 1
    Transcript.objects.update(duration=10.0)
    response = client.post(url, {**form, "media": SimpleUploadedFile("a.wav", wav)})
    assert response.status_code == 302, response.content.decode()[:3000]
    made = Transcript.objects.exclude(media_name="earlier.wav").get()
    assert made.owner == staff and made.duration == pytest.approx(20.0, abs=0.1)


@pytest.mark.parametrize("action", ["retranscribe", "translate_to_english"])
def test_admin_actions_that_queue_work_respect_the_budget(
    django_user_model: Any, action: str
) -> None:
    from django.contrib.messages import get_messages
    from django.test import Client

    staff = django_user_model.objects.create_user("staff", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            codename__in=("add_transcript", "change_transcript", "view_transcript")
        )
    )
    client = Client()
    client.force_login(staff)
    old = used(staff, 40.0)
    long_ago = budgets.day_start() - dt.timedelta(days=3)
    Transcript.objects.filter(pk=old.pk).update(created=long_ago, started=long_ago)
    used(staff, 30.0)  # today: 0.5 minutes; the old one's 40 seconds would make 1.17 of 1

    def act() -> list[str]:
        response = client.post(
            reverse("admin:django_voxtral_transcript_changelist"),
            {"action": action, "_selected_action": [str(old.pk)], "index": 0},
        )
        assert response.status_code == 302
        return [str(m) for m in get_messages(response.wsgi_request)]

    (message,) = act()
    assert message.startswith("Nothing was queued. Over the daily audio budget: this is 0.7")
    assert Transcript.objects.count() == 2
    assert Transcript.objects.get(pk=old.pk).duration == 40.0  # left as it was
    Transcript.objects.exclude(pk=old.pk).update(duration=10.0)
    assert "queued" in act()[0]
