"""The captions view and the media access hook: a done transcript's WebVTT to those the hook lets
fetch it, and the same hook deciding the media view.

Django's test client against the real views; the captions parsed back with webvtt-py.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import webvtt
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.http import HttpRequest
from django.test import Client, override_settings
from django.urls import reverse

from django_voxtral.checks import check_media_access
from django_voxtral.media_access import may_fetch
from django_voxtral.models import Segment, Transcript
from tests.testapp.models import Clip

pytestmark = pytest.mark.django_db

Status = Transcript.Status


def public_when_titled(request: HttpRequest, transcript: Transcript) -> bool:
    """A site's hook for these tests: anyone may fetch a transcript whose media name says so."""
    return transcript.media_name.startswith("public")


NOT_CALLABLE = 42


def hooked(path: str) -> Any:
    return override_settings(VOXTRAL={**settings.VOXTRAL, "MEDIA_ACCESS": path})


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def done(owner: Any, *texts: str, media_name: str = "talk.wav", **fields: Any) -> Transcript:
    fields.setdefault("status", Status.DONE)
    row = Transcript(owner=owner, media_name=media_name, detected_language="en", **fields)
    row.media.save(media_name, ContentFile(b"RIFF" + bytes(60)), save=True)
    Segment.objects.bulk_create(
        Segment(transcript=row, index=i, start=2.0 * i, end=2.0 * i + 1.5, text=text)
        for i, text in enumerate(texts)
    )
    row.text = " ".join(texts)
    row.save(update_fields=["text"])
    return row


def captions(row: Transcript) -> str:
    return reverse("django_voxtral:transcript-captions", args=[row.pk])


def media(row: Transcript) -> str:
    return reverse("django_voxtral:transcript-media", args=[row.pk])


def test_the_owner_gets_the_current_text_as_webvtt(alice: Any) -> None:
    row = done(alice, "Hello there.", "Fish & <chips>.")
    Segment.objects.filter(transcript=row, index=0).update(text="Hello, edited.")
    response = logged_in(alice).get(captions(row))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vtt; charset=utf-8"
    assert response["Cache-Control"] == "private, no-cache"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Cookie" in response["Vary"]
    assert response["Content-Disposition"] == 'inline; filename="talk.vtt"'
    assert int(response["Content-Length"]) == len(response.content)
    cues = webvtt.from_buffer(io.StringIO(response.content.decode("utf-8"))).captions
    assert [(c.start, c.end, c.text) for c in cues] == [
        ("00:00:00.000", "00:00:01.500", "Hello, edited."),
        # WebVTT's own escapes: a cue's text is never read as markup by the player.
        ("00:00:02.000", "00:00:03.500", "Fish &amp; &lt;chips&gt;."),
    ]


def test_an_unchanged_text_revalidates_as_304(alice: Any) -> None:
    row = done(alice, "Hello there.")
    client = logged_in(alice)
    first = client.get(captions(row))
    again = client.get(captions(row), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["Cache-Control"] == "private, no-cache"
    Segment.objects.filter(transcript=row).update(text="Changed.")
    assert client.get(captions(row), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_head_and_only_safe_methods(alice: Any) -> None:
    row = done(alice, "Hello there.")
    client = logged_in(alice)
    head = client.head(captions(row))
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == client.get(captions(row))["Content-Length"]
    assert client.post(captions(row)).status_code == 405


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING, Status.FAILED, Status.CANCELED])
def test_a_transcript_not_done_has_no_captions(alice: Any, status: str) -> None:
    row = done(alice, "Not yet.", status=status)
    assert logged_in(alice).get(captions(row)).status_code == 404


def test_default_hook_others_and_the_logged_out_get_404(alice: Any, bob: Any) -> None:
    row = done(alice, "Mine.")
    assert logged_in(bob).get(captions(row)).status_code == 404
    anonymous = Client()
    assert anonymous.get(captions(row)).status_code == 404
    # A <track> cannot follow a login page: no redirect, even for a browser.
    assert anonymous.get(captions(row), HTTP_ACCEPT="text/html").status_code == 404
    assert logged_in(bob).get(media(row)).status_code == 404


