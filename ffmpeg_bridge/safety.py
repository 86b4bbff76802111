"""What ffmpeg may open for an untrusted upload: local files of known media containers only.

Never widen these lists to playlists, scripts, devices or network protocols (hls, concat, lavfi...).
"""

from __future__ import annotations

from pathlib import Path

#: Demuxers an upload may use. Playlist (hls, dash), script (concat, ffconcat), device,
#: generator (lavfi), image-sequence, raw, network (rtp, rtsp, sdp) and subtitle demuxers are
#: left out on purpose: they open other files or URLs, or are not audio at all.
ALLOWED_DEMUXERS: tuple[str, ...] = (
    "aac",
    "ac3",
    "aiff",
    "amr",
    "amrnb",
    "amrwb",
    "ape",
    "asf",
    "au",
    "avi",
    "caf",
    "dts",
    "eac3",
    "flac",
    "flv",
    "matroska",
    "webm",
    "mov",
    "mp4",
    "m4a",
    "3gp",
    "3g2",
    "mj2",
    "mp3",
    "mpeg",
    "mpegts",
    "ogg",
    "tta",
    "w64",
    "wav",
    "wv",
)

FORMAT_WHITELIST = ",".join(ALLOWED_DEMUXERS)


def input_options(*, pipe: bool = False) -> dict[str, str]:
    """Options to put before every `-i` of an upload (ffmpeg and ffprobe alike)."""
    return {
        "protocol_whitelist": "file,pipe" if pipe else "file",
        "format_whitelist": FORMAT_WHITELIST,
    }


def input_url(path: Path) -> str:
    """`file:` plus the absolute path, so a name starting with `-` or holding `:` is just a name."""
    return "file:" + str(path.absolute())


def format_allowed(format_name: str) -> bool:
    """Whether ffprobe's format_name (e.g. "mov,mp4,m4a,3gp,3g2,mj2") is one we allow.

    Matches as ffmpeg's own whitelist does: any of its comma-separated names.
    """
    names = {name.strip() for name in format_name.split(",") if name.strip()}
    return bool(names & set(ALLOWED_DEMUXERS))
