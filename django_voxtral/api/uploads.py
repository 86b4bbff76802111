"""API uploads: streamed to a temporary file under a size limit, probed, saved as a Transcript.

Never hold an upload whole in memory, and never create a row for a file that is not usable media.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db import transaction
from django.http import HttpRequest

from ffmpeg_bridge import MediaInfo, MediaTooLong, NoAudioTrack, NotAMediaFile, probe
from ffmpeg_bridge.errors import MediaError

from .. import budgets
from ..conf import get_backend, get_settings
from ..models import Transcript
from ..names import stored_name, upload_display_name
from ..speech.backends.options import TranscriptionOptions
from ..tasks import enqueue
from .errors import InvalidField, MissingFile, StorageFailed, StorageFull, UploadTooLarge


def max_upload_size() -> int:
    return get_settings().max_upload_size


def too_large(size: int | None = None) -> UploadTooLarge:
    limit = max_upload_size()
    told = f" ({size} bytes)" if size is not None else ""
    return UploadTooLarge(
        f"The upload is too large{told}: the limit is {limit} bytes ({limit / 2**20:.0f} MiB). "
        "Send a shorter or more compressed file."
    )


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Streams each file to a temporary file, counting its bytes and hashing them on the way.

    Stops with a 413 as soon as the files grow past VOXTRAL["MAX_UPLOAD_SIZE"].
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = max_upload_size()
        self.total = 0
        self.digest = hashlib.sha256()

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        if content_length and content_length > self.limit + form_overhead():
            raise too_large(content_length)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.total += len(raw_data)
        if self.total > self.limit:
            self.file.close()  # removes the temporary file now, not at garbage collection
            raise too_large()
        self.digest.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> UploadedFile[Any] | None:
        file = super().file_complete(file_size)
        if file is not None:
            file.sha256 = self.digest.hexdigest()  # type: ignore[attr-defined]
        return file


def form_overhead() -> int:
    """Bytes a multipart body may hold besides the file: boundaries and the other form fields."""
    return int(getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 2_621_440)


def use_streaming_uploads(request: HttpRequest) -> None:
    """Makes the request parse its files to disk only, with the size limit."""
    # AttributeError: a middleware read the form already, with Django's own handlers; the
    # declared length is still checked, and the probe still runs on a copy of the file.
    with contextlib.suppress(AttributeError):
        request.upload_handlers = [LimitedTemporaryFileUploadHandler(request)]


def check_content_length(request: HttpRequest) -> None:
    """A 413 before reading anything when the declared body is over the limit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length > max_upload_size() + form_overhead():
        raise too_large(length)


def check_text_fields(data: Any) -> None:
    """A 400 naming the field when a form value holds a NUL character.

    PostgreSQL cannot store one in a text column: without this check it is a 500 at the save.
    """
    for name in data:
        values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise InvalidField(
                f"{name}: the value holds a NUL character (\\x00); send it as plain text.",
                field=name,
            )


def uploaded_file(files: Any, field: str) -> UploadedFile[Any]:
    """The uploaded file of the form field, or a 400 naming the field."""
    file = files.get(field) if files is not None else None
    if not isinstance(file, UploadedFile):
        raise MissingFile(
            f"No file in the form field {field!r}: send the media as multipart/form-data "
            f"with the file in {field!r}.",
            field=field,
        )
    return file


@contextlib.contextmanager
def local_path(file: UploadedFile[Any]) -> Iterator[str]:
    """A path to the upload on disk: its temporary file, or a copy when it was kept in memory."""
    if isinstance(file, TemporaryUploadedFile):
        yield str(file.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(prefix="voxtral-upload-") as copy:
        for block in file.chunks():
            copy.write(block)
        copy.flush()
        file.seek(0)
        yield copy.name


def probe_upload(file: UploadedFile[Any]) -> MediaInfo:
    """Probes the upload; a MediaError (named after the uploaded file) when it cannot be used."""
    name = file.name or "the upload"
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
    """UnknownBackend or UnsupportedOption now, rather than a failed transcript later."""
    with get_backend(alias) as backend:
        backend.check_options(options)


def create_transcript(
    *,
    file: UploadedFile[Any],
    options: TranscriptionOptions,
    owner: Any,
    backend: str,
    webhook: str = "",
    info: MediaInfo | None = None,
    file_field: str = "audio",
) -> Transcript:
    """Saves the upload as a new queued Transcript and enqueues it when the transaction commits.

    Refused with budgets.BudgetExceeded (a 429) when its length takes the owner past their daily
    budget of audio minutes.
    """
    budgets.check(owner, info.duration if info is not None else None)
    transcript = Transcript(
        owner=owner if getattr(owner, "is_authenticated", False) else None,
        media_name=upload_display_name(file.name),
        sha256=getattr(file, "sha256", ""),
        task=options.task,
        language=options.language or "",
        initial_prompt=options.initial_prompt or "",
        temperature=options.temperature,
        chunk_level=options.chunk_level,
        chunk_length_s=options.chunk_length_s,
        backend=backend,
        webhook=webhook,
        duration=info.duration if info is not None else None,
    )
    with transaction.atomic():
        save_media(transcript, file, file_field)
        transcript.save()
        enqueue(transcript)
    return transcript


#: OSError numbers that mean the server is out of room, not that the upload is at fault.
_STORAGE_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def save_media(transcript: Transcript, file: UploadedFile[Any], field: str = "audio") -> None:
    """Stores the upload under its stored name (names.stored_name); errors as the API's own.

    A storage's OSError (disk full, a name the filesystem refuses) or a name it finds suspicious
    is a JSON answer naming the problem, never a 500 with a traceback.
    """
    try:
        transcript.media.save(stored_name(file.name), file, save=False)
    except SuspiciousFileOperation as exc:
        raise InvalidField(
            f"{field}: could not store the upload under its name ({exc}); rename the file "
            "(letters, digits, '-', '_', '.') and send it again.",
            field=field,
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno in _STORAGE_FULL:
            raise StorageFull(
                f"Could not store the upload: the server's storage is full ({reason}). "
                "Try again later; if it persists, tell the site's administrator."
            ) from None
        raise StorageFailed(
            f"Could not store the upload: the storage refused it ({reason}). Send it again "
            "under a shorter, plainer file name; if it persists, tell the site's administrator.",
            field=field,
        ) from None


def sync_timeout() -> float:
    """How long a synchronous endpoint waits: VOXTRAL["SYNC_TIMEOUT"] seconds (default 300)."""
    return get_settings().sync_timeout


def wait_for(
    transcript: Transcript,
    timeout: float | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Transcript:
    """Polls the row until the transcript is finished or ``timeout`` passes; returns it fresh."""
    deadline = time.monotonic() + (sync_timeout() if timeout is None else timeout)
    delay = 0.1
    while True:
        transcript.refresh_from_db()
        if transcript.is_finished or time.monotonic() >= deadline:
            return transcript
        sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 2.0)
