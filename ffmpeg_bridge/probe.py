"""Finds out what a media file holds (container, duration, audio streams, video) with ffprobe.

Never decode the media here, and never let ffprobe open anything but the one local file.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from . import safety, settings
from .errors import FFmpegFailed, NotAMediaFile
from .runner import run
from .types import AudioStream, MediaInfo

_LOG_PREFIX = re.compile(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")
#: ffprobe's words when it rejects its own command line (an old or odd build), not the file.
_USAGE_ERRORS = ("Unrecognized option", "Option not found", "Failed to set value")
_WHITELIST = re.compile(r"^\[(?P<fmt>[^\]@]+?) @ 0x[0-9a-f]+\] Format not on whitelist")


def probe_args(path: Path) -> list[str]:
    # ffprobe has no -nostdin; the runner gives it /dev/null as stdin instead.
    args = [settings.ffprobe_binary(), "-hide_banner", "-v", "error"]
    for key, value in safety.input_options().items():
        args += [f"-{key}", value]
    args += ["-of", "json", "-show_format", "-show_streams", safety.input_url(path)]
    return args


def probe(path: str | Path, *, timeout: float = settings.DEFAULT_PROBE_TIMEOUT) -> MediaInfo:
    """Describe the media at path; NotAMediaFile if it is not media we allow."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        reason = "no such file" if not path.exists() else "not a regular file"
        raise NotAMediaFile(name, reason)
    done = run(probe_args(path), what=f"reading {name}", timeout=timeout)
    if done.returncode != 0:
        if any(marker in line for line in done.stderr_lines for marker in _USAGE_ERRORS):
            raise FFmpegFailed(f"reading {name}", done.last_line, done.returncode)
        raise NotAMediaFile(name, ffprobe_reason(done.stderr_lines, path))
    try:
        data = json.loads(done.stdout.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError as exc:
        raise FFmpegFailed(f"reading {name}", f"ffprobe wrote invalid JSON ({exc})") from None
    return parse_probe(data, name)


def ffprobe_reason(lines: list[str], path: Path) -> str:
    """ffprobe's own words for why it could not open a file, without addresses or our path."""
    for line in lines:
        match = _WHITELIST.match(line)
        if match:
            return f"its format ({match['fmt'].strip()}) is not allowed for uploads"
    url = safety.input_url(path)
    cleaned: list[str] = []
    for line in lines:
        text = _LOG_PREFIX.sub("", line)
        for prefix in (url + ": ", str(path.absolute()) + ": "):
            text = text.removeprefix(prefix)
        if text and text not in cleaned:
            cleaned.append(text)
    return "; ".join(cleaned[-2:]) or "ffprobe could not read it"


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse_probe(data: dict[str, Any], name: str) -> MediaInfo:
    """MediaInfo from ffprobe's JSON (-show_format -show_streams)."""
    fmt = data.get("format") or {}
    format_name = str(fmt.get("format_name") or "")
    if not format_name:
        raise NotAMediaFile(name, "ffprobe found no container format")
    if not safety.format_allowed(format_name):
        raise NotAMediaFile(name, f"its format ({format_name}) is not allowed for uploads")
    streams = [s for s in data.get("streams") or [] if isinstance(s, dict)]
    audio: list[AudioStream] = []
    has_video = False
    stream_durations: list[float] = []
    for stream in streams:
        kind = stream.get("codec_type")
        disposition = stream.get("disposition") or {}
        if kind == "video" and not disposition.get("attached_pic"):
            has_video = True
        elif kind == "audio":
            tags = stream.get("tags") or {}
            language = tags.get("language") or tags.get("LANGUAGE")
            if language in ("und", ""):
                language = None
            audio.append(
                AudioStream(
                    index=_int(stream.get("index")),
                    codec=str(stream.get("codec_name") or "unknown"),
                    sample_rate=_int(stream.get("sample_rate")),
                    channels=_int(stream.get("channels")),
                    language=str(language) if language else None,
                )
            )
        else:
            continue
        duration = _float(stream.get("duration"))
        if duration is not None:
            stream_durations.append(duration)
    duration = _float(fmt.get("duration"))
    if duration is None:
        duration = max(stream_durations, default=0.0)
    return MediaInfo(
        container=format_name,
        duration=duration,
        audio_streams=tuple(audio),
        has_video=has_video,
    )
