"""The workspace pages and their words as JSON: who may open them, what the page is given.

Django's test client against the real views (the owner's page, the admin's workspace, data.json)
and the links search hits use; the page's behaviour in a browser is in tests/pages/.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from django_voxtral import links
from django_voxtral.models import Segment, Transcript, TranscriptChunk

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def done(owner: Any, name: str = "talk.mp4") -> Transcript:
    row = Transcript.objects.create(
        owner=owner,
        media_name=name,
        status=Transcript.Status.DONE,
        duration=9.5,
        detected_language="en",
        text="Hello there. General Kenobi.",
    )
    row.media.save(name, ContentFile(b"\0" * 64), save=True)
    Segment.objects.create(
        transcript=row,
        index=0,
        start=0.5,
        end=2.0,
        text="Hello there.",
        speaker="A",
        words=[
            {"start": 0.5, "end": 1.0, "text": "Hello"},
            {"start": 1.1, "end": 2.0, "text": "there.", "speaker": "A"},
        ],
    )
    Segment.objects.create(transcript=row, index=1, start=3.0, end=5.25, text="General Kenobi.")
    TranscriptChunk.objects.create(transcript=row, index=0, start=0.0, end=4.0, result={})
    TranscriptChunk.objects.create(transcript=row, index=1, start=4.0, end=9.5, result={})
    return row


def page_url(row: Transcript) -> str:
    return reverse("django_voxtral:transcript-page", kwargs={"pk": row.pk})


def admin_url(row: Transcript) -> str:
    return reverse("admin:django_voxtral_transcript_workspace", args=[row.pk])


def staff(django_user_model: Any, name: str, *perms: str) -> Any:
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    for perm in perms:
        user.user_permissions.add(Permission.objects.get(codename=perm))
    return django_user_model.objects.get(pk=user.pk)


def page_config(response: Any) -> dict[str, Any]:
    return dict(response.context["config"])


def test_the_owner_page_plays_the_media_beside_its_words(alice: Any) -> None:
    row = done(alice)
    response = logged_in(alice).get(page_url(row))
    assert response.status_code == 200
    html = response.content.decode()
    media = reverse("django_voxtral:transcript-media", kwargs={"pk": row.pk})
    assert f'<video id="voxtral-media" class="voxtral-media" src="{media}"' in html
    assert "django_voxtral/follow.js" in html and "django_voxtral/workspace.js" in html
    assert "vendor/wavesurfer/wavesurfer.min.js" in html
    assert "cdn" not in html.lower()
    words = response.context["data"]
    assert [s["text"] for s in words["segments"]] == ["Hello there.", "General Kenobi."]
    assert words["segments"][0]["words"][1] == {"start": 1.1, "end": 2.0, "text": "there."}
    config = page_config(response)
    assert config["canEdit"] is True and config["live"] is False
    assert config["chunks"] == [[0.0, 4.0], [4.0, 9.5]]
    assert config["urls"]["api"] == reverse(
        "django_voxtral:transcript-detail", kwargs={"pk": row.pk}
    )
    assert set(config["urls"]["exports"]) == {"json", "srt", "vtt", "txt"}


def test_audio_gets_an_audio_element(alice: Any) -> None:
    row = done(alice, "memo.mp3")
    html = logged_in(alice).get(page_url(row)).content.decode()
    assert '<audio id="voxtral-media"' in html and "<video" not in html


def test_others_get_404_and_the_logged_out_the_login_page(alice: Any, bob: Any) -> None:
    row = done(alice)
    assert logged_in(bob).get(page_url(row)).status_code == 404
    refused = logged_in(bob).get(reverse("django_voxtral:transcript-data", args=[row.pk]))
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    anonymous = Client().get(page_url(row))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    data = Client().get(reverse("django_voxtral:transcript-data", args=[row.pk]))
    assert data.status_code == 401 and data.json()["code"] == "not_authenticated"


def test_data_json_is_the_current_words(alice: Any) -> None:
    row = done(alice)
    Segment.objects.filter(transcript=row, index=1).update(text="General Grievous.")
    response = logged_in(alice).get(reverse("django_voxtral:transcript-data", args=[row.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    body = response.json()
    assert body["id"] == str(row.pk) and body["duration"] == 9.5 and body["language"] == "en"
    assert body["segments"][1]["text"] == "General Grievous."
    assert body["segments"][1]["words"] == []


def test_a_viewer_without_change_permission_reads_but_cannot_edit(
    alice: Any, django_user_model: Any
) -> None:
    row = done(alice)
    viewer = staff(django_user_model, "viewer", "view_transcript")
    response = logged_in(viewer).get(page_url(row))
    assert response.status_code == 200
    assert page_config(response)["canEdit"] is False
    assert 'id="voxtral-replace"' not in response.content.decode()


def test_a_running_transcript_page_polls_and_does_not_edit(alice: Any) -> None:
    row = done(alice)
    Transcript.objects.filter(pk=row.pk).update(status=Transcript.Status.RUNNING)
    response = logged_in(alice).get(page_url(row))
    config = page_config(response)
    assert config["live"] is True and config["canEdit"] is False


def test_the_admin_workspace_follows_the_model_permissions(
    alice: Any, django_user_model: Any
) -> None:
    row = done(alice)
    nobody = staff(django_user_model, "nobody")
    assert logged_in(nobody).get(admin_url(row)).status_code in (403, 404)
    viewer = staff(django_user_model, "viewer", "view_transcript")
    response = logged_in(viewer).get(admin_url(row))
    assert response.status_code == 200
    assert page_config(response)["canEdit"] is False
    editor = staff(django_user_model, "editor", "view_transcript", "change_transcript")
    response = logged_in(editor).get(admin_url(row))
    assert response.status_code == 200
    assert page_config(response)["canEdit"] is True
    html = response.content.decode()
    assert "Workspace" in html and 'id="voxtral-words"' in html
    assert "django_voxtral/workspace.css" in html
    missing = logged_in(editor).get(
        reverse("admin:django_voxtral_transcript_workspace", args=["0" * 32])
    )
    assert missing.status_code in (302, 404)  # the admin sends unknown ids to its index


def test_the_list_and_the_change_page_link_to_the_workspace(
    alice: Any, django_user_model: Any
) -> None:
    row = done(alice)
    editor = staff(django_user_model, "editor", "view_transcript", "change_transcript")
    client = logged_in(editor)
    listing = client.get(reverse("admin:django_voxtral_transcript_changelist")).content.decode()
    assert f'href="{admin_url(row)}"' in listing
    change = client.get(reverse("admin:django_voxtral_transcript_change", args=[row.pk]))
    assert f'href="{admin_url(row)}"' in change.content.decode()


def test_page_url_sends_staff_to_the_admin_and_owners_to_their_page(
    alice: Any, django_user_model: Any
) -> None:
    row = done(alice)
    viewer = staff(django_user_model, "viewer", "view_transcript")
    assert links.page_url(viewer, row.pk, 12.5) == admin_url(row) + "?t=12.5"
    assert links.page_url(alice, row.pk, 3) == page_url(row) + "?t=3"
    assert links.page_url(alice, row.pk) == page_url(row)


def test_the_page_data_is_valid_json_in_a_script_element(alice: Any) -> None:
    row = done(alice)
    Segment.objects.filter(transcript=row, index=0).update(text="</script><b>x</b>")
    html = logged_in(alice).get(page_url(row)).content.decode()
    assert "</script><b>" not in html
    start = html.index('<script id="voxtral-data" type="application/json">') + len(
        '<script id="voxtral-data" type="application/json">'
    )
    data = json.loads(html[start : html.index("</script>", start)])
    assert data["segments"][0]["text"] == "</script><b>x</b>"
