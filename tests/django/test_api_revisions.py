"""The editing API: PATCH segments/<i>/, split/, merge/, speakers/rename/, replace/, revisions/,
revisions/<n>/ and revisions/<n>/restore/; exports of the current text and of the original.

The test client against the real views (tokens, and a session with CSRF as the workspace page);
rows made directly on the test database.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from django_voxtral import search, transcripts
from django_voxtral.models import Revision, Segment, Transcript
from tests.django.test_api_permissions import user_with
from tests.django.test_editing import LINES, done_transcript, rows
from tests.fixtures_api import client_for

pytestmark = pytest.mark.django_db
Status = Transcript.Status


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def url(t: Transcript, tail: str) -> str:
    return f"/api/transcripts/{t.pk}/{tail}"


def patch(client: Any, t: Transcript, index: int, **body: Any) -> Any:
    return client.patch(url(t, f"segments/{index}/"), body, format="json")


def post(client: Any, t: Transcript, tail: str, body: Any = None) -> Any:
    return client.post(url(t, tail), body if body is not None else {}, format="json")


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["detail"] and body["code"]
    return body


def test_patch_a_segment_answers_it_with_the_revision(alice: Any) -> None:
    t = done_transcript(alice)
    response = patch(client_for(alice), t, 1, text="thanks for having me", speaker="Bob")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revision"] == 1
    assert (body["index"], body["start"], body["end"]) == (1, 3.5, 6.5)
    assert (body["text"], body["speaker"]) == ("thanks for having me", "Bob")
    assert [w["text"] for w in body["words"]] == ["thanks", "for", "having", "me"]
    assert body["words"][0] == {"start": 3.5, "end": 4.3, "text": "thanks", "speaker": "Bob"}
    detail = client_for(alice).get(url(t, "")).json()
    assert detail["text"] == "hello and welcome thanks for having me let us begin now"
    assert detail["result"]["segments"][1]["text"] == "thanks for having me"


def test_split_and_merge(alice: Any) -> None:
    t = done_transcript(alice)
    api = client_for(alice)
    split = post(api, t, "segments/2/split/", {"at": 8.5})
    assert split.status_code == 200, split.content
    assert [(s["index"], s["text"]) for s in split.json()["segments"]] == [
        (2, "let us"),
        (3, "begin now"),
    ]
    assert split.json()["revision"] == 1
    merged = post(api, t, "segments/2/merge/")
    assert merged.status_code == 200, merged.content
    assert [(s["index"], s["text"]) for s in merged.json()["segments"]] == [(2, "let us begin now")]
    assert merged.json()["revision"] == 2
    assert len(rows(t)) == 3


def test_rename_a_speaker_and_replace(alice: Any) -> None:
    t = done_transcript(alice)
    api = client_for(alice)
    renamed = post(api, t, "speakers/rename/", {"from": "speaker_0", "to": "Alice"})
    assert renamed.status_code == 200, renamed.content
    assert renamed.json() == {"renamed": 2, "revision": 1}
    replaced = post(api, t, "replace/", {"find": "E", "replace": "3", "match_case": True})
    assert replaced.json() == {"replaced": 0, "revision": 1}
    replaced = post(api, t, "replace/", {"find": "e", "replace": "3"})
    assert replaced.status_code == 200, replaced.content
    assert replaced.json() == {"replaced": 5, "revision": 2}
    assert rows(t)[0][3] == "h3llo and w3lcom3"


def test_revisions_list_newest_first_with_who_when_what(alice: Any, bob: Any) -> None:
    t = done_transcript(alice)
    editor = user_with(type(alice), "editor", "change_transcript")
    api = client_for(alice)
    assert api.get(url(t, "revisions/")).json() == []
    patch(api, t, 0, text="hi and welcome")
    patch(client_for(editor), t, 0, start=0.5)
    response = api.get(url(t, "revisions/"))
    assert response.status_code == 200, response.content
    listed = response.json()
    assert [(r["number"], r["author"], r["summary"]) for r in listed] == [
        (2, "editor", "Edited segment 0 start"),
        (1, "alice", "Edited segment 0 text"),
        (0, None, "The machine's transcript"),
    ]
    assert listed[0]["changes"] == [{"index": 0, "field": "start", "before": 0.0, "after": 0.5}]
    assert listed[0]["created"] >= listed[1]["created"]
    assert "segments" not in listed[0]
    one = api.get(url(t, "revisions/0/")).json()
    assert one["text"] == "hello and welcome thanks for having let us begin now"
    assert [s["text"] for s in one["segments"]] == [line[2] for line in LINES]
    missing = error(api.get(url(t, "revisions/7/")), 404)
    assert missing["code"] == "no_such_revision"
    assert "revisions are 0 to 2" in missing["detail"]


def test_restore_answers_the_new_revision(alice: Any) -> None:
    t = done_transcript(alice)
    api = client_for(alice)
    patch(api, t, 0, text="hi and welcome")
    response = post(api, t, "revisions/0/restore/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["number"], body["author"], body["summary"]) == (2, "alice", "Restored revision 0")
    assert (body["revision"], body["restored"]) == (2, 0)
    assert body["segments"][0]["text"] == "hello and welcome"
    assert rows(t)[0][3] == "hello and welcome"
    assert error(post(api, t, "revisions/9/restore/"), 404)["code"] == "no_such_revision"


@pytest.mark.parametrize(
    ("tail", "body", "field"),
    [
        ("segments/1/", {"text": ""}, "text"),
        ("segments/1/", {"start": 2.0}, "start"),
        ("segments/1/", {"end": 99}, "end"),
        ("segments/1/", {"start": "12"}, "start"),
        ("segments/1/", {"speaker": "x" * 101}, "speaker"),
        ("segments/1/", {"txt": "typo"}, "txt"),
        ("segments/1/split/", {"at": 99}, "at"),
        ("segments/1/split/", {}, "at"),
        ("segments/0/merge/", {}, "speaker"),
        ("segments/2/merge/", {}, "index"),
        ("speakers/rename/", {"from": "nobody", "to": "x"}, "from"),
        ("speakers/rename/", {"from": "speaker_0"}, "to"),
        ("replace/", {"find": "", "replace": "x"}, "find"),
        ("replace/", {"find": "a", "replace": "b", "match_case": "yes"}, "match_case"),
    ],
)
def test_what_cannot_be_saved_is_a_400_naming_the_field(
    alice: Any, tail: str, body: dict[str, Any], field: str
) -> None:
    t = done_transcript(alice)
    api = client_for(alice)
    sent = api.patch(url(t, tail), body, format="json") if tail == "segments/1/" else None
    response = sent if sent is not None else post(api, t, tail, body)
    problem = error(response, 400)
    assert problem["code"] == "invalid_edit"
    assert problem["field"] == field, problem
    assert not Revision.objects.exists()


def test_an_empty_patch_or_a_body_not_an_object_is_a_400(alice: Any) -> None:
    t = done_transcript(alice)
    api = client_for(alice)
    assert error(patch(api, t, 0), 400)["code"] == "invalid_edit"
    assert error(api.patch(url(t, "segments/0/"), [1, 2], format="json"), 400)["code"] == (
        "invalid_edit"
    )


def test_a_missing_segment_is_a_404(alice: Any) -> None:
    problem = error(patch(client_for(alice), done_transcript(alice), 3, text="hi"), 404)
    assert problem["code"] == "no_such_segment"


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING, Status.FAILED])
def test_a_transcript_not_done_is_a_409(alice: Any, status: str) -> None:
    t = done_transcript(alice, status=status)
    problem = error(patch(client_for(alice), t, 0, text="hi"), 409)
    assert problem["code"] == "wrong_status"
    assert f"is {status}" in problem["detail"]


def test_others_transcripts_are_404_and_viewers_get_403(alice: Any, bob: Any) -> None:
    t = done_transcript(alice)
    assert error(patch(client_for(bob), t, 0, text="hi"), 404)["code"] == "not_found"
    assert error(client_for(bob).get(url(t, "revisions/")), 404)["code"] == "not_found"
    staff = user_with(type(alice), "staff", is_staff=True)
    assert patch(client_for(staff), t, 0, text="hi").status_code == 404
    viewer = user_with(type(alice), "viewer", "view_transcript", is_staff=True)
    assert client_for(viewer).get(url(t, "revisions/")).status_code == 200
    for response in (
        patch(client_for(viewer), t, 0, text="hi"),
        post(client_for(viewer), t, "segments/0/split/", {"at": 1.0}),
        post(client_for(viewer), t, "replace/", {"find": "a", "replace": "b"}),
        post(client_for(viewer), t, "revisions/0/restore/"),
    ):
        problem = error(response, 403)
        assert "django_voxtral.change_transcript" in problem["detail"]
    editor = user_with(type(alice), "editor", "change_transcript", is_staff=True)
    assert patch(client_for(editor), t, 0, text="hi").status_code == 200
    assert not Segment.objects.filter(transcript=t, text="hello and welcome").exists()


def test_anonymous_is_refused(alice: Any) -> None:
    t = done_transcript(alice)
    assert patch(APIClient(), t, 0, text="hi").status_code in (401, 403)
    assert Segment.objects.get(transcript=t, index=0).text == "hello and welcome"


def test_a_session_with_the_csrf_token_may_edit(alice: Any) -> None:
    t = done_transcript(alice)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get(f"/api/transcripts/{t.pk}/revisions/")
    assert page.status_code == 200
    refused = browser.patch(url(t, "segments/0/"), {"text": "hi"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    browser.get("/admin/login/")  # any page that sets the cookie
    token = browser.cookies["csrftoken"].value
    answer = browser.patch(
        url(t, "segments/0/"),
        {"text": "hi there"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["text"] == "hi there"


def test_exports_give_the_current_text_and_the_original_with_original_1(alice: Any) -> None:
    t = done_transcript(alice)
    api = client_for(alice)
    patch(api, t, 1, text="thanks so much for having me")
    for fmt in ("srt", "vtt", "txt", "json"):
        current = api.get(url(t, "") + f"?format={fmt}")
        assert current.status_code == 200, (fmt, current.content)
        assert "thanks so much for having me" in current.content.decode(), fmt
        original = api.get(url(t, "") + f"?format={fmt}&original=1")
        assert original.status_code == 200, (fmt, original.content)
        assert "thanks so much" not in original.content.decode(), fmt
        assert "thanks for having" in original.content.decode(), fmt
        assert f'talk.original.{fmt}"' in original["Content-Disposition"]
    suffixed = api.get(f"/api/transcripts/{t.pk}.srt?revision=0")
    assert "thanks so much" not in suffixed.content.decode()
    assert "thanks so much" in api.get(f"/api/transcripts/{t.pk}.srt?revision=1").content.decode()
    assert error(api.get(f"/api/transcripts/{t.pk}.srt?revision=5"), 404)["code"] == (
        "no_such_revision"
    )
    assert error(api.get(f"/api/transcripts/{t.pk}.srt?revision=x"), 400)["field"] == "revision"


def test_never_edited_the_original_is_the_current_text(alice: Any) -> None:
    t = done_transcript(alice)
    api = client_for(alice)
    assert (
        api.get(f"/api/transcripts/{t.pk}.txt?original=1").content
        == api.get(f"/api/transcripts/{t.pk}.txt").content
    )


def test_the_admins_export_gives_the_original_with_original_1(admin_client: Any) -> None:
    t = done_transcript()
    transcripts.edit_segment(t, 0, text="hi and welcome")
    base = f"/admin/django_voxtral/transcript/{t.pk}/export/txt/"
    assert "hi and welcome" in admin_client.get(base).content.decode()
    assert admin_client.get(base + "?revision=x").status_code == 404
    original = admin_client.get(base + "?original=1")
    assert original.status_code == 200
    assert "hello and welcome" in original.content.decode()
    assert "talk.original.txt" in original["Content-Disposition"]


def test_search_follows_an_api_edit(alice: Any) -> None:
    t = done_transcript(alice)
    patch(client_for(alice), t, 2, text="let us start now")
    hits = client_for(alice).get("/api/search/?q=start").json()["results"]
    assert [(h["transcript"], h["index"]) for h in hits] == [(str(t.pk), 2)]
    assert search.search(alice, "begin") == []


def test_the_schema_documents_the_editing_endpoints(alice: Any) -> None:
    schema = client_for(alice).get("/api/schema/?format=json")
    assert schema.status_code == 200, schema.content[:500]
    paths = schema.json()["paths"]
    segment = next(p for p in paths if p.endswith("/segments/{index}/"))
    assert "patch" in paths[segment]
    for tail in (
        "/segments/{index}/split/",
        "/segments/{index}/merge/",
        "/speakers/rename/",
        "/replace/",
        "/revisions/",
        "/revisions/{number}/",
        "/revisions/{number}/restore/",
    ):
        assert any(p.endswith(tail) for p in paths), tail
