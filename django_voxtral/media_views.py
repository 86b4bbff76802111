"""A transcript's media served to those who may view it, streamed in blocks with HTTP ranges.

Reads through the storage API only (never ``FieldFile.path``: it breaks on S3); never serve a
file without the permission check, nor read a whole file into memory.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any, Literal
from uuid import UUID

from django.contrib.auth.views import redirect_to_login
from django.db.models.fields.files import FieldFile
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

from .conf import get_settings
from .media_access import fetchable

#: Bytes read from storage per block sent: memory stays at one block whatever the file's size.
BLOCK_SIZE = 64 * 1024

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class _Blocks:
    """The bytes ``start`` to ``start + length`` of an open file, in blocks; closes the file."""

    def __init__(self, file: IO[bytes], start: int, length: int) -> None:
        self.file = file
        self.start = start
        self.remaining = length

    def __iter__(self) -> Iterator[bytes]:
        if self.start:
            self.file.seek(self.start)
        while self.remaining > 0:
            block = self.file.read(min(BLOCK_SIZE, self.remaining))
            if not block:
                break
            self.remaining -= len(block)
            yield block
        self.close()

    def close(self) -> None:
        # Django's response calls this when it is done, also when the client went away.
        self.file.close()


def parse_range(header: str, size: int) -> tuple[int, int] | Literal[False] | None:
    """The one byte range (first, last) a ``Range`` header asks of ``size`` bytes.

    None: no usable range (absent, malformed, several ranges): serve the whole file.
    False: a well-formed range outside the file: 416.
    """
    if not header or "," in header:
        # Several ranges would need multipart/byteranges; RFC 9110 lets a server send all.
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # bytes=-n: the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return False
    return start, min(end, size - 1)


def _modified(file: FieldFile) -> datetime | None:
    try:
        return file.storage.get_modified_time(file.name or "")
    except (NotImplementedError, OSError, ValueError):
        return None


def _etag(name: str, size: int, modified: datetime | None) -> str | None:
    if modified is None:
        return None
    digest = hashlib.sha256(f"{name}\0{size}\0{modified.timestamp()}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def _if_range_holds(request: HttpRequest, etag: str | None, modified: datetime | None) -> bool:
    """Whether a ``Range`` may be honoured: no ``If-Range``, or it names this very file."""
    if_range = request.headers.get("If-Range", "").strip()
    if not if_range:
        return True
    if if_range.startswith(('"', "W/")):
        return etag is not None and if_range == etag  # strong comparison only
    since = parse_http_date_safe(if_range)
    return since is not None and modified is not None and int(modified.timestamp()) == since


def serve_file(
    request: HttpRequest, file: FieldFile, filename: str | None = None
) -> HttpResponseBase:
    """Serve a stored file inline with HTTP ranges; the caller has already checked the user.

    For a site's own views too (the example site serves its Video files with it). A file the
    storage cannot find is 404. With ``VOXTRAL["SIGNED_MEDIA_URLS"]`` the answer is a redirect
    to ``storage.url(name)`` instead (S3 with query-string auth signs it).
    """
    name = file.name or ""
    storage = file.storage
    if signed_media_urls():
        redirect = HttpResponseRedirect(storage.url(name))
        redirect["Cache-Control"] = "private, no-store"
        return redirect
    try:
        size = storage.size(name)
    except (FileNotFoundError, NotImplementedError):
        raise Http404(
            "The media file is no longer in the storage (it was deleted or moved); "
            "upload it again to play it."
        ) from None
    modified = _modified(file)
    etag = _etag(name, size, modified)
    filename = filename or name.rsplit("/", 1)[-1]

    not_modified = get_conditional_response(
        request, etag=etag, last_modified=int(modified.timestamp()) if modified else None
    )
    if not_modified is not None:
        return _headers(not_modified, etag, modified)

    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted is not None and not _if_range_holds(request, etag, modified):
        wanted = None
    if wanted is False:
        refused = HttpResponse(
            f"The range asked for is outside the file, which has {size} bytes.".encode(),
            status=416,
            content_type="text/plain; charset=utf-8",
        )
        refused["Content-Range"] = f"bytes */{size}"
        return _headers(refused, etag, modified)

    start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
    length = end - start + 1 if size else 0
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    status = 206 if isinstance(wanted, tuple) else 200
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=content_type)
    else:
        try:
            opened: IO[bytes] = storage.open(name, "rb")
        except FileNotFoundError:
            raise Http404(
                "The media file is no longer in the storage (it was deleted or moved); "
                "upload it again to play it."
            ) from None
        response = StreamingHttpResponse(
            _Blocks(opened, start, length), status=status, content_type=content_type
        )
    response["Content-Length"] = str(length)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    return _headers(response, etag, modified)


def _headers(
    response: HttpResponseBase, etag: str | None, modified: datetime | None
) -> HttpResponseBase:
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    # The browser may keep it to seek again; shared caches never (it is someone's file).
    response["Cache-Control"] = "private"
    if etag:
        response["ETag"] = etag
    if modified:
        response["Last-Modified"] = http_date(modified.timestamp())
    return response


def signed_media_urls() -> bool:
    """``VOXTRAL["SIGNED_MEDIA_URLS"]``: redirect to the storage's (signed) URL, default off."""
    return get_settings().signed_media_urls


def _wants_a_page(request: HttpRequest) -> bool:
    return "text/html" in request.headers.get("Accept", "")


@require_safe
def transcript_media(request: HttpRequest, pk: UUID) -> HttpResponseBase:
    """``GET /transcripts/<uuid>/media/``: the media of a transcript the request may fetch.

    Who may is VOXTRAL["MEDIA_ACCESS"]'s decision (media_access.py; by default those who may
    view the transcript). Anyone else gets 404 (whether it exists is not told); a logged-out
    browser opening the link is sent to the login page first.
    """
    transcript = fetchable(request, pk)
    if transcript is None:
        user: Any = request.user
        if not getattr(user, "is_authenticated", False) and _wants_a_page(request):
            return redirect_to_login(request.get_full_path())
        raise Http404("No transcript with this id is yours to see; log in as its owner.")
    file = transcript.media_file()
    if file is None:
        raise Http404(
            "This transcript has no media file: its upload was removed, or the record it "
            "came from no longer has one."
        )
    filename = transcript.media_name.rsplit("/", 1)[-1] or None
    return serve_file(request, file, filename)


__all__ = ["BLOCK_SIZE", "parse_range", "serve_file", "signed_media_urls", "transcript_media"]
