"""Writes a copy of a video with subtitle tracks muxed in (picture and sound copied), or burned in.

Never re-encode unless burning is asked, never put a caller's string into a filter graph, never
leave a half-written file at the destination.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import safety, settings
from .errors import FFmpegFailed, NoVideoStream
from .probe import probe
from .runner import run

#: Output suffix -> (ffmpeg muxer, subtitle codec written in it).
CONTAINERS: dict[str, tuple[str, str]] = {
    ".mp4": ("mp4", "mov_text"),
    ".m4v": ("mp4", "mov_text"),
    ".mov": ("mov", "mov_text"),
    ".mkv": ("matroska", "srt"),
    ".webm": ("webm", "webvtt"),
}
#: Subtitle file suffix -> the only demuxer that file is opened with (forced with -f).
SUBTITLE_FORMATS: dict[str, str] = {".srt": "srt", ".vtt": "webvtt"}

#: ISO 639-1 -> ISO 639-2/B, the codes MP4 and Matroska language tags use.
ISO_639_2: dict[str, str] = {
    "af": "afr", "ar": "ara", "bg": "bul", "bn": "ben", "ca": "cat", "cs": "cze", "cy": "wel",
    "da": "dan", "de": "ger", "el": "gre", "en": "eng", "es": "spa", "et": "est", "eu": "baq",
    "fa": "per", "fi": "fin", "fr": "fre", "ga": "gle", "gl": "glg", "he": "heb", "hi": "hin",
    "hr": "hrv", "hu": "hun", "hy": "arm", "id": "ind", "is": "ice", "it": "ita", "ja": "jpn",
    "ka": "geo", "kk": "kaz", "ko": "kor", "lt": "lit", "lv": "lav", "mk": "mac", "ms": "may",
    "mt": "mlt", "nl": "dut", "no": "nor", "pl": "pol", "pt": "por", "ro": "rum", "ru": "rus",
    "sk": "slo", "sl": "slv", "sq": "alb", "sr": "srp", "sv": "swe", "sw": "swa", "ta": "tam",
    "th": "tha", "tr": "tur", "uk": "ukr", "ur": "urd", "vi": "vie", "zh": "chi",
}  # fmt: skip

#: A temp path we may put into the `subtitles=` filter as it is: nothing ffmpeg's filter
#: syntax would read as an escape, separator or option.
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9/_.+-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class SubtitleTrack:
    """A subtitle file already written (.srt or .vtt), its language and an optional title."""

    path: Path
    language: str
    title: str | None = None


def language_code(language: str) -> str:
    """ISO 639-2 for a language tag: "en" and "en-US" give "eng"; unknown gives "und"."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if len(code) == 3 and code.isascii() and code.isalpha():
        return code
    return ISO_639_2.get(code, "und")


def mux(
    video: str | Path,
    out: str | Path,
    subtitles: Sequence[SubtitleTrack],
    *,
    burn: bool = False,
    timeout: float | None = None,
) -> Path:
    """Write `out`: video's picture and sound with each track as a subtitle stream.

    The container follows out's suffix (.mp4/.m4v/.mov: mov_text; .mkv: SubRip; .webm: WebVTT,
    which also needs VP8/VP9/AV1 video and Opus/Vorbis sound in the source). Picture and sound
    are copied, not re-encoded. With ``burn=True`` the one track given is drawn into the
    picture instead (libass), which re-encodes the video (see ``burn_encoder``) and adds no
    subtitle stream. The video must have a picture (NoVideoStream otherwise). ffmpeg writes a
    temp file next to out, renamed onto out only when it succeeded. Returns out.
    """
    video = Path(video)
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in CONTAINERS:
        raise ValueError(
            f"cannot tell the container from {out.name!r}: name the output {', '.join(CONTAINERS)}"
        )
    muxer, subtitle_codec = CONTAINERS[suffix]
    if not subtitles:
        raise ValueError("give at least one subtitle track")
    if burn and len(subtitles) != 1:
        raise ValueError(f"burning draws one subtitle track, not {len(subtitles)}")
    for track in subtitles:
        if Path(track.path).suffix.lower() not in SUBTITLE_FORMATS:
            raise ValueError(
                f"subtitle file {Path(track.path).name!r} is not one of "
                f"{', '.join(SUBTITLE_FORMATS)}"
            )
    if out.exists() and video.exists() and out.resolve() == video.resolve():
        raise ValueError("write the subtitled copy to another file than its source")
    info = probe(video)
    if not info.has_video:
        raise NoVideoStream(video.name)
    if timeout is None:
        timeout = 120.0 + (3.0 if burn else 0.5) * info.duration
    out = out.absolute()
    with tempfile.TemporaryDirectory(prefix="ffmpeg-bridge-mux-") as scratch:
        work = Path(scratch)
        # Our own copies under names we chose: the caller's file names never reach ffmpeg's
        # filter syntax, and nothing else than the text we were given is read.
        copies: list[Path] = []
        for index, track in enumerate(subtitles):
            copy = work / f"track-{index}{Path(track.path).suffix.lower()}"
            shutil.copyfile(track.path, copy)
            copies.append(copy)
        fd, partial_name = tempfile.mkstemp(
            prefix=f".{out.stem[:40]}.", suffix=f".partial{suffix}", dir=out.parent
        )
        os.close(fd)
        partial = Path(partial_name)
        try:
            if burn:
                args = _burn_args(video, copies[0], subtitles[0], partial, muxer)
            else:
                args = _mux_args(video, copies, subtitles, partial, muxer, subtitle_codec)
            what = f"{'burning' if burn else 'muxing'} subtitles into {video.name}"
            done = run(args, what=what, timeout=timeout, max_stdout=1 << 16)
            if done.returncode != 0:
                hint = _hint(muxer, done.last_line)
                raise FFmpegFailed(what, done.last_line + hint, done.returncode)
            os.replace(partial, out)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    return out


