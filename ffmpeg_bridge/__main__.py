"""The media floor's command line: `python -m ffmpeg_bridge probe F`, `split F OUT`, `detector`.

Never print a traceback for a user's mistake: one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .detect import DETECTORS, detector_problems, speech_detector
from .errors import MediaError
from .probe import probe
from .settings import CHUNK_FORMATS
from .split import split


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m ffmpeg_bridge", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_probe = commands.add_parser("probe", help="print what a media file holds, as JSON")
    p_probe.add_argument("file", type=Path)
    p_split = commands.add_parser("split", help="write the audio as chunks cut at silences")
    p_split.add_argument("file", type=Path)
    p_split.add_argument("outdir", type=Path)
    p_split.add_argument("--max-seconds", type=float, default=30.0, dest="max_seconds")
    p_split.add_argument("--format", choices=CHUNK_FORMATS, default="flac", dest="fmt")
    p_split.add_argument("--detector", choices=DETECTORS, default="auto")
    commands.add_parser("detector", help="print which speech detector split() uses, and why")
    return parser


def _detector_report() -> dict[str, object]:
    return {"auto": speech_detector("auto"), "silero_problems": detector_problems()}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "probe":
            print(json.dumps(probe(args.file).to_dict(), indent=2))
        elif args.command == "detector":
            print(json.dumps(_detector_report(), indent=2))
        else:
            args.outdir.mkdir(parents=True, exist_ok=True)
            chunks = split(
                args.file,
                args.outdir,
                max_chunk_seconds=args.max_seconds,
                fmt=args.fmt,
                detector=args.detector,
            )
            print(json.dumps([chunk.to_dict() for chunk in chunks], indent=2))
    except (MediaError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
