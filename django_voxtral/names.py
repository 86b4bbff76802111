"""The one rule for the names an upload is stored and shown under: cut by UTF-8 bytes, suffix kept.

Names in, names out: never open a file or call a storage here, so every upload path can share it.
"""

from __future__ import annotations

import re
import unicodedata

#: The longest file name (one path component) ext4, XFS, APFS and NTFS take, in UTF-8 bytes.
NAME_MAX_BYTES = 255
#: Room for the "_" and 7 random characters Django's storages add when a name is taken.
COLLISION_ROOM = 8
#: The longest stored name this app hands a storage, suffix included.
STORED_NAME_MAX_BYTES = NAME_MAX_BYTES - COLLISION_ROOM
#: Transcript.media_name's max_length (characters, as the database counts them).
MEDIA_NAME_MAX_LENGTH = 255
#: A suffix longer than this is not a file type (``.wav``, ``.webm``) but part of the name.
MAX_SUFFIX_BYTES = 16
#: The stem used when nothing of the uploaded name can serve as a file name.
FALLBACK_STEM = "upload"

_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,15}")
_WORD = re.compile(r"\w")


def cut_to_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never in the middle of a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[: max(limit, 0)].decode("utf-8", errors="ignore")


def split_suffix(name: str) -> tuple[str, str]:
    """``("talk", ".wav")`` for ``talk.wav``; the suffix is empty when there is none to keep."""
    stem, dot, last = name.rpartition(".")
    suffix = dot + last
    if stem and _SUFFIX.fullmatch(suffix) and len(suffix) <= MAX_SUFFIX_BYTES:
        return stem, suffix
    return name, ""


def _clean(name: str) -> str:
    # Control characters (NUL above all) are refused by filesystems and databases alike.
    return "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()


def basename(name: str) -> str:
    """The last path component of an uploaded name, whichever separator the client used."""
    return re.split(r"[/\\]", name)[-1]


def fit(name: str, *, max_bytes: int | None = None, max_chars: int | None = None) -> str:
    """``name`` cut at the end of its stem so it fits both limits; the suffix is kept whole."""
    stem, suffix = split_suffix(name)
    if max_chars is not None and len(name) > max_chars:
        stem = stem[: max(max_chars - len(suffix), 1)]
    if max_bytes is not None:
        stem = cut_to_bytes(stem, max_bytes - len(suffix.encode("utf-8")))
    return stem.rstrip() + suffix


def stored_name(name: str | None) -> str:
    """The file name an upload is saved under: at most STORED_NAME_MAX_BYTES, its suffix kept.

    Only the last path component counts; a name with nothing usable becomes ``upload.<suffix>``.
    Storages may still change characters (FileSystemStorage turns spaces into underscores).
    """
    stem, suffix = split_suffix(_clean(basename(name or "")))
    if not _WORD.search(stem):
        # Django's storages drop what is not a word character, "-" or "."; an emoji-only or
        # dots-only stem would leave nothing and be refused as a suspicious file name.
        stem = FALLBACK_STEM
    return fit(stem + suffix, max_bytes=STORED_NAME_MAX_BYTES)


def media_name(name: str | None) -> str:
    """The name shown for the media (Transcript.media_name): cut to its column, suffix kept."""
    cleaned = _clean(name or "")
    return fit(cleaned, max_chars=MEDIA_NAME_MAX_LENGTH) if cleaned else ""


def upload_display_name(name: str | None) -> str:
    """What a person called the uploaded file (its last path component), for media_name."""
    return media_name(basename(name or "")) or FALLBACK_STEM
