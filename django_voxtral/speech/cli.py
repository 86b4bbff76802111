"""The `voxtral` command: transcribe a media file from the shell into JSON, SRT, WebVTT or text.

Never import Django here, and never let a traceback reach the user: a failure is one line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TextIO

from ffmpeg_bridge import CHUNK_FORMATS, DETECTORS, MediaError, NoVideoStream, SubtitleTrack, mux
from ffmpeg_bridge import probe as probe_media
from ffmpeg_bridge.mux import CONTAINERS

from .backends import BACKEND_ALIASES, default_backend_name, load_backend
from .backends.errors import SpeechError
from .backends.options import TranscriptionOptions
from .formats import FORMATS, render
from .pipeline import PipelineError, PipelineProgress, transcribe_media
from .results import TranscriptionResult

FORMAT_CHOICES = tuple(FORMATS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxtral",
        description="Transcribe audio and video files with Voxtral or another speech backend.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {metadata.version('django-voxtral')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = commands.add_parser(
        "transcribe",
        help="transcribe one audio or video file",
        description="Transcribe one audio or video file. Without --backend: deepinfra when "
        "DEEPINFRA_TOKEN is set, else the offline engine (local).",
    )
    t.add_argument("input", metavar="INPUT", type=Path, help="audio or video file")
    t.add_argument("-o", "--output", metavar="OUT", type=Path, help="write here (default: stdout)")
    t.add_argument(
        "-f",
        "--format",
        choices=FORMAT_CHOICES,
        help="output format (default: from OUT's extension, else txt)",
    )
    t.add_argument("--backend", choices=sorted(BACKEND_ALIASES), help="speech backend")
    t.add_argument("--model", metavar="M", help="model name (backend's default otherwise)")
    t.add_argument("--base-url", metavar="URL", help="service base URL")
    t.add_argument("--language", metavar="xx", help="spoken language (ISO 639-1); default: detect")
    t.add_argument("--task", choices=("transcribe", "translate"), default="transcribe")
    t.add_argument("--prompt", metavar="TEXT", help="initial prompt (names, spellings)")
    t.add_argument(
        "--chunk-seconds",
        metavar="N",
        type=float,
        default=30.0,
        help="longest chunk sent in one request, in seconds (default 30)",
    )
    t.add_argument(
        "--concurrency", metavar="N", type=int, default=8, help="requests at once (default 8)"
    )
    t.add_argument(
        "--chunk-format",
        choices=CHUNK_FORMATS,
        default="flac",
        help="how chunks are sent: flac (lossless, default), wav, or mp3 (smallest)",
    )
    t.add_argument(
        "--detector",
        choices=DETECTORS,
        default="auto",
        help="how speech is found: silero (a neural voice detector), level (loudness), or "
        "auto (silero where onnxruntime is installed; the default)",
    )
    t.add_argument(
        "--subtitled",
        metavar="VIDEO",
        type=Path,
        help="also write a copy of the video with the subtitles muxed in, picture copied "
        f"({', '.join(CONTAINERS)}: mov_text in MP4/MOV, SubRip in MKV, WebVTT in WebM)",
    )
    t.add_argument(
        "--burn",
        action="store_true",
        help="with --subtitled: draw the subtitles into the picture instead (re-encodes it)",
    )
    return parser


def _output_format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if args.output is not None:
        suffix: str = args.output.suffix.lower().lstrip(".")
        if suffix in FORMAT_CHOICES:
            return suffix
    return "txt"


class ProgressBar:
    """A one-line progress bar on a terminal; silent when the stream is not a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.shown = False

    def __call__(self, p: PipelineProgress) -> None:
        if not self.enabled:
            return
        filled = round(self.WIDTH * p.fraction)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        detail = f" {p.chunks_done}/{p.chunks_total} chunks" if p.chunks_total else ""
        self.stream.write(f"\r{p.stage:<12} [{bar}] {p.fraction:4.0%}{detail}   ")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _transcribe(args: argparse.Namespace) -> int:
    options = TranscriptionOptions(
        task=args.task,
        language=args.language or None,
        initial_prompt=args.prompt or None,
    )
    backend_options = {
        key: value
        for key, value in (("model", args.model), ("base_url", args.base_url))
        if value is not None
    }
    fmt = _output_format(args)
    if not args.input.is_file():
        raise FileNotFoundError(f"{args.input} does not exist or is not a file")
    if args.burn and args.subtitled is None:
        raise ValueError("--burn draws the subtitles of --subtitled VIDEO: give --subtitled too")
    if args.subtitled is not None:
        # Fail before transcribing, not after: the container and the picture are known now.
        if args.subtitled.suffix.lower() not in CONTAINERS:
            raise ValueError(
                f"--subtitled {args.subtitled.name}: name the video {', '.join(CONTAINERS)}"
            )
        if not probe_media(args.input).has_video:
            raise NoVideoStream(args.input.name)
    bar = ProgressBar(sys.stderr)
    with load_backend(args.backend or default_backend_name(), **backend_options) as backend:
        try:
            result = transcribe_media(
                args.input,
                backend,
                options,
                max_chunk_seconds=args.chunk_seconds,
                concurrency=args.concurrency,
                chunk_format=args.chunk_format,
                detector=args.detector,
                progress=bar,
            )
        finally:
            bar.finish()
    if args.subtitled is not None:
        _write_subtitled(args.input, args.subtitled, result, burn=args.burn)
        if args.output is None and args.format is None:
            return 0
    text = render(result, fmt)
    if args.output is None:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


def _write_subtitled(video: Path, out: Path, result: TranscriptionResult, *, burn: bool) -> None:
    """The transcript as SRT in a temp file, muxed (or burned) into a copy of the video."""
    language = result.language or "und"
    with tempfile.TemporaryDirectory(prefix="voxtral-subtitled-") as scratch:
        srt = Path(scratch) / "subtitles.srt"
        srt.write_text(render(result, "srt"), encoding="utf-8")
        mux(video, out, [SubtitleTrack(srt, language)], burn=burn)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `voxtral` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _transcribe(args)
    except (MediaError, SpeechError, PipelineError, ValueError, OSError) as exc:
        _fail(str(exc))
        return 1
    except KeyboardInterrupt:
        print("voxtral: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours is still one line, with its type
        _fail(f"unexpected {type(exc).__name__}: {exc} (please report this)")
        return 1


def _fail(message: str) -> None:
    # Messages quoting ffmpeg or a service may hold newlines; the user gets one line.
    print(f"voxtral: error: {' '.join(message.split())}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
