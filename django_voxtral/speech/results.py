"""The normalized transcription result: words, segments, status, and merging chunk results.

Pure data and arithmetic on times; never import Django, do I/O, or know which service answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any


def round_time(value: float) -> float:
    """A time kept to the millisecond: finer is noise from float sums, coarser loses word timing."""
    return round(float(value), 3)


def speaker_of(value: Any) -> str | None:
    """A speaker label as a string; services give ids as strings ("speaker_0") or numbers (0).

    None when unknown (missing, empty, or a boolean).
    """
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        return None
    return str(value).strip()


@dataclass(frozen=True, slots=True)
class Word:
    start: float
    end: float
    text: str
    #: Who says the word, when the service tells (diarization); None when unknown.
    speaker: str | None = None

    def shifted(self, offset: float) -> Word:
        return replace(
            self, start=round_time(self.start + offset), end=round_time(self.end + offset)
        )

    def to_contract(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "start": float(self.start),
            "end": float(self.end),
            "text": self.text,
        }
        if self.speaker is not None:
            data["speaker"] = self.speaker
        return data


@dataclass(frozen=True, slots=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    #: Who says the segment, when the service tells (diarization); None when unknown.
    speaker: str | None = None

    def shifted(self, offset: float) -> Segment:
        return replace(
            self, start=round_time(self.start + offset), end=round_time(self.end + offset)
        )

    def to_contract(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": int(self.id),
            "start": float(self.start),
            "end": float(self.end),
            "text": self.text,
        }
        if self.speaker is not None:
            data["speaker"] = self.speaker
        return data


#: Why text was left out of a result: the engine judged the stretch not to be speech, or the
#: text was a repetition loop (the same phrase over and over) collapsed to one occurrence.
DROP_REASONS: tuple[str, ...] = ("no_speech", "repetition")


@dataclass(frozen=True, slots=True)
class DroppedText:
    """Text an engine produced that the result leaves out, kept so nothing is lost silently."""

    start: float
    end: float
    text: str
    reason: str

    def shifted(self, offset: float) -> DroppedText:
        return replace(
            self, start=round_time(self.start + offset), end=round_time(self.end + offset)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": float(self.start),
            "end": float(self.end),
            "text": self.text,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DroppedText:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data.get("text", "")),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True, slots=True)
class InferenceStatus:
    status: str = "succeeded"
    runtime_ms: int = 0
    cost: float = 0.0
    tokens_generated: int = 0
    tokens_input: int = 0

    def to_contract(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "runtime_ms": int(self.runtime_ms),
            "cost": float(self.cost),
            "tokens_generated": int(self.tokens_generated),
            "tokens_input": int(self.tokens_input),
        }

    @classmethod
    def from_contract(cls, data: Mapping[str, Any] | None) -> InferenceStatus:
        data = data or {}
        return cls(
            status=str(data.get("status") or "succeeded"),
            runtime_ms=int(data.get("runtime_ms") or 0),
            cost=float(data.get("cost") or 0.0),
            tokens_generated=int(data.get("tokens_generated") or 0),
            tokens_input=int(data.get("tokens_input") or 0),
        )


@dataclass(frozen=True, slots=True)
class TranscriptionResult:
    """One transcription, shaped as the contract's response (see docs/contract/speech-api.md)."""

    text: str
    segments: tuple[Segment, ...] = ()
    language: str | None = None
    words: tuple[Word, ...] = ()
    duration: float = 0.0
    input_length_ms: int = 0
    request_id: str | None = None
    inference_status: InferenceStatus = field(default_factory=InferenceStatus)
    #: What the engine said that is left out of the text (not speech, repetition loops).
    dropped: tuple[DroppedText, ...] = ()

    @property
    def speakers(self) -> tuple[str, ...]:
        """The speaker labels of the segments, in order of first appearance."""
        return tuple(dict.fromkeys(s.speaker for s in self.segments if s.speaker is not None))

    def shifted(self, offset: float) -> TranscriptionResult:
        """The same result with every time moved by ``offset`` seconds."""
        return replace(
            self,
            segments=tuple(s.shifted(offset) for s in self.segments),
            words=tuple(w.shifted(offset) for w in self.words),
            dropped=tuple(d.shifted(offset) for d in self.dropped),
        )

    def to_contract(self) -> dict[str, Any]:
        """The contract's response JSON: the same keys, in the same order, with the same types.

        ``speaker`` (on segments and words) and ``dropped`` are added only when present.
        """
        data: dict[str, Any] = {
            "text": self.text,
            "segments": [s.to_contract() for s in self.segments],
            "language": self.language,
            "input_length_ms": int(self.input_length_ms),
            "words": [w.to_contract() for w in self.words],
            "duration": float(self.duration),
            "request_id": self.request_id,
            "inference_status": self.inference_status.to_contract(),
        }
        if self.dropped:
            data["dropped"] = [d.to_dict() for d in self.dropped]
        return data

    @classmethod
    def from_contract(cls, data: Mapping[str, Any]) -> TranscriptionResult:
        """Reads the contract's response JSON; tolerant of missing optional keys."""
        segments = tuple(
            Segment(
                id=int(s.get("id", i)),
                start=float(s["start"]),
                end=float(s["end"]),
                text=str(s.get("text", "")),
                speaker=speaker_of(s.get("speaker")),
            )
            for i, s in enumerate(data.get("segments") or ())
        )
        words = tuple(
            Word(
                start=float(w["start"]),
                end=float(w["end"]),
                text=str(w.get("text", w.get("word", ""))),
                speaker=speaker_of(w.get("speaker")),
            )
            for w in data.get("words") or ()
        )
        duration = float(data.get("duration") or 0.0)
        input_length_ms = int(data.get("input_length_ms") or round(duration * 1000))
        request_id = data.get("request_id")
        return cls(
            text=str(data.get("text") or ""),
            segments=segments,
            language=data.get("language") or None,
            words=words,
            duration=duration,
            input_length_ms=input_length_ms,
            request_id=str(request_id) if request_id is not None else None,
            inference_status=InferenceStatus.from_contract(data.get("inference_status")),
            dropped=tuple(DroppedText.from_dict(d) for d in data.get("dropped") or ()),
        )


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """A chunk's own result (times relative to the chunk) and where the chunk sits in the source."""

    index: int
    start: float
    end: float
    result: TranscriptionResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "result": self.result.to_contract(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChunkResult:
        return cls(
            index=int(data["index"]),
            start=float(data["start"]),
            end=float(data["end"]),
            result=TranscriptionResult.from_contract(data["result"]),
        )


def join_text(parts: Iterable[str]) -> str:
    """A transcript's text from its pieces' texts (the run's rule, also after an edit)."""
    return " ".join(p.strip() for p in parts if p and p.strip())


def _piece_text(result: TranscriptionResult) -> str:
    # Some servers leave the top-level text empty yet fill the segments.
    return result.text if result.text.strip() else join_text(s.text for s in result.segments)


def merge_chunk_results(
    pieces: Sequence[ChunkResult], *, duration: float, request_id: str | None = None
) -> TranscriptionResult:
    """Stitches chunk results into one result in the source's timeline.

    Segments and words are shifted by each chunk's start (their times are the service's own,
    so a segment never covers a skipped silence) and ordered by start whatever order the pieces
    arrive in; segment ids are renumbered from 0; the language is the one spoken over most
    audio; cost, runtime and tokens are summed; ``duration`` and ``input_length_ms`` are those
    of the whole media. Two results for the same chunk index count once (the last given), so a
    chunk stored and then sent again is not transcribed twice into the text.
    """
    by_index: dict[int, ChunkResult] = {}
    for piece in pieces:
        by_index[piece.index] = piece
    ordered = sorted(by_index.values(), key=lambda p: (p.start, p.index))
    segments: list[Segment] = []
    words: list[Word] = []
    dropped: list[DroppedText] = []
    language_seconds: dict[str, float] = {}
    runtime_ms = tokens_generated = tokens_input = 0
    cost = 0.0
    for piece in ordered:
        shifted = piece.result.shifted(piece.start)
        segments.extend(shifted.segments)
        words.extend(shifted.words)
        dropped.extend(shifted.dropped)
        spoken = piece.result.language
        if spoken:
            seconds = max(piece.end - piece.start, 0.0)
            language_seconds[spoken] = language_seconds.get(spoken, 0.0) + seconds
        status = piece.result.inference_status
        runtime_ms += status.runtime_ms
        cost += status.cost
        tokens_generated += status.tokens_generated
        tokens_input += status.tokens_input
    # A stable sort: a service's segments past its chunk's end still land in time order.
    segments.sort(key=lambda s: s.start)
    words.sort(key=lambda w: w.start)
    # max() keeps the first language seen on a tie: the one spoken first.
    language = max(language_seconds, key=language_seconds.__getitem__) if language_seconds else None
    return TranscriptionResult(
        text=join_text(_piece_text(p.result) for p in ordered),
        segments=tuple(replace(seg, id=i) for i, seg in enumerate(segments)),
        language=language,
        words=tuple(words),
        duration=float(duration),
        input_length_ms=round(duration * 1000),
        request_id=request_id,
        inference_status=InferenceStatus(
            status="succeeded",
            runtime_ms=runtime_ms,
            cost=round(cost, 10),
            tokens_generated=tokens_generated,
            tokens_input=tokens_input,
        ),
        dropped=tuple(sorted(dropped, key=lambda d: d.start)),
    )
