"""API uploads: streamed to a temporary file under a size limit and hashed on the way; the
synchronous endpoints' wait for the result.

Never hold an upload whole in memory; the checks every upload path shares are upload_checks.py's,
and transcripts are made by transcripts.py only.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest

from ..conf import get_settings
from ..models import Transcript
from .errors import InvalidField, MissingFile, UploadTooLarge


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
