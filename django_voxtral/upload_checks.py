"""What makes an uploaded file acceptable, for every upload path: probed as media, within the
limits, stored under a name the storage can hold.

Never keep a row or a stored file for an upload that failed a check, and never read the whole
upload into memory (a copy goes to disk when it is not already there).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File

from ffmpeg_bridge import MediaInfo, MediaTooLong, NoAudioTrack, NotAMediaFile, probe
from ffmpeg_bridge.errors import MediaError

from .conf import get_backend, get_settings
from .exceptions import StorageFull, UnsafeFileName, UploadNotStored
from .models import Transcript
from .names import stored_name
from .speech.backends.options import TranscriptionOptions


@contextlib.contextmanager
def local_path(file: File[Any]) -> Iterator[str]:
    """A path to the file on disk: an upload's temporary file, a local file's own path, or a
    copy when it was kept in memory."""
    temporary = getattr(file, "temporary_file_path", None)
    if callable(temporary):
        yield str(temporary())
        return
    own = getattr(getattr(file, "file", None), "name", None)
    if isinstance(own, str) and os.path.isfile(own):
        yield own
        return
    with tempfile.NamedTemporaryFile(prefix="voxtral-upload-") as copy:
        for block in file.chunks():
            copy.write(block)
        copy.flush()
        file.seek(0)
        yield copy.name


def probe_upload(file: File[Any]) -> MediaInfo:
    """Probes the file; a MediaError (named after the upload) when it cannot be used: not media,
    no audio track, or longer than VOXTRAL["MAX_MEDIA_SECONDS"]."""
    name = os.path.basename(file.name or "") or "the upload"
    try:
        with local_path(file) as path:
            info = probe(path)
    except NotAMediaFile as exc:
        raise NotAMediaFile(name, exc.reason) from None
    except MediaError:
        raise
    if not info.has_audio:
        raise NoAudioTrack(name)
    limit = get_settings().max_media_seconds
    if limit and info.duration > limit:
        raise MediaTooLong(name, info.duration, limit)
    return info


def check_backend(alias: str, options: TranscriptionOptions) -> None:
    """UnknownBackend, InvalidOption or UnsupportedOption now, not a failed transcript later."""
    with get_backend(alias) as backend:
        backend.check_options(options)


#: OSError numbers that mean the server is out of room, not that the upload is at fault.
_STORAGE_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def store_upload(transcript: Transcript, file: File[Any], field: str = "audio") -> None:
    """Stores the file as the transcript's media under its stored name (names.stored_name).

    A storage's OSError (disk full, a name the filesystem refuses) or a name it finds suspicious
    is an UploadNotStored naming the problem and the form ``field``, never a traceback.
    """
    try:
        transcript.media.save(stored_name(file.name or ""), file, save=False)
    except SuspiciousFileOperation as exc:
        raise UnsafeFileName(
            f"{field}: could not store the upload under its name ({exc}); rename the file "
            "(letters, digits, '-', '_', '.') and send it again.",
            field=field,
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno in _STORAGE_FULL:
            raise StorageFull(
                f"Could not store the upload: the server's storage is full ({reason}). "
                "Try again later; if it persists, tell the site's administrator.",
                field=field,
            ) from None
        raise UploadNotStored(
            f"Could not store the upload: the storage refused it ({reason}). Send it again "
            "under a shorter, plainer file name; if it persists, tell the site's administrator.",
            field=field,
        ) from None