def _head() -> list[str]:
    return [settings.ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def _video_input(video: Path) -> list[str]:
    args: list[str] = []
    for key, value in safety.input_options().items():
        args += [f"-{key}", value]
    return [*args, "-i", safety.input_url(video)]


def _subtitle_input(copy: Path) -> list[str]:
    # Forced demuxer and file protocol only: the file is text we copied, read as what its
    # suffix says and nothing else (no probing into other formats).
    fmt = SUBTITLE_FORMATS[copy.suffix]
    return ["-protocol_whitelist", "file", "-f", fmt, "-i", safety.input_url(copy)]


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text).strip()[:200]


def _mux_args(
    video: Path,
    copies: Sequence[Path],
    tracks: Sequence[SubtitleTrack],
    partial: Path,
    muxer: str,
    subtitle_codec: str,
) -> list[str]:
    args = [*_head(), *_video_input(video)]
    for copy in copies:
        args += _subtitle_input(copy)
    args += ["-map", "0:v?", "-map", "0:a?"]
    for index in range(len(copies)):
        args += ["-map", f"{index + 1}:s:0"]
    args += ["-c:v", "copy", "-c:a", "copy", "-c:s", subtitle_codec]
    for index, track in enumerate(tracks):
        args += [f"-metadata:s:s:{index}", f"language={language_code(track.language)}"]
        if track.title:
            # MP4 keeps a track's name as its handler name; Matroska and WebM as its title.
            key = "handler_name" if muxer in ("mp4", "mov") else "title"
            args += [f"-metadata:s:s:{index}", f"{key}={_clean(track.title)}"]
    if muxer in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
    return [*args, "-f", muxer, safety.input_url(partial)]


def _burn_args(
    video: Path, copy: Path, track: SubtitleTrack, partial: Path, muxer: str
) -> list[str]:
    path = str(copy.absolute())
    if not _PLAIN_PATH.match(path):
        raise ValueError(
            f"the temp directory {copy.parent} has characters ffmpeg's filter syntax would "
            "read as syntax; set TMPDIR to a plain path to burn subtitles"
        )
    encoder = burn_encoder(muxer)
    args = [*_head(), *_video_input(video), "-map", "0:v:0", "-map", "0:a?"]
    args += ["-vf", f"subtitles=filename={path}", "-c:v", encoder]
    if encoder == "libx264":
        args += ["-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
    elif encoder.startswith("libvpx"):
        args += ["-deadline", "good", "-cpu-used", "4", "-b:v", "0", "-crf", "30"]
    else:
        args += ["-q:v", "3"]
    args += ["-c:a", "copy", "-sn"]
    if muxer in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
    return [*args, "-f", muxer, safety.input_url(partial)]


def burn_encoder(muxer: str) -> str:
    """The video encoder burning uses: libx264 (libvpx-vp9, then libvpx, for WebM) where this
    ffmpeg has it, else the built-in mpeg4; FFmpegFailed if none fits the container."""
    wanted = ("libvpx-vp9", "libvpx") if muxer == "webm" else ("libx264", "mpeg4")
    have = _encoders()
    for name in wanted:
        if name in have:
            return name
    raise FFmpegFailed(
        "burning subtitles", f"this ffmpeg has none of the video encoders {', '.join(wanted)}"
    )


@functools.cache
def _encoders() -> frozenset[str]:
    done = run(
        [settings.ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-encoders"],
        what="listing ffmpeg's encoders",
        timeout=settings.DEFAULT_PROBE_TIMEOUT,
    )
    names: set[str] = set()
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] == "V":
            names.add(parts[1])
    return frozenset(names)


def _hint(muxer: str, last_line: str) -> str:
    if muxer == "webm":
        return (
            " (WebM holds only VP8/VP9/AV1 video and Opus/Vorbis sound, which are copied as "
            "they are: choose .mkv or .mp4 for other codecs)"
        )
    if "codec not currently supported in container" in last_line.lower():
        return " (the source's codecs are copied as they are: try .mkv, which holds most)"
    return ""
