"""The admin's "Search transcripts" page and the API's hit links: who sees which hit, and where.

The test client against the real admin and search index (SQLite FTS5 here, PostgreSQL with
DATABASE_URL); never a hit asserted that the user may not see.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from django_voxtral.admin.search_page import PAGE_SIZE
from django_voxtral.models import Segment, Transcript
from tests.fixtures_api import client_for

pytestmark = pytest.mark.django_db

SEARCH = "admin:django_voxtral_transcript_search"
WORKSPACE = "admin:django_voxtral_transcript_workspace"
Status = Transcript.Status


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def transcript(
    owner: Any, name: str, *texts: str, status: str = Status.DONE, start: float = 0.0
) -> Transcript:
    t = Transcript.objects.create(owner=owner, status=status, media_name=name)
    Segment.objects.bulk_create(
        Segment(transcript=t, index=i, start=start + 2.0 * i, end=start + 2.0 * i + 1.5, text=text)
        for i, text in enumerate(texts)
    )
    return t


def staff(django_user_model: Any, username: str, *perms: str) -> Any:
    user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="django_voxtral")
        )
    return user


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass(frozen=True)
class Row:
    name: str
    url: str
    time: str
    snippet: str


_ROW = re.compile(
    r'<tr class="voxtral-hit">\s*<td><a href="(?P<url>[^"]*)">(?P<name>[^<]*)</a></td>\s*'
    r'<td><a href="[^"]*" class="voxtral-hit-time"[^>]*>(?P<time>[^<]*)</a></td>\s*'
    r'<td class="voxtral-snippet">(?P<snippet>.*?)</td>',
    re.S,
)


def rows(response: Any) -> list[Row]:
    assert response.status_code == 200, response.content[:500]
    page = response.content.decode()
    return [
        Row(html.unescape(m["name"]), html.unescape(m["url"]), m["time"], m["snippet"])
        for m in _ROW.finditer(page)
    ]


def searched(client: Client, q: str, **params: str) -> Any:
    return client.get(reverse(SEARCH), {"q": q, **params})


def at(transcript: Transcript, t: str) -> str:
    return reverse(WORKSPACE, args=[transcript.pk]) + f"?t={t}"


def test_the_change_list_links_to_the_page(admin_client: Client) -> None:
    assert reverse(SEARCH) == "/admin/django_voxtral/transcript/search/"
    page = admin_client.get(reverse("admin:django_voxtral_transcript_changelist")).content
    assert f'href="{reverse(SEARCH)}" class="voxtral-search-link"'.encode() in page
    empty = admin_client.get(reverse(SEARCH))
    assert empty.status_code == 200
    assert b'name="q"' in empty.content and rows(empty) == []


def test_hits_link_to_the_workspace_at_their_moment(
    django_user_model: Any, admin_user: Any
) -> None:
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    mine = transcript(alice, "board.mp4", "Hello all.", "The <b>budget</b> is & was tight.")
    theirs = transcript(bob, "late.mp4", "budget", start=3725.4)
    transcript(bob, "waiting.mp4", "budget talk", status=Status.RUNNING)
    viewer = staff(django_user_model, "viewer", "view_transcript")

    found = rows(searched(logged_in(viewer), "BUDGET"))
    assert {row.name for row in found} == {"board.mp4", "late.mp4"}, "done ones only"
    by_name = {row.name: row for row in found}
    assert by_name["board.mp4"].url == at(mine, "2")
    assert by_name["board.mp4"].time == "0:00:02"
    assert by_name["late.mp4"].url == at(theirs, "3725.4")
    assert by_name["late.mp4"].time == "1:02:05"
    snippet = by_name["board.mp4"].snippet
    assert "<mark>budget</mark>" in snippet
    assert "&lt;b&gt;" in snippet and "<b>" not in snippet, "the text is escaped"
    assert "&amp;" in snippet
    # The superuser sees the same.
    assert rows(searched(logged_in(admin_user), "budget")) == found


def test_staff_without_the_permission_see_only_their_own(django_user_model: Any) -> None:
    owner = staff(django_user_model, "owner")
    other = django_user_model.objects.create_user("other")
    own = transcript(owner, "mine.mp4", "the budget of the club")
    transcript(other, "secret.mp4", "the budget of the secret plan")

    response = searched(logged_in(owner), "budget")
    found = rows(response)
    assert [row.name for row in found] == ["mine.mp4"]
    assert "secret" not in response.content.decode()
    # links.page_url: their own page, since the admin's workspace is for those who may view all.
    assert found[0].url == reverse("django_voxtral:transcript-page", kwargs={"pk": own.pk}) + "?t=0"
    # The change list is not theirs: no link to it in the breadcrumbs.
    changelist = reverse("admin:django_voxtral_transcript_changelist")
    assert changelist not in response.content.decode()


def test_only_staff_reach_the_page(client: Client, django_user_model: Any) -> None:
    transcript(None, "talk.mp4", "budget")
    anonymous = searched(client, "budget")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    member = django_user_model.objects.create_user("member", password="pw")
    refused = searched(logged_in(member), "budget")
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]


def test_pages_of_hits(admin_client: Client, admin_user: Any) -> None:
    transcript(admin_user, "long.mp4", *[f"budget line {i}" for i in range(PAGE_SIZE + 2)])
    first = searched(admin_client, "budget")
    assert len(rows(first)) == PAGE_SIZE
    text = first.content.decode()
    assert 'rel="prev"' not in text
    assert f'href="{reverse(SEARCH)}?q=budget&amp;page=2" rel="next"' in text
    second = searched(admin_client, "budget", page="2")
    assert len(rows(second)) == 2
    text = second.content.decode()
    assert f'href="{reverse(SEARCH)}?q=budget" rel="prev"' in text
    assert 'rel="next"' not in text
    assert {r.url for r in rows(first)}.isdisjoint({r.url for r in rows(second)})
    # A page that is not a number is the first; one past the end says so.
    assert rows(searched(admin_client, "budget", page="x")) == rows(first)
    beyond = searched(admin_client, "budget", page="9")
    assert rows(beyond) == [] and "No more segments match" in beyond.content.decode()


def test_nothing_found_and_too_long(admin_client: Client, admin_user: Any) -> None:
    transcript(admin_user, "talk.mp4", "budget")
    nothing = searched(admin_client, "weather")
    assert rows(nothing) == []
    assert "No segment of a done transcript you may see says" in nothing.content.decode()
    long = searched(admin_client, "budget " * 40)
    assert rows(long) == []
    assert "search with at most 200" in long.content.decode()
    # What was typed comes back in the box, escaped.
    odd = searched(admin_client, '"><script>x</script>')
    assert "<script>x" not in odd.content.decode()


def test_the_api_hit_url_is_the_page_for_that_user(django_user_model: Any, admin_user: Any) -> None:
    owner = django_user_model.objects.create_user("owner")
    t = transcript(owner, "talk.mp4", "hello", "the budget")
    viewer = staff(django_user_model, "viewer", "view_transcript")
    for user, page in (
        (owner, reverse("django_voxtral:transcript-page", kwargs={"pk": t.pk}) + "?t=2"),
        (viewer, at(t, "2")),
        (admin_user, at(t, "2")),
    ):
        (hit,) = client_for(user).get("/api/search/", {"q": "budget"}).json()["results"]
        assert hit["url"] == f"http://testserver{page}", user
        assert hit["api_url"] == f"http://testserver/api/transcripts/{t.pk}/"
    # A user with neither the permission nor the transcript finds nothing of it.
    stranger = django_user_model.objects.create_user("stranger")
    assert client_for(stranger).get("/api/search/", {"q": "budget"}).json()["results"] == []
