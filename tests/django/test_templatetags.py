"""``{% load voxtral %}``: the player with one captions track per language, and the follow-along.

Templates rendered by Django's engine with a real request; the HTML read back with html.parser.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_voxtral.models import Segment, Transcript
from django_voxtral.templatetags.voxtral import media_element_id
from tests.testapp.models import Clip

pytestmark = pytest.mark.django_db

Status = Transcript.Status
Task = Transcript.Task


class Page(HTMLParser):
    """The elements of a rendered fragment: each start tag with its attributes, scripts' text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: dict[str, str] = {}
        self._script: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "script" and dict(attrs).get("id"):
            self._script = dict(attrs)["id"]

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] = self.scripts.get(self._script, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]

    def one(self, tag: str) -> dict[str, str | None]:
        (found,) = self.all(tag)
        return found


def clip(name: str = "talk.mp4", title: str = "c") -> Clip:
    row = Clip(title=title)
    row.file.save(name, ContentFile(b"\x00" * 64), save=False)
    Clip.objects.bulk_create([row])  # no upload hook runs: transcripts are linked by hand
    return Clip.objects.get(title=title)


def transcript_of(
    obj: Clip,
    owner: Any,
    *,
    status: str = Status.DONE,
    task: str = Task.TRANSCRIBE,
    detected: str = "en",
    asked: str = "",
    segments: tuple[tuple[float, float, str, list[dict[str, Any]]], ...] = (),
) -> Transcript:
    row = Transcript.objects.create(
        owner=owner,
        content_type=ContentType.objects.get_for_model(Clip),
        object_id=str(obj.pk),
        source_field="file",
        media_name=(obj.file.name or "").rsplit("/", 1)[-1],
        status=status,
        task=task,
        detected_language=detected,
        language=asked,
    )
    Segment.objects.bulk_create(
        Segment(transcript=row, index=i, start=start, end=end, text=text, words=words)
        for i, (start, end, text, words) in enumerate(segments)
    )
    return row


def render(source: str, user: Any, rf: Any, **context: Any) -> str:
    request = rf.get("/videos/1/")
    request.user = user
    return Template("{% load voxtral %}" + source).render(Context({"request": request, **context}))


def captions(row: Transcript) -> str:
    return reverse("django_voxtral:transcript-captions", args=[row.pk])


def media(row: Transcript) -> str:
    return reverse("django_voxtral:transcript-media", args=[row.pk])


def test_a_video_with_one_track_per_language_and_the_translation(alice: Any, rf: Any) -> None:
    video = clip("talk.mp4")
    older_en = transcript_of(video, alice, detected="en")
    french = transcript_of(video, alice, detected="fr")
    english = transcript_of(video, alice, detected="en")  # newer than older_en: it wins
    asked = transcript_of(video, alice, detected="", asked="de")
    translation = transcript_of(video, alice, task=Task.TRANSLATE, detected="fr")
    transcript_of(video, alice, status=Status.RUNNING, detected="es")
    transcript_of(video, alice, status=Status.FAILED, detected="it")

    page = Page(render("{% voxtral_player video %}", alice, rf, video=video))
    player = page.one("video")
    assert player["id"] == media_element_id(video) == f"voxtral-testapp-clip-{video.pk}"
    assert player["src"] == media(translation), "the newest done transcript's media URL"
    assert player["preload"] == "metadata" and "controls" in player and "playsinline" in player
    assert not page.all("audio")
    tracks = page.all("track")
    assert [(t["kind"], t["src"], t["srclang"], t["label"]) for t in tracks] == [
        ("captions", captions(asked), "de", "German"),
        ("captions", captions(english), "en", "English"),
        ("captions", captions(french), "fr", "French"),
        ("captions", captions(translation), "en", "English (translation)"),
    ]
    assert captions(older_en) not in {t["src"] for t in tracks}
    assert ["default" in t for t in tracks] == [True, False, False, False]


