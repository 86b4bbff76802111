"""Stored transcripts as downloads: one file in a chosen format, or a zip of one file each.

Renders what is stored (speech.formats); never runs the pipeline or calls a service here.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence

from django.http import FileResponse, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from .editing import result_at
from .models import Transcript
from .speech.formats import FORMATS, Formatter, render

#: Zips up to this size stay in memory; bigger ones spill to a temporary file.
ZIP_MEMORY_LIMIT = 16 * 1024 * 1024
MAX_STEM_CHARS = 150
# Characters that have no place in a file name someone downloads (paths, quotes, controls).
_UNSAFE = frozenset('/\\"<>:|?*') | {chr(c) for c in range(32)} | {"\x7f"}


def formatter(fmt: str) -> Formatter:
    """The format named ``fmt`` (json, srt, vtt, txt); ValueError naming the choices otherwise."""
    found = FORMATS.get(fmt.strip().lower().lstrip("."))
    if found is None:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return found


def download_stem(transcript: Transcript) -> str:
    """``interview.mp4`` gives ``interview``: the name a download takes, unsafe characters ``_``."""
    name = transcript.display_name.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    stem = "".join("_" if ch in _UNSAFE else ch for ch in stem).strip(" .")[:MAX_STEM_CHARS]
    return stem or f"transcript-{transcript.pk}"


def export_filename(transcript: Transcript, fmt: str) -> str:
    """``interview.mp4`` exported as SRT is ``interview.srt``; unsafe characters become ``_``."""
    return f"{download_stem(transcript)}.{formatter(fmt).extension}"


def export_text(transcript: Transcript, fmt: str, *, revision: int | None = None) -> str:
    """The transcript's stored result in format ``fmt``: its current (edited) text, or with
    ``revision`` that revision's (0: the machine's transcript as it was)."""
    return render(result_at(transcript, revision), formatter(fmt).name)


def single_file_response(
    transcript: Transcript, fmt: str, *, revision: int | None = None
) -> HttpResponse:
    """A download of one transcript in format ``fmt`` (``revision``: see export_text)."""
    found = formatter(fmt)
    response = HttpResponse(
        export_text(transcript, fmt, revision=revision).encode(found.charset),
        content_type=f"{found.media_type}; charset={found.charset}",
    )
    name = export_filename(transcript, fmt)
    if revision is not None:
        stem, _, extension = name.rpartition(".")
        which = "original" if revision == 0 else f"revision-{revision}"
        name = f"{stem}.{which}.{extension}"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def zip_response(transcripts: Sequence[Transcript], fmt: str) -> FileResponse:
    """A zip with one file per transcript; equal names are told apart by the transcript's id."""
    found = formatter(fmt)
    archive = tempfile.SpooledTemporaryFile(max_size=ZIP_MEMORY_LIMIT)  # noqa: SIM115 (FileResponse closes it)
    used: set[str] = set()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for transcript in transcripts:
            name = export_filename(transcript, fmt)
            if name in used:
                stem, _, ext = name.rpartition(".")
                name = f"{stem}-{str(transcript.pk)[:8]}.{ext}"
            used.add(name)
            zf.writestr(name, export_text(transcript, fmt).encode(found.charset))
    archive.seek(0)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return FileResponse(
        archive,
        as_attachment=True,
        filename=f"transcripts-{found.name}-{stamp}.zip",
        content_type="application/zip",
    )


def export_response(
    transcripts: Sequence[Transcript], fmt: str, *, revision: int | None = None
) -> HttpResponse | FileResponse:
    """One transcript as a single file (``revision``: see export_text), several as a zip of
    their current texts."""
    if not transcripts:
        raise ValueError("nothing to export: no transcript was given")
    if len(transcripts) == 1:
        return single_file_response(transcripts[0], fmt, revision=revision)
    return zip_response(transcripts, fmt)
