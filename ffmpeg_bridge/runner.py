"""Runs ffmpeg and ffprobe as argument lists, each in its own process group, under a wall clock.

Never use a shell, never let a child read our stdin, never keep unbounded stderr in memory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Self

from .errors import FFmpegNotFound, FFmpegTimeout

#: stderr lines kept per process: enough for a reason, bounded however chatty the input makes it.
STDERR_LINES = 40
#: Longest stderr line kept, in characters.
STDERR_LINE_CHARS = 400


class FFmpegProcess:
    """One running ffmpeg/ffprobe: stderr drained into a ring, killed with its group on timeout.

    Use as a context manager; leaving the block always ends and reaps the process.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        what: str,
        timeout: float | None,
        stdout: int | None = subprocess.PIPE,
        stdin: int | None = subprocess.DEVNULL,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.args = list(args)
        self.what = what
        self.timeout = timeout
        self.timed_out = False
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - argument list, never a shell
                self.args,
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                pass_fds=tuple(pass_fds),
                start_new_session=True,
                close_fds=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError):
            raise FFmpegNotFound(self.args[0]) from None
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, name="ffmpeg-stderr", daemon=True
        )
        self._stderr_thread.start()
        self._timer: threading.Timer | None = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._on_timeout)
            self._timer.daemon = True
            self._timer.start()

    @property
    def stdout(self) -> IO[bytes] | None:
        return self.proc.stdout

    def _drain_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self._stderr.append(line[:STDERR_LINE_CHARS])

    def _on_timeout(self) -> None:
        if self.proc.poll() is None:
            self.timed_out = True
            self.kill()

    def kill(self) -> None:
        """Kill the whole process group, so helpers ffmpeg may have started die too."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def stderr_lines(self) -> list[str]:
        return list(self._stderr)

    def last_line(self) -> str:
        lines = self.stderr_lines()
        return lines[-1] if lines else ""

    def wait(self) -> int:
        """Wait for the end, then raise FFmpegTimeout if the wall clock killed it."""
        returncode = self.proc.wait()
        self._stderr_thread.join()
        if self._timer is not None:
            self._timer.cancel()
        if self.timed_out:
            raise FFmpegTimeout(self.what, self.timeout or 0.0)
        return returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self.proc.wait()
        if self._timer is not None:
            self._timer.cancel()
        self._stderr_thread.join()
        for stream in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr_lines: list[str]

    @property
    def last_line(self) -> str:
        return self.stderr_lines[-1] if self.stderr_lines else ""


def run(
    args: Sequence[str], *, what: str, timeout: float | None, max_stdout: int = 64 << 20
) -> Completed:
    """Run to the end and collect stdout (at most max_stdout bytes; the rest is discarded)."""
    with FFmpegProcess(args, what=what, timeout=timeout) as process:
        stream = process.stdout
        assert stream is not None
        chunks: list[bytes] = []
        size = 0
        while block := stream.read(1 << 16):
            if size < max_stdout:
                chunks.append(block[: max_stdout - size])
                size += len(chunks[-1])
        returncode = process.wait()
        return Completed(returncode, b"".join(chunks), process.stderr_lines())
