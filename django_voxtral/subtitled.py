"""A done transcript's video with its subtitles muxed in: the one rule the API and the admin share.

Never re-encode the picture, never read the media through a server path (storage API only), never
leave a copy or its SRT on disk once the caller has what it needs.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.http import FileResponse
from django.utils import timezone

from ffmpeg_bridge import FFmpegFailed, FFmpegTimeout, NoVideoStream, SubtitleTrack, mux

from .exceptions import VoxtralError
from .exports import download_stem
from .models import Transcript
from .speech.formats import render
from .spool import StoredFileMissing, spooled

#: A container's name -> the suffix mux() reads it from, and the download's MIME type.
CONTAINERS: dict[str, tuple[str, str]] = {
    "mp4": (".mp4", "video/mp4"),
    "mkv": (".mkv", "video/x-matroska"),
    "webm": (".webm", "video/webm"),
}
#: The prefix of the zip of several copies (an unnamed temporary file).
SCRATCH_PREFIX = "voxtral-subtitled-"


class NoSubtitledCopy(VoxtralError):
    """No subtitled copy can be made of this transcript; ``code`` says why.

    not_done (not transcribed yet), media_missing (its file is gone), no_video (audio only),
    container (an unknown container, or codecs it cannot hold without re-encoding).
    """

    def __init__(self, message: str, *, code: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SubtitledCopy:
    """A subtitled copy on disk, the name to download it under and its MIME type."""

    path: Path
    filename: str
    content_type: str


def choose_container(media_name: str, asked: str | None = None) -> str:
    """The container asked for, else the source's own when it is one of ours, else mp4."""
    if asked is None:
        # WebM holds only VP8/VP9/AV1, so a source's own container is the safe default;
        # anything else becomes MP4, which plays everywhere.
        own = os.path.splitext(media_name)[1].lower().lstrip(".")
        return own if own in CONTAINERS else "mp4"
    if asked not in CONTAINERS:
        raise NoSubtitledCopy(
            f"container must be one of {', '.join(CONTAINERS)}, not {asked[:20]!r}.",
            code="container",
        )
    return asked


@contextmanager
def subtitled_copy(transcript: Transcript, container: str) -> Iterator[SubtitledCopy]:
    """Yields transcript's media with its SRT as one subtitle stream, removed afterwards.

    The stream is in the transcript's language (detected, else asked, else "und"); picture and
    sound are copied. The copy and its SRT are made in spool.spooled()'s folder, beside the
    media's local copy, so they go with it (and remove_dead_runs() reaps them if the process
    dies). A file opened inside the block outlives its name (POSIX), so a caller may open the
    copy, leave the block and stream it: nothing is left behind even if the client goes away.
    NoSubtitledCopy when it cannot be made; FFmpegTimeout (the server's time limit, not the
    container's fault) passes through.
    """
    if transcript.status != Transcript.Status.DONE:
        raise NoSubtitledCopy(
            f"{transcript.display_name} is {transcript.status}, not done: its subtitled copy "
            "exists once it is done.",
            code="not_done",
        )
    media = transcript.media_file()
    if media is None:
        raise NoSubtitledCopy(
            f"The media of {transcript.display_name} is gone; upload it again to get a copy.",
            code="media_missing",
        )
    suffix, content_type = CONTAINERS[container]
    result = transcript.to_result()
    with ExitStack() as stack:
        try:
            local = stack.enter_context(spooled(media, name=transcript.display_name))
            srt = local.path.with_name(f"{transcript.pk}.srt")
            out = local.path.with_name(f"{transcript.pk}{suffix}")
            srt.write_text(render(result, "srt"), encoding="utf-8")
            mux(local.path, out, [SubtitleTrack(srt, result.language or "und")])
        except StoredFileMissing:
            raise NoSubtitledCopy(
                f"The media of {transcript.display_name} is gone from the storage; upload it "
                "again to get a copy.",
                code="media_missing",
            ) from None
        except NoVideoStream:
            # Named as the person knows it, not by the spooled copy's name.
            raise NoSubtitledCopy(
                str(NoVideoStream(transcript.display_name)), code="no_video"
            ) from None
        except FFmpegTimeout:
            raise
        except FFmpegFailed as exc:
            raise NoSubtitledCopy(
                f"The media of {transcript.display_name} cannot be copied into {container}: "
                f"{exc.last_line}",
                code="container",
            ) from None
        yield SubtitledCopy(
            out, f"{download_stem(transcript)}.subtitled{suffix}", content_type=content_type
        )


def open_copy(transcript: Transcript, container: str) -> FileResponse:
    """One transcript's subtitled copy as a download, streamed from an unlinked temp file."""
    with subtitled_copy(transcript, container) as copy:
        answer = copy.path.open("rb")
    return FileResponse(
        answer, as_attachment=True, filename=copy.filename, content_type=copy.content_type
    )


@dataclass(frozen=True, slots=True)
class Skipped:
    """A transcript left out of a download: NoSubtitledCopy's code (or "ffmpeg"), and why."""

    transcript: Transcript
    code: str
    reason: str

    @classmethod
    def of(cls, transcript: Transcript, exc: NoSubtitledCopy | FFmpegFailed) -> Skipped:
        if isinstance(exc, NoSubtitledCopy):
            return cls(transcript, exc.code, str(exc))
        return cls(transcript, "ffmpeg", f"{transcript.display_name}: {exc}")


def download(
    transcripts: Sequence[Transcript], container: str | None = None
) -> tuple[FileResponse | None, list[Skipped]]:
    """Subtitled copies of transcripts: one file for one, a zip for several; and the skipped ones.

    Each copy is in container, by default in its source's own when that is MP4, MKV or WebM,
    else MP4 (choose_container: VP8 does not go into MP4, H.264 not into WebM). The copies
    are made one at a time and moved into a zip on disk (stored, not compressed: video is
    compressed already), so no more than one copy and the zip take room, and nothing is held
    in memory. The answer is None when no copy could be made.
    """
    skipped: list[Skipped] = []
    if len(transcripts) == 1:
        try:
            only = transcripts[0]
            return open_copy(only, choose_container(only.display_name, container)), skipped
        except (NoSubtitledCopy, FFmpegFailed) as exc:
            return None, [Skipped.of(transcripts[0], exc)]
    archive = tempfile.TemporaryFile(prefix=SCRATCH_PREFIX)  # noqa: SIM115 (FileResponse closes it)
    added = 0
    used: set[str] = set()
    try:
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
            for transcript in transcripts:
                try:
                    chosen = choose_container(transcript.display_name, container)
                    with subtitled_copy(transcript, chosen) as copy:
                        name = copy.filename
                        if name in used:
                            stem, _, ext = name.rpartition(".")
                            name = f"{stem}-{str(transcript.pk)[:8]}.{ext}"
                        used.add(name)
                        zf.write(copy.path, name)
                        added += 1
                except (NoSubtitledCopy, FFmpegFailed) as exc:
                    skipped.append(Skipped.of(transcript, exc))
    except BaseException:
        archive.close()
        raise
    if not added:
        archive.close()
        return None, skipped
    archive.seek(0)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = FileResponse(
        archive,
        as_attachment=True,
        filename=f"transcripts-subtitled-{stamp}.zip",
        content_type="application/zip",
    )
    return response, skipped