def test_a_translation_alone_is_the_default_track(alice: Any, rf: Any) -> None:
    video = clip("talk.mov")
    translation = transcript_of(video, alice, task=Task.TRANSLATE, detected="")
    unknown = transcript_of(video, alice, detected="", asked="")
    page = Page(render("{% voxtral_player video %}", alice, rf, video=video))
    tracks = page.all("track")
    assert [(t["src"], t["srclang"], t["label"], "default" in t) for t in tracks] == [
        (captions(unknown), "und", "Captions", True),
        (captions(translation), "en", "English (translation)", False),
    ]
    transcript_of(video, alice, detected="xx")  # a code Django does not know: its own label
    labels = [
        t["label"]
        for t in Page(render("{% voxtral_player video %}", alice, rf, video=video)).all("track")
    ]
    assert labels == ["xx", "Captions", "English (translation)"]


def test_audio_by_the_files_name_and_the_options(alice: Any, rf: Any) -> None:
    song = clip("song.mp3")
    row = transcript_of(song, alice)
    html = render(
        '{% voxtral_player song "file" css_class=klass controls=False preload="none" %}',
        alice,
        rf,
        song=song,
        klass='wide "<x>',
    )
    page = Page(html)
    player = page.one("audio")
    assert not page.all("video")
    assert player["src"] == media(row)
    assert player["class"] == "voxtral-media"
    wrapper = page.all("div")[0]
    assert wrapper["class"] == 'voxtral-player wide "<x>' and "wide &quot;&lt;x&gt;" in html
    assert "controls" not in player and player["preload"] == "none"
    assert player["id"] == f"voxtral-testapp-clip-{song.pk}-file"
    assert page.one("track")["default"] is None  # present, valueless
    forced = Page(render('{% voxtral_player song element="video" %}', alice, rf, song=song))
    assert forced.one("video")["src"] == media(row)


def test_no_done_transcript_no_tracks(alice: Any, rf: Any) -> None:
    video = clip("talk.webm")
    running = transcript_of(video, alice, status=Status.RUNNING)
    page = Page(render("{% voxtral_player video transcript=True %}", alice, rf, video=video))
    assert page.one("video")["src"] == media(running), "it plays while it is transcribed"
    assert page.all("track") == [] and page.all("script") == []


def test_what_the_request_may_not_fetch_is_not_shown(alice: Any, bob: Any, rf: Any) -> None:
    video = clip("talk.mp4")
    transcript_of(video, alice, segments=((0.0, 1.0, "Private words.", []),))
    for user in (bob, AnonymousUser()):
        html = render("{% voxtral_player video transcript=True %}", user, rf, video=video)
        page = Page(html)
        assert page.one("video")["src"] == video.file.url, "the site's own URL, its own rule"
        assert page.all("track") == [] and "Private" not in html
        assert render("{% voxtral_transcript video %}", user, rf, video=video).strip() == ""


def test_nothing_without_a_file_or_a_transcript(alice: Any, rf: Any) -> None:
    Clip.objects.create(title="empty")
    empty = Clip.objects.get(title="empty")
    assert render("{% voxtral_player v %}", alice, rf, v=empty).strip() == ""


