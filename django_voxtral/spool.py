"""Copies a stored file (any Django storage: S3, in-memory, disk) to a local temporary file.

Never use FieldFile.path: remote storages have none. The temporary file is removed on every path.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File

COPY_BLOCK = 1024 * 1024
# Only a short, safe suffix survives: ffmpeg does not need it, a person reading logs does.
_SAFE_SUFFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


class StoredFileMissing(FileNotFoundError):
    """The storage has no file under the stored name (deleted behind the database's back)."""


@dataclass(frozen=True)
class SpooledMedia:
    path: Path
    sha256: str
    size: int


def _suffix(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower().lstrip(".")
    if suffix and len(suffix) <= 5 and set(suffix) <= _SAFE_SUFFIX_CHARS:
        return "." + suffix
    return ""


@contextmanager
def spooled(file: File[bytes], *, name: str = "") -> Iterator[SpooledMedia]:
    """Yields a local copy of ``file`` with its sha256; the copy is deleted afterwards."""
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix="voxtral-media-", suffix=_suffix(name or file.name or ""))
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                file.open("rb")
            except FileNotFoundError:
                raise StoredFileMissing(
                    f"The stored file {file.name!r} is missing from the storage"
                ) from None
            try:
                for block in file.chunks(COPY_BLOCK):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
            finally:
                file.close()
        yield SpooledMedia(Path(tmp), digest.hexdigest(), size)
    finally:
        os.unlink(tmp)