@pytest.mark.parametrize("codename", ["view_transcript", "change_transcript"])
def test_default_hook_staff_with_the_permission_get_them(
    alice: Any, bob: Any, codename: str
) -> None:
    row = done(alice, "Mine.")
    bob.is_staff = True
    bob.save()
    assert logged_in(bob).get(captions(row)).status_code == 404, "is_staff alone opens nothing"
    bob.user_permissions.add(Permission.objects.get(codename=codename))
    assert logged_in(bob).get(captions(row)).status_code == 200
    assert logged_in(bob).get(media(row), HTTP_RANGE="bytes=0-3").status_code == 206


def test_an_inactive_owner_gets_404(alice: Any) -> None:
    row = done(alice, "Mine.")
    client = logged_in(alice)
    alice.is_active = False
    alice.save()
    assert client.get(captions(row)).status_code == 404


def test_a_custom_hook_decides_captions_and_media(alice: Any, bob: Any) -> None:
    public = done(alice, "For all.", media_name="public-talk.wav")
    private = done(alice, "For alice.", media_name="private-talk.wav")
    with hooked("tests.django.test_captions_view.public_when_titled"):
        anonymous = Client()
        assert anonymous.get(captions(public)).status_code == 200
        ranged = anonymous.get(media(public), HTTP_RANGE="bytes=0-3")
        assert ranged.status_code == 206
        assert b"".join(ranged.streaming_content) == b"RIFF"  # type: ignore[attr-defined]
        # The hook replaces the default rule: the owner too is refused what it refuses.
        assert logged_in(alice).get(captions(private)).status_code == 404
        assert anonymous.get(captions(private)).status_code == 404
        page = anonymous.get(media(private), HTTP_ACCEPT="text/html")
        assert page.status_code == 302 and "/login/" in page["Location"]
        assert logged_in(bob).get(media(private)).status_code == 404
    assert Client().get(captions(public)).status_code == 404, "the default rule again"


def test_the_hook_gets_the_request_and_the_transcript(alice: Any) -> None:
    row = done(alice, "Mine.")
    seen: list[tuple[Any, Any]] = []

    def hook(request: HttpRequest, transcript: Transcript) -> bool:
        seen.append((request.path, transcript.pk))
        return True

    with override_settings(VOXTRAL={**settings.VOXTRAL, "MEDIA_ACCESS": hook}):
        assert Client().get(captions(row)).status_code == 200
    assert seen == [(captions(row), row.pk)]


def test_the_default_hook_is_the_view_rule(alice: Any, bob: Any, rf: Any) -> None:
    row = done(alice, "Mine.")
    request = rf.get("/")
    request.user = alice
    assert may_fetch(request, row)
    request.user = bob
    assert not may_fetch(request, row)


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("tests.django.test_captions_view.no_such_hook", "cannot be imported"),
        ("no_such_module_anywhere.hook", "cannot be imported"),
        ("tests.django.test_captions_view.NOT_CALLABLE", "not callable"),
    ],
)
def test_a_hook_that_cannot_be_loaded_is_check_e010_and_never_serves(
    alice: Any, path: str, says: str
) -> None:
    row = done(alice, "Mine.")
    with hooked(path):
        (error,) = check_media_access()
        assert error.id == "django_voxtral.E010" and error.level == checks.ERROR
        assert path in error.msg and says in error.msg
        with pytest.raises(ImproperlyConfigured, match=says):
            logged_in(alice).get(captions(row))
    assert check_media_access() == []


@pytest.mark.parametrize("codename", ["view_clip", "change_clip"])
def test_default_hook_who_may_see_the_object_in_the_admin_gets_them(
    alice: Any, bob: Any, codename: str
) -> None:
    # A transcript of a site's own object: whoever may see that object in the admin (its
    # model's view or change permission) may fetch its media and captions too.
    clip = Clip.objects.create(title="talk")
    row = done(
        alice,
        "Of the clip.",
        content_type=ContentType.objects.get_for_model(Clip),
        object_id=str(clip.pk),
        source_field="file",
    )
    assert logged_in(bob).get(captions(row)).status_code == 404
    bob.user_permissions.add(Permission.objects.get(codename=codename))
    assert logged_in(bob).get(captions(row)).status_code == 200
    other = done(alice, "Not of the clip.", media_name="other.wav")
    assert logged_in(bob).get(captions(other)).status_code == 404, "only the model's objects"
    bob.is_active = False
    bob.save()
    assert logged_in(bob).get(captions(row)).status_code == 404
