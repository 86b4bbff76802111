"""Text shaping for subtitles: cleaning, splitting into breakable units, display widths.

Pure string work; never look at times or at any one output format's syntax.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WHITESPACE = re.compile(r"\s+")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)
# "-->" separates the times of a cue in SRT and WebVTT; inside text it would end the cue text.
_ARROW = re.compile(r"-{2,}>")
SENTENCE_END = frozenset(".!?…。！？‼⁇⁈⁉")
CLAUSE_END = frozenset(",;:—–、，；：")
_CLOSERS = "\"'”’»」』)]）】"


def clean(text: str) -> str:
    """One line of text: NFC, control characters dropped, any run of whitespace one space."""
    if text.isascii():
        text = _ASCII_CONTROL.sub("", text)
    else:
        text = unicodedata.normalize("NFC", text)
        text = "".join(
            ch if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co") else ""
            for ch in text
        )
    text = _ARROW.sub("->", text)
    return _WHITESPACE.sub(" ", text).strip()


def is_wide(ch: str) -> bool:
    """Characters written without spaces between words (CJK): each is its own unit."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _is_opening(ch: str) -> bool:
    return unicodedata.category(ch) in ("Ps", "Pi")


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if is_wide(ch) else 1


def width(text: str) -> int:
    """Columns on screen: wide (CJK) characters count two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


@dataclass(frozen=True, slots=True)
class Unit:
    """A piece of text a line or cue may break before, with its place in the source string.

    ``core_start``/``core_end`` leave out punctuation around the piece: that span is what a
    word's time belongs to.
    """

    text: str
    start: int
    end: int
    core_start: int
    core_end: int
    space_before: bool
    width: int

    def ends_sentence(self) -> bool:
        stripped = self.text.rstrip(_CLOSERS)
        return bool(stripped) and stripped[-1] in SENTENCE_END

    def is_short_word(self) -> bool:
        """A word of three letters or fewer ("the", "of", "and"): a line reads badly after it."""
        return (
            self.core_end - self.core_start <= 3
            and self.text[-1:].isalpha()
            and (not is_wide(self.text[-1]))
        )

    def ends_clause(self) -> bool:
        stripped = self.text.rstrip(_CLOSERS)
        return bool(stripped) and stripped[-1] in CLAUSE_END


def _make_unit(text: str, start: int, end: int, space_before: bool) -> Unit:
    core_start, core_end = start, end
    while core_start < end and _is_punct(text[core_start]):
        core_start += 1
    while core_end > core_start and _is_punct(text[core_end - 1]):
        core_end -= 1
    if core_start >= core_end:  # punctuation only: its whole span stands for it
        core_start, core_end = start, end
    piece = text[start:end]
    return Unit(piece, start, end, core_start, core_end, space_before, width(piece))


def _split_token(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cuts one whitespace-free token where a line may break inside it (around CJK)."""
    if text.isascii() or not any(is_wide(ch) for ch in text[start:end]):
        return [(start, end)]
    spans: list[tuple[int, int]] = []
    piece_start = start
    for i in range(start, end):
        if i == piece_start:
            continue
        ch, prev = text[i], text[i - 1]
        if _is_punct(ch) and not _is_opening(ch):
            continue  # closing punctuation stays with what it closes
        so_far = text[piece_start:i]
        only_openers = all(_is_opening(c) for c in so_far)
        wide_here = is_wide(ch) and not _is_punct(ch)
        after_wide = is_wide(prev) or (_is_punct(prev) and any(is_wide(c) for c in so_far))
        if not only_openers and (wide_here or (after_wide and not is_wide(ch))):
            spans.append((piece_start, i))
            piece_start = i
    spans.append((piece_start, end))
    return spans


def _hard_split(text: str, unit: Unit, max_width: int) -> list[Unit]:
    """A unit wider than a line is cut into line-sized pieces: the one place a word is broken."""
    pieces: list[Unit] = []
    piece_start, used = unit.start, 0
    for i in range(unit.start, unit.end):
        w = char_width(text[i])
        if used + w > max_width and i > piece_start:
            pieces.append(_make_unit(text, piece_start, i, unit.space_before and not pieces))
            piece_start, used = i, 0
        used += w
    pieces.append(_make_unit(text, piece_start, unit.end, unit.space_before and not pieces))
    return pieces


def units(text: str, *, max_width: int | None = None) -> list[Unit]:
    """Splits cleaned text into units: words, and single characters of CJK runs.

    With ``max_width``, a unit wider than that is cut into pieces that fit.
    """
    out: list[Unit] = []
    for n, match in enumerate(re.finditer(r"\S+", text)):
        for k, (s, e) in enumerate(_split_token(text, match.start(), match.end())):
            unit = _make_unit(text, s, e, space_before=(n > 0 and k == 0))
            if max_width is not None and unit.width > max_width:
                out.extend(_hard_split(text, unit, max_width))
            else:
                out.append(unit)
    return out


def match_key(text: str) -> str:
    """What two spellings of a word must share to be the same word (case and edges ignored)."""
    if text.isascii():
        return text.lower().translate(_ASCII_PUNCTUATION)
    return "".join(ch for ch in text.casefold() if not _is_punct(ch))


def join_units(pieces: Sequence[Unit]) -> str:
    """The units as one line: a space where the source had one, none at the start."""
    return "".join((" " if u.space_before and i else "") + u.text for i, u in enumerate(pieces))


def join_texts(parts: Iterable[str]) -> str:
    """Cleaned texts joined by spaces, except between two CJK characters."""
    out = ""
    for part in parts:
        part = clean(part)
        if not part:
            continue
        if out and not (is_wide(out[-1]) and is_wide(part[0])):
            out += " "
        out += part
    return out
