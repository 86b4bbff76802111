"""Full-text search over segments (django_voxtral/search.py) and GET /api/search/.

Runs on SQLite (FTS5) in the main run and on PostgreSQL in make test's second run; asserts that
depend on the database say so.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework.test import APIClient

from django_voxtral import search
from django_voxtral.models import Segment, Transcript
from tests.fixtures_api import client_for

pytestmark = pytest.mark.django_db

Status = Transcript.Status


def transcript(owner: Any, *texts: str, status: str = Status.DONE, **fields: Any) -> Transcript:
    t = Transcript.objects.create(owner=owner, status=status, media_name="talk.mp4", **fields)
    Segment.objects.bulk_create(
        Segment(transcript=t, index=i, start=2.0 * i, end=2.0 * i + 1.5, text=text)
        for i, text in enumerate(texts)
    )
    return t


def found(user: Any, query: str, **kwargs: Any) -> list[tuple[Any, int]]:
    return [(hit.transcript_id, hit.index) for hit in search.search(user, query, **kwargs)]


def test_the_backend_follows_the_database() -> None:
    assert search.backend() == {"sqlite": "sqlite", "postgresql": "postgresql"}.get(
        connection.vendor, "fallback"
    )


def test_hits_are_ranked_and_highlighted(alice: Any) -> None:
    t = transcript(
        alice,
        "Nothing to see here.",
        "The budget was discussed, then the weather.",
        "Budget, budget, budget: the budget again and the budget.",
    )
    hits = search.search(alice, "budget")
    assert [(h.transcript_id, h.index) for h in hits] == [(t.pk, 2), (t.pk, 1)]
    assert hits[0].rank > hits[1].rank
    assert "<mark>budget</mark>" in hits[1].snippet.lower()
    assert "weather" in hits[1].snippet
    assert (hits[1].start, hits[1].end, hits[1].media_name) == (2.0, 3.5, "talk.mp4")


def test_every_word_must_match(alice: Any) -> None:
    t = transcript(alice, "red apples", "green apples", "red cars")
    assert found(alice, "red apples") == [(t.pk, 0)]


def test_the_snippet_escapes_the_text(alice: Any) -> None:
    transcript(alice, 'He said <script>alert("x")</script> & left; the alarm rang.')
    (hit,) = search.search(alice, "alarm")
    assert "<script>" not in hit.snippet
    assert "&lt;/script&gt;" in hit.snippet
    assert "&amp;" in hit.snippet
    assert "<mark>alarm</mark>" in hit.snippet
    assert hit.snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_text_holding_the_markers_is_not_highlighted_wrongly(alice: Any) -> None:
    transcript(alice, "odd \ue000 private \ue001 characters around the alarm")
    (hit,) = search.search(alice, "alarm")
    assert "\ue000" not in hit.snippet and "\ue001" not in hit.snippet


def test_owners_see_their_own_and_the_permission_opens_all(alice: Any, bob: Any) -> None:
    mine = transcript(alice, "the quarterly budget")
    theirs = transcript(bob, "the yearly budget")
    transcript(None, "an ownerless budget")
    assert found(alice, "budget") == [(mine.pk, 0)]
    assert found(bob, "budget") == [(theirs.pk, 0)]

    bob.user_permissions.add(Permission.objects.get(codename="view_transcript"))
    bob = type(bob).objects.get(pk=bob.pk)  # permissions are cached on the instance
    assert len(found(bob, "budget")) == 3


def test_anonymous_and_inactive_users_find_nothing(alice: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    transcript(alice, "the budget")
    assert found(AnonymousUser(), "budget") == []
    alice.is_active = False
    assert found(alice, "budget") == []


def test_only_done_transcripts(alice: Any) -> None:
    done = transcript(alice, "budget done")
    for status in (Status.QUEUED, Status.RUNNING, Status.FAILED, Status.CANCELED):
        transcript(alice, f"budget {status}", status=status)
    assert found(alice, "budget") == [(done.pk, 0)]


def test_a_retranscription_leaves_no_stale_hits(alice: Any) -> None:
    t = transcript(alice, "the old words about elephants", "more elephants")
    assert len(found(alice, "elephants")) == 2
    # What the runner's _save_result does: the segments deleted and made again.
    t.segments.all().delete()
    Segment.objects.bulk_create(
        [Segment(transcript=t, index=0, start=0.0, end=1.0, text="new words about giraffes")]
    )
    search.reindex(t)
    assert found(alice, "elephants") == []
    assert found(alice, "giraffes") == [(t.pk, 0)]


def test_an_edited_segment_is_found_by_its_new_words(alice: Any) -> None:
    t = transcript(alice, "a typo: bugdet")
    segment = t.segments.get()
    segment.text = "fixed: budget"
    segment.save()
    assert found(alice, "bugdet") == []
    assert found(alice, "budget") == [(t.pk, 0)]


def test_a_deleted_transcript_leaves_no_hits(alice: Any) -> None:
    t = transcript(alice, "the budget")
    t.delete()
    assert found(alice, "budget") == []


def test_case_is_ignored(alice: Any) -> None:
    t = transcript(alice, "The BUDGET Committee")
    assert found(alice, "budget committee") == [(t.pk, 0)]


def test_accents(alice: Any) -> None:
    t = transcript(alice, "Un café crème à Montréal", language="fr")
    assert found(alice, "CAFÉ") == [(t.pk, 0)]
    if connection.vendor == "sqlite":
        # unicode61 with remove_diacritics 2: accents ignored both ways.
        assert found(alice, "cafe montreal") == [(t.pk, 0)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's configurations")
def test_postgresql_stems_in_the_transcripts_language(alice: Any) -> None:
    english = transcript(alice, "The runners were running fast", detected_language="en")
    french = transcript(alice, "Les chevaux couraient vite", language="fr")
    translated = transcript(alice, "The horses were running", language="fr", task="translate")
    assert (english.pk, 0) in found(alice, "run")
    assert (translated.pk, 0) in found(alice, "run")
    assert found(alice, "cheval") == [(french.pk, 0)]
    # English stop words are not needed to match an English segment.
    assert found(alice, "the runners") == [(english.pk, 0)]


def test_a_language_change_is_reindexed(alice: Any) -> None:
    t = transcript(alice, "Les chevaux couraient")
    Transcript.objects.filter(pk=t.pk).update(detected_language="fr")
    search.reindex(t)
    assert found(alice, "chevaux") == [(t.pk, 0)]
    if connection.vendor == "postgresql":
        assert found(alice, "cheval") == [(t.pk, 0)]


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "budget*",
        "NEAR(budget",
        "NEAR(a b)",
        "-budget",
        "a OR b",
        "AND",
        "NOT",
        "(",
        ")",
        "^budget",
        "budget:",
        "col:budget",
        "{text}: x",
        "'",
        "\\",
        "\x00budget",
        "%",
        "budget -",
        "- - -",
        "é",
        "+",
        "<mark>",
        'a"b',
        "!!!",
        "&&&",
    ],
)
def test_queries_with_syntax_characters_never_error(alice: Any, query: str) -> None:
    transcript(alice, "the budget, near the end")
    hits = search.search(alice, query)
    assert isinstance(hits, list)


def test_an_empty_query_finds_nothing(alice: Any) -> None:
    transcript(alice, "the budget")
    assert found(alice, "") == []
    assert found(alice, "   ") == []
    assert found(alice, '- * "') == []


def test_limit_and_offset(alice: Any) -> None:
    transcript(alice, *[f"budget line {i}" for i in range(7)])
    all_hits = found(alice, "budget")
    assert len(all_hits) == 7
    assert found(alice, "budget", limit=3) == all_hits[:3]
    assert found(alice, "budget", limit=3, offset=3) == all_hits[3:6]
    assert found(alice, "budget", limit=0) == []


def test_fts5_queries_are_quoted_terms() -> None:
    assert search.fts5_query('say "hi" NEAR(x') == '"say" """hi""" "NEAR(x"'
    assert search.fts5_query(" - * ") == ""


# The API


def test_the_api_gives_hits_with_links(api: APIClient, alice: Any) -> None:
    t = transcript(alice, "nothing", "the <b>budget</b> at last")
    response = api.get("/api/search/", {"q": "budget"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None and body["previous"] is None
    (hit,) = body["results"]
    assert set(hit) == {
        "transcript",
        "index",
        "start",
        "end",
        "snippet",
        "media_name",
        "url",
        "api_url",
    }
    assert hit["transcript"] == str(t.pk)
    assert (hit["index"], hit["start"], hit["end"]) == (1, 2.0, 3.5)
    assert "<mark>budget</mark>" in hit["snippet"] and "&lt;b&gt;" in hit["snippet"]
    assert hit["media_name"] == "talk.mp4"
    assert hit["api_url"] == f"http://testserver/api/transcripts/{t.pk}/"
    # An owner without the view permission on others' reads it on the transcript's own page.
    assert hit["url"] == f"http://testserver/transcripts/{t.pk}/?t=2"


def test_the_api_pages(api: APIClient, alice: Any) -> None:
    from django_voxtral.api.search_views import PAGE_SIZE

    transcript(alice, *[f"budget {i}" for i in range(PAGE_SIZE + 2)])
    first = api.get("/api/search/", {"q": "budget"}).json()
    assert len(first["results"]) == PAGE_SIZE and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    assert second["previous"] is not None and "page" not in second["previous"]
    seen = {r["index"] for r in first["results"]} | {r["index"] for r in second["results"]}
    assert len(seen) == PAGE_SIZE + 2


def test_the_api_is_owner_scoped(bob: Any, alice: Any) -> None:
    transcript(alice, "alice's budget")
    response = client_for(bob).get("/api/search/", {"q": "budget"})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 201}])
def test_the_api_needs_a_short_q(api: APIClient, params: dict[str, str]) -> None:
    response = api.get("/api/search/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "q" and "q" in body["detail"]


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5"])
def test_the_api_refuses_a_bad_page(api: APIClient, page: str) -> None:
    response = api.get("/api/search/", {"q": "budget", "page": page})
    assert response.status_code == 400
    assert response.json()["field"] == "page"


def test_the_api_takes_200_characters(api: APIClient) -> None:
    assert api.get("/api/search/", {"q": "x" * 200}).status_code == 200


def test_anonymous_is_401() -> None:
    response = APIClient().get("/api/search/", {"q": "budget"})
    assert response.status_code == 401
