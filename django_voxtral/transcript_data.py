"""A transcript's segments and words as the pages' follow-along reads them (JSON in the page).

Shared by the workspace, the template tags and the API's reloads; never decides who may see a
transcript (callers check that first) nor renders HTML.
"""

from __future__ import annotations

from typing import Any, TypedDict

from .models import Segment, Transcript


class WordData(TypedDict):
    start: float
    end: float
    text: str


class SegmentData(TypedDict):
    index: int
    start: float
    end: float
    text: str
    speaker: str
    words: list[WordData]


class FollowData(TypedDict):
    id: str
    duration: float | None
    language: str
    segments: list[SegmentData]


def _ms(seconds: Any) -> float:
    # Milliseconds are all a player can seek to; fewer digits keep a 3-hour page small.
    return round(float(seconds), 3)


def segment_data(segment: Segment) -> SegmentData:
    """One segment with its words (text and times only; a word's own speaker is dropped)."""
    return {
        "index": segment.index,
        "start": _ms(segment.start),
        "end": _ms(segment.end),
        "text": segment.text,
        "speaker": segment.speaker,
        "words": [
            {"start": _ms(w["start"]), "end": _ms(w["end"]), "text": str(w["text"])}
            for w in segment.words or ()
            if "start" in w and "end" in w and "text" in w
        ],
    }


def follow_data(transcript: Transcript) -> FollowData:
    """Everything the follow-along needs, in one query for the segments."""
    segments = Segment.objects.filter(transcript=transcript).order_by("index")
    return {
        "id": str(transcript.pk),
        "duration": transcript.duration,
        "language": transcript.detected_language or transcript.language,
        "segments": [
            segment_data(s)
            for s in segments.only("index", "start", "end", "text", "speaker", "words")
        ],
    }
