"""The result written as the contract's JSON, SRT, WebVTT and plain text.

Serialization only; never change times or wording beyond what a format's syntax requires.
"""

from __future__ import annotations

import json

from ..results import TranscriptionResult
from .cues import Cue, make_cues
from .speakers import speaker_label, turn_prefix
from .text import SENTENCE_END, clean, join_texts
from .timecode import format_timestamp

# A pause at least this long between segments starts a new paragraph in plain text.
PARAGRAPH_PAUSE_SECONDS = 2.0
# Without pauses, a paragraph this long ends at the next sentence end, so text never becomes a wall.
PARAGRAPH_MAX_CHARS = 600


def to_json(result: TranscriptionResult, *, indent: int | None = 2) -> str:
    """The contract's response JSON (``result.to_contract()``), non-ASCII kept as is.

    Ends with a newline when indented (a file a person opens), not when compact.
    Raises ValueError when a time or the cost is not a finite number (JSON has none).
    """
    try:
        text = json.dumps(result.to_contract(), ensure_ascii=False, indent=indent, allow_nan=False)
    except ValueError as exc:
        raise ValueError(
            f"the result holds a number JSON cannot carry (NaN or infinity): {exc}"
        ) from exc
    return text + "\n" if indent is not None else text


def _cue_block(cue: Cue, marker: str, escape: bool, lead: str = "") -> str:
    """The cue's times and lines; ``lead`` (a prefix or a voice tag) opens its first line."""
    start = format_timestamp(cue.start, decimal_marker=marker)
    end = format_timestamp(cue.end, decimal_marker=marker)
    lines = [_escape_vtt(line) if escape else line for line in cue.lines]
    if lines:
        lines[0] = lead + lines[0]
    return f"{start} --> {end}\n" + "\n".join(lines)


def _turn_prefixes(cues: list[Cue]) -> list[str]:
    """Each cue's prefix: ``Speaker 1: `` where the speaker differs from the cue before."""
    out: list[str] = []
    previous: str | None = None
    for cue in cues:
        changed = cue.speaker is not None and cue.speaker != previous
        out.append(turn_prefix(cue.speaker) if changed and cue.speaker is not None else "")
        previous = cue.speaker
    return out


def _voice(cue: Cue) -> str:
    # A voice span without its end tag covers the whole cue (WebVTT allows leaving it out).
    if cue.speaker is None:
        return ""
    name = _escape_vtt(speaker_label(cue.speaker))
    return f"<v {name}>" if name else ""


def _escape_vtt(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(result: TranscriptionResult, cues: list[Cue] | None = None) -> str:
    """SubRip: cues numbered from 1, ``HH:MM:SS,mmm`` times, a blank line after each cue.

    Cues come from :func:`make_cues` unless given. No speech gives an empty string (a valid,
    empty SubRip file). Where the speaker changes, the cue's first line starts ``Speaker 1: ``
    (see :func:`~django_voxtral.speech.formats.speakers.speaker_label`).
    """
    cues = make_cues(result, speaker_prefixes=True) if cues is None else cues
    return "".join(
        f"{n}\n{_cue_block(cue, ',', False, prefix)}\n\n"
        for n, (cue, prefix) in enumerate(zip(cues, _turn_prefixes(cues), strict=True), 1)
    )


def to_vtt(result: TranscriptionResult, cues: list[Cue] | None = None) -> str:
    """WebVTT: the ``WEBVTT`` line and a blank line, then cues with ``HH:MM:SS.mmm`` times.

    ``&``, ``<`` and ``>`` in the text are written as character references, so text never reads
    as markup. Cues come from :func:`make_cues` unless given. A cue with a speaker is a voice
    span, ``<v Speaker 1>text``, so players and screen readers can tell who speaks.
    """
    cues = make_cues(result) if cues is None else cues
    return "WEBVTT\n\n" + "".join(f"{_cue_block(cue, '.', True, _voice(cue))}\n\n" for cue in cues)


def to_txt(result: TranscriptionResult) -> str:
    """The transcript as paragraphs: segments joined into running text, one paragraph per line.

    A new paragraph (a blank line between) starts where the speaker paused for
    ``PARAGRAPH_PAUSE_SECONDS`` or more, which is where a topic or a speaker usually changes,
    or at the first sentence end after ``PARAGRAPH_MAX_CHARS``; lines are not wrapped (any
    editor does that). Where the speaker changes, a new paragraph starts with ``Speaker 1: ``.
    Without segments, the result's text. Ends with a newline unless there is no text at all.
    """
    segments = sorted((s for s in result.segments if clean(s.text)), key=lambda s: (s.start, s.end))
    if not segments:
        text = clean(result.text)
        return text + "\n" if text else ""
    paragraphs: list[list[str]] = [[]]
    previous_end: float | None = None
    speaker: str | None = None
    length = 0
    for segment in segments:
        text = clean(segment.text)
        turn = segment.speaker != speaker
        if previous_end is not None and (
            turn
            or segment.start - previous_end >= PARAGRAPH_PAUSE_SECONDS
            or (length >= PARAGRAPH_MAX_CHARS and paragraphs[-1][-1][-1] in SENTENCE_END)
        ):
            paragraphs.append([])
            length = 0
        if turn and segment.speaker is not None:
            text = turn_prefix(segment.speaker) + text
        speaker = segment.speaker
        paragraphs[-1].append(text)
        length += len(text) + 1
        previous_end = segment.end if previous_end is None else max(previous_end, segment.end)
    return "\n\n".join(join_texts(p) for p in paragraphs) + "\n"
