"""Typed errors of the media floor, each written for the person who uploaded the file.

Never raise a bare Exception from ffmpeg_bridge; never put a shell command or a secret in a message.
"""

from __future__ import annotations


class MediaError(Exception):
    """Base class of every error ffmpeg_bridge raises."""


class NotAMediaFile(MediaError, ValueError):
    """The file is not audio or video ffmpeg may open (garbage, text, a playlist, a script)."""

    def __init__(self, filename: str, reason: str) -> None:
        self.filename = filename
        self.reason = reason
        super().__init__(
            f"{filename!s} is not an audio or video file we can read ({reason}). "
            "Upload a common audio or video format (MP4, MKV, WebM, MOV, MP3, WAV, FLAC, OGG, M4A)."
        )


class NoAudioTrack(MediaError, ValueError):
    """The media has no audio stream, so there is nothing to transcribe."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        super().__init__(
            f"{filename!s} has no audio track, so there is nothing to transcribe. "
            "Upload a file with sound."
        )


class NoVideoStream(MediaError, ValueError):
    """The media has no picture, so there is nothing to put subtitles on."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        super().__init__(
            f"{filename!s} has no video stream, so there is no picture to put subtitles on. "
            "Subtitled copies are made of videos only; download the SRT or VTT file instead."
        )


class MediaTooLong(MediaError, ValueError):
    """The media is longer than the configured maximum duration."""

    def __init__(self, filename: str, duration: float, limit: float) -> None:
        self.filename = filename
        self.duration = duration
        self.limit = limit
        over = duration - limit
        super().__init__(
            f"{filename!s} lasts {duration:.0f} s, {over:.0f} s over the limit of {limit:.0f} s. "
            "Cut it into shorter files, or raise the maximum media duration setting."
        )


class FFmpegNotFound(MediaError, RuntimeError):
    """The ffmpeg or ffprobe executable is not installed or not on PATH."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        super().__init__(
            f"{executable} was not found on PATH. Install ffmpeg "
            "(Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg), "
            "or set FFMPEG_BINARY / FFPROBE_BINARY to its full path."
        )


class FFmpegFailed(MediaError, RuntimeError):
    """ffmpeg ran but failed; carries the last line it wrote on stderr."""

    def __init__(self, what: str, last_line: str, returncode: int | None = None) -> None:
        self.what = what
        self.last_line = last_line
        self.returncode = returncode
        super().__init__(f"ffmpeg failed while {what}: {last_line or 'no message'}")


class FFmpegTimeout(FFmpegFailed):
    """ffmpeg ran longer than its wall-clock limit and was killed with its process group."""

    def __init__(self, what: str, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(what, f"took longer than {seconds:.0f} s and was stopped")


class DetectorUnavailable(MediaError, RuntimeError):
    """The speech detector asked for cannot run here (onnxruntime or its model is missing)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "the Silero speech detector cannot run: "
            + "; ".join(self.problems)
            + '. Install it with: pip install "django-voxtral[vad]", or split with '
            'detector="level".'
        )