def test_the_follow_along_beside_the_player(alice: Any, rf: Any) -> None:
    video = clip("talk.mp4")
    words = [
        {"text": "Hello", "start": 0.123456, "end": 0.5, "speaker": "speaker_0"},
        {"text": "</script><b>", "start": 0.5, "end": 0.9},
    ]
    row = transcript_of(
        video,
        alice,
        segments=(
            (0.0, 1.0, "Hello </script><b>", words),
            (1.25, 2.0, "Second & last.", []),
        ),
    )
    Segment.objects.filter(transcript=row, index=1).update(speaker="speaker_1")
    html = render("{% voxtral_player video transcript=True %}", alice, rf, video=video)
    page = Page(html)
    media_id = page.one("video")["id"]
    follow = next(a for t, a in page.elements if t == "div" and "data-voxtral-follow" in a)
    assert follow["class"] == "voxtral-follow"
    assert follow["data-voxtral-media"] == media_id
    assert follow["id"] == f"{media_id}-follow"
    assert follow["data-voxtral-data"] == f"{media_id}-follow-data"
    assert follow["lang"] == "en"
    data = json.loads(page.scripts[f"{media_id}-follow-data"])
    assert [
        (s["index"], s["start"], s["end"], s["text"], s["speaker"]) for s in data["segments"]
    ] == [(0, 0.0, 1.0, "Hello </script><b>", ""), (1, 1.25, 2.0, "Second & last.", "speaker_1")]
    assert data["segments"][0]["words"] == [
        {"text": "Hello", "start": 0.123, "end": 0.5},
        {"text": "</script><b>", "start": 0.5, "end": 0.9},
    ]
    assert "</script><b>" not in html, "json_script and autoescape keep the text inert"
    scripts = [a["src"] for a in page.all("script") if a.get("src")]
    assert scripts == [f"{settings.STATIC_URL}django_voxtral/follow.js"]
    assert "defer" in page.all("script")[-1]
    (style,) = page.all("link")
    assert style["href"] == f"{settings.STATIC_URL}django_voxtral/follow.css"


def test_the_transcript_tag_alone_and_its_language(alice: Any, rf: Any) -> None:
    video = clip("talk.mp4")
    transcript_of(video, alice, detected="en", segments=((0.0, 1.0, "Hello.", []),))
    transcript_of(video, alice, detected="fr", segments=((0.0, 1.0, "Bonjour.", []),))
    page = Page(render("{% voxtral_transcript video %}", alice, rf, video=video))
    follow = next(a for t, a in page.elements if t == "div")
    assert follow["data-voxtral-media"] == media_element_id(video)
    assert follow["lang"] == "fr", "the default track's: the newest transcription"
    html = render(
        '{% voxtral_transcript video language="en" media_id="my-player" %}',
        alice,
        rf,
        video=video,
    )
    page = Page(html)
    follow = next(a for t, a in page.elements if t == "div")
    assert (follow["lang"], follow["data-voxtral-media"]) == ("en", "my-player")
    assert json.loads(page.scripts["my-player-follow-data"])["segments"][0]["text"] == "Hello."


def test_a_custom_hook_opens_the_player_to_the_logged_out(alice: Any, rf: Any) -> None:
    video = clip("talk.mp4")
    row = transcript_of(video, alice)
    hook = {**settings.VOXTRAL, "MEDIA_ACCESS": lambda request, transcript: True}
    with override_settings(VOXTRAL=hook):
        page = Page(render("{% voxtral_player video %}", AnonymousUser(), rf, video=video))
    assert page.one("video")["src"] == media(row)
    assert page.one("track")["src"] == captions(row)


def test_queries_do_not_grow_with_the_transcripts(alice: Any, rf: Any) -> None:
    video = clip("talk.mp4")
    for language in ("en", "fr", "de", "es", "it"):
        transcript_of(video, alice, detected=language)
    render("{% voxtral_player video %}", alice, rf, video=video)  # content types cached
    with CaptureQueriesContext(connection) as queries:
        page = Page(render("{% voxtral_player video %}", alice, rf, video=video))
    assert len(page.all("track")) == 5
    assert len(queries) <= 3, [q["sql"] for q in queries]


def test_errors_say_what_to_do(alice: Any, rf: Any) -> None:
    video = clip("talk.mp4")
    with pytest.raises(TemplateSyntaxError, match=r"context_processors\.request"):
        Template("{% load voxtral %}{% voxtral_player video %}").render(Context({"video": video}))
    with pytest.raises(TemplateSyntaxError, match="saved model instance"):
        render("{% voxtral_player video %}", alice, rf, video="not a model")
    with pytest.raises(TemplateSyntaxError, match="preload"):
        render('{% voxtral_player video preload="all" %}', alice, rf, video=video)
    with pytest.raises(TemplateSyntaxError, match="video or audio"):
        render('{% voxtral_player video element="img" %}', alice, rf, video=video)
