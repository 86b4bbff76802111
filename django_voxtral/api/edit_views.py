"""Editing a done transcript through the API: a segment's text, times and speaker, splits, merges,
speaker renames, find and replace, and the revisions (list, read, restore).

The rules are editing.py's, reached through transcripts.py; never change a segment here, and never
judge who may act other than through permissions.py.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from .. import editing, transcripts
from ..models import SPEAKER_MAX_LENGTH, Revision, Transcript
from ..permissions import TranscriptPermission, visible_or_404
from .base import VoxtralAPIView, documented
from .errors import InvalidField
from .serializers import ErrorSerializer

# -- what the endpoints take and answer (for the schema; editing.py checks the values) --------


class SegmentEditSerializer(serializers.Serializer[Any]):
    """PATCH a segment: any of these; a field left out stays as it is."""

    text = serializers.CharField(
        required=False,
        max_length=editing.MAX_SEGMENT_TEXT,
        help_text="The segment's new text (not empty). Words kept keep their times; new ones "
        "are spread over the gap between their unchanged neighbours.",
    )
    start = serializers.FloatField(
        required=False,
        help_text="Seconds; not before 0, before end, not moved into the previous segment.",
    )
    end = serializers.FloatField(
        required=False,
        help_text="Seconds; after start, not past the media's end or into the next segment.",
    )
    speaker = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SPEAKER_MAX_LENGTH,
        help_text="Who speaks (empty: unknown).",
    )


class EditedSegmentSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    start = serializers.FloatField()
    end = serializers.FloatField()
    text = serializers.CharField()
    speaker = serializers.CharField(help_text="Empty when unknown.")
    words = serializers.ListField(
        child=serializers.DictField(),
        help_text="{start, end, text, speaker?} per word, when the service gave word times.",
    )


class SegmentAnswerSerializer(EditedSegmentSerializer):
    revision = serializers.IntegerField(
        allow_null=True,
        help_text="The revision this edit saved (the newest one when nothing changed; null "
        "when the transcript was never edited).",
    )


class SplitSerializer(serializers.Serializer[Any]):
    at = serializers.FloatField(
        required=False, help_text="The time to cut at, in seconds, strictly inside the segment."
    )
    word = serializers.IntegerField(
        required=False,
        help_text="Instead of at: the number of the word (from 0) that starts the second half.",
    )


class SegmentsAnswerSerializer(serializers.Serializer[Any]):
    segments = EditedSegmentSerializer(many=True, help_text="The segments the edit made.")
    revision = serializers.IntegerField(allow_null=True)


#: POST speakers/rename/ ("from" is a Python keyword, so not a class attribute).
RENAME_BODY = inline_serializer(
    "SpeakerRename",
    {
        "from": serializers.CharField(
            help_text="The speaker to rename, as the segments have it (e.g. speaker_0)."
        ),
        "to": serializers.CharField(max_length=SPEAKER_MAX_LENGTH, help_text="The new name."),
    },
)


class RenameAnswerSerializer(serializers.Serializer[Any]):
    renamed = serializers.IntegerField(help_text="How many segments had the speaker.")
    revision = serializers.IntegerField(allow_null=True)


class ReplaceSerializer(serializers.Serializer[Any]):
    find = serializers.CharField(max_length=editing.MAX_FIND_LENGTH)
    replace = serializers.CharField(
        max_length=editing.MAX_FIND_LENGTH, allow_blank=True, help_text="May be empty."
    )
    match_case = serializers.BooleanField(required=False, default=False)


class ReplaceAnswerSerializer(serializers.Serializer[Any]):
    replaced = serializers.IntegerField(help_text="How many places were replaced.")
    revision = serializers.IntegerField(
        allow_null=True, help_text="The revision saved; the newest one when nothing was found."
    )


class ChangeSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(
        allow_null=True, help_text="The segment; null for a change to the whole transcript."
    )
    field = serializers.CharField(
        help_text="text, start, end, speaker, split, merge, or segment (one added or removed)."
    )
    before = serializers.JSONField()
    after = serializers.JSONField()


class RevisionSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField(help_text="0 is the machine's transcript.")
    author = serializers.CharField(
        allow_null=True, help_text="The username of who saved it; null for revision 0."
    )
    created = serializers.DateTimeField()
    summary = serializers.CharField()
    changes = ChangeSerializer(many=True)


class RevisionDetailSerializer(RevisionSerializer):
    text = serializers.CharField(help_text="The transcript's text in this revision.")
    segments = EditedSegmentSerializer(many=True)


class RestoredSerializer(RevisionDetailSerializer):
    revision = serializers.IntegerField(
        help_text="The new revision's number (as number; the newest one when nothing differed)."
    )
    restored = serializers.IntegerField(help_text="The revision restored.")


def revision_data(revision: Revision, state: editing.SavedState | None = None) -> dict[str, Any]:
    """A revision as the API answers it; with ``state`` (what it left: editing.state_at) also
    its text and segments."""
    author = revision.author
    data: dict[str, Any] = {
        "number": revision.number,
        "author": None if author is None else author.get_username(),
        "created": serializers.DateTimeField().to_representation(revision.created),
        "summary": revision.summary,
        "changes": revision.changes,
    }
    if state is not None:
        data["text"] = state.text
        data["segments"] = state.segments
    return data


# -- the views --------------------------------------------------------------------------------

_ERRORS: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(
        ErrorSerializer,
        description="The edit cannot be saved as asked (code invalid_edit, field named)",
    ),
    403: OpenApiResponse(ErrorSerializer, description="You may see it but not change it"),
    404: OpenApiResponse(
        ErrorSerializer,
        description="No such transcript (or not yours), segment (no_such_segment) or revision "
        "(no_such_revision)",
    ),
    409: OpenApiResponse(ErrorSerializer, description="The transcript is not done"),
}


class EditView(VoxtralAPIView):
    """What the editing endpoints share: JSON bodies, the transcript judged by permissions.py."""

    parser_classes = (JSONParser,)
    renderer_classes = (JSONRenderer, BrowsableAPIRenderer)
    upload_methods = frozenset()
    permission_classes = (*VoxtralAPIView.permission_classes, TranscriptPermission)
    #: The fields the body may hold.
    body_fields: tuple[str, ...] = ()

    def get_throttles(self) -> list[BaseThrottle]:
        return []  # edits are small writes by people, not uploads

    def transcript(self, request: Request, pk: Any) -> Transcript:
        """The transcript if the user may see it (else 404) and, unless the request only reads
        (GET), change it (403 naming the permission: TranscriptPermission's rule)."""
        transcript = visible_or_404(request.user, Transcript.objects.all(), pk=pk)
        self.check_object_permissions(request, transcript)
        return transcript

    def body(self, request: Request) -> dict[str, Any]:
        data = request.data
        if not isinstance(data, dict):
            raise InvalidField(
                f"Send a JSON object with {', '.join(self.body_fields)}.", code="invalid_edit"
            )
        unknown = [name for name in data if name not in self.body_fields]
        if unknown:
            raise InvalidField(
                f"{unknown[0]} is not a field of this request: send {', '.join(self.body_fields)}.",
                field=str(unknown[0]),
                code="invalid_edit",
            )
        return dict(data)


class SegmentView(EditView):
    body_fields = ("text", "start", "end", "speaker")

    @documented(
        summary="Edit one segment",
        description="Changes a done transcript's segment: its text, start, end or speaker "
        "(any of them; a field left out stays). Words kept keep their times, new ones are "
        "spread between their unchanged neighbours. Each change is saved as a revision (the "
        "first edit also keeps the machine's transcript as revision 0); the search index and "
        "the exports follow. Your own, or others' with django_voxtral.change_transcript.",
        request=SegmentEditSerializer,
        responses={200: SegmentAnswerSerializer, **_ERRORS},
    )
    def patch(self, request: Request, pk: Any, index: int) -> Response:
        transcript = self.transcript(request, pk)
        body = self.body(request)
        if not body:
            raise InvalidField(
                "Send at least one of text, start, end or speaker.", code="invalid_edit"
            )
        edited = transcripts.edit_segment(transcript, index, author=request.user, **body)
        (segment,) = edited.segments
        return Response({**segment, "revision": edited.latest})


class SplitView(EditView):
    body_fields = ("at", "word")

    @documented(
        summary="Split a segment in two",
        description="Cuts the segment at `at` seconds (strictly inside it; the words said "
        "before go first), or before word number `word`. The segments after it move up one "
        "index. Saved as a revision.",
        request=SplitSerializer,
        responses={200: SegmentsAnswerSerializer, **_ERRORS},
    )
    def post(self, request: Request, pk: Any, index: int) -> Response:
        transcript = self.transcript(request, pk)
        body = self.body(request)
        edited = transcripts.split_segment(
            transcript, index, at=body.get("at"), word=body.get("word"), author=request.user
        )
        return Response({"segments": edited.segments, "revision": edited.latest})


class MergeView(EditView):
    @documented(
        summary="Merge a segment with the next one",
        description="One segment from the first's start to the second's end, texts and words "
        "joined; the segments after them move down one index. The two must have the same "
        "speaker (400 with field speaker otherwise). Saved as a revision.",
        request=None,
        responses={200: SegmentsAnswerSerializer, **_ERRORS},
    )
    def post(self, request: Request, pk: Any, index: int) -> Response:
        transcript = self.transcript(request, pk)
        self.body(request)
        edited = transcripts.merge_segments(transcript, index, author=request.user)
        return Response({"segments": edited.segments, "revision": edited.latest})


class RenameSpeakerView(EditView):
    body_fields = ("from", "to")

    @documented(
        summary="Rename a speaker everywhere",
        description="Every segment and word with the speaker `from` gets `to` (an existing "
        "speaker's name joins the two). One revision.",
        request=RENAME_BODY,
        responses={200: RenameAnswerSerializer, **_ERRORS},
    )
    def post(self, request: Request, pk: Any) -> Response:
        transcript = self.transcript(request, pk)
        body = self.body(request)
        edited = transcripts.rename_speaker(
            transcript, body.get("from", ""), body.get("to", ""), author=request.user
        )
        return Response({"renamed": len(edited.segments), "revision": edited.latest})


class ReplaceView(EditView):
    body_fields = ("find", "replace", "match_case")

    @documented(
        summary="Find and replace across the transcript",
        description="Replaces every `find` in the segments' texts with `replace`, literally "
        "(no patterns), ignoring case unless `match_case`. The changed segments' words keep "
        "their times where they are the same words. One revision; none when nothing is found.",
        request=ReplaceSerializer,
        responses={200: ReplaceAnswerSerializer, **_ERRORS},
    )
    def post(self, request: Request, pk: Any) -> Response:
        transcript = self.transcript(request, pk)
        body = self.body(request)
        match_case = body.get("match_case", False)
        if not isinstance(match_case, bool):
            raise InvalidField(
                "match_case must be true or false.", field="match_case", code="invalid_edit"
            )
        edited = transcripts.replace_text(
            transcript,
            body.get("find", ""),
            body.get("replace", ""),
            match_case=match_case,
            author=request.user,
        )
        return Response({"replaced": edited.replaced, "revision": edited.latest})


class RevisionListView(EditView):
    @documented(
        summary="The transcript's revisions",
        description="Newest first: who saved each (username; null for revision 0, the "
        "machine's transcript), when, a summary and what changed. Empty until the first edit, "
        "which saves the machine's transcript as revision 0 and the edit as revision 1.",
        responses={200: RevisionSerializer(many=True), 404: _ERRORS[404]},
    )
    def get(self, request: Request, pk: Any) -> Response:
        transcript = self.transcript(request, pk)
        revisions = transcript.revisions.select_related("author").defer("segments", "delta", "text")
        return Response([revision_data(r) for r in revisions.order_by("-number")])


class RevisionDetailView(EditView):
    @documented(
        summary="One revision, with its segments",
        description="The revision's text and every segment as it stood then.",
        responses={200: RevisionDetailSerializer, 404: _ERRORS[404]},
    )
    def get(self, request: Request, pk: Any, number: int) -> Response:
        transcript = self.transcript(request, pk)
        found = editing.revision(transcript, number)
        return Response(revision_data(found, editing.state_at(transcript, number)))


class RevisionRestoreView(EditView):
    @documented(
        summary="Restore a revision",
        description="Makes the revision's segments and text the current ones, saved as a new "
        'revision ("Restored revision 2"); nothing is lost. Answers the new revision (the '
        "newest one when nothing differed).",
        request=None,
        responses={200: RestoredSerializer, **_ERRORS},
    )
    def post(self, request: Request, pk: Any, number: int) -> Response:
        transcript = self.transcript(request, pk)
        self.body(request)
        edited = transcripts.restore_revision(transcript, number, author=request.user)
        newest = editing.revision(transcript, edited.latest if edited.latest is not None else 0)
        state = editing.state_at(transcript, newest.number)
        return Response(
            {**revision_data(newest, state), "revision": newest.number, "restored": number}
        )


#: The editing endpoints under transcripts/<uuid:pk>/, with their views and URL names.
_ROUTES: tuple[tuple[str, type[EditView], str], ...] = (
    ("segments/<int:index>/", SegmentView, "transcript-segment"),
    ("segments/<int:index>/split/", SplitView, "transcript-segment-split"),
    ("segments/<int:index>/merge/", MergeView, "transcript-segment-merge"),
    ("speakers/rename/", RenameSpeakerView, "transcript-speaker-rename"),
    ("replace/", ReplaceView, "transcript-replace"),
    ("revisions/", RevisionListView, "transcript-revisions"),
    ("revisions/<int:number>/", RevisionDetailView, "transcript-revision"),
    ("revisions/<int:number>/restore/", RevisionRestoreView, "transcript-revision-restore"),
)

#: The editing endpoints, mounted before the router's URLs (api/urls.py).
EDIT_URLS: list[URLPattern] = [
    path(f"transcripts/<uuid:pk>/{route}", view.as_view(), name=name)
    for route, view, name in _ROUTES
]
