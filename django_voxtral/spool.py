"""Copies a stored file (any Django storage: S3, in-memory, disk) to a local temporary file.

Never use FieldFile.path: remote storages have none. The temporary file is removed on every path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File

logger = logging.getLogger(__name__)

COPY_BLOCK = 1024 * 1024
#: Each spool is a folder named for the process that made it, so a later run can tell the
#: folders of dead processes (SIGKILL, OOM kill) from those of live ones and remove them.
RUN_PREFIX = "voxtral-run-"
_OWNER_FILE = "owner"
# Only a short, safe suffix survives: ffmpeg does not need it, a person reading logs does.
_SAFE_SUFFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


class StoredFileMissing(FileNotFoundError):
    """The storage has no file under the stored name (deleted behind the database's back)."""


@dataclass(frozen=True)
class SpooledMedia:
    path: Path
    sha256: str
    size: int


def _suffix(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower().lstrip(".")
    if suffix and len(suffix) <= 5 and set(suffix) <= _SAFE_SUFFIX_CHARS:
        return "." + suffix
    return ""


@contextmanager
def spooled(file: File[bytes], *, name: str = "") -> Iterator[SpooledMedia]:
    """Yields a local copy of ``file`` with its sha256; the copy is deleted afterwards.

    The copy lives in a folder of its own (``voxtral-run-<pid>-...``) holding an owner file,
    which remove_dead_runs() reads when this process died before it could clean up.
    """
    digest = hashlib.sha256()
    size = 0
    folder = tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-")
    tmp = os.path.join(folder, "media" + _suffix(name or file.name or ""))
    try:
        Path(folder, _OWNER_FILE).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        with open(tmp, "xb") as out:
            try:
                file.open("rb")
            except FileNotFoundError:
                raise StoredFileMissing(
                    f"The stored file {file.name!r} is missing from the storage"
                ) from None
            try:
                for block in file.chunks(COPY_BLOCK):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
            finally:
                file.close()
        yield SpooledMedia(Path(tmp), digest.hexdigest(), size)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _owner_is_gone(folder: Path) -> bool:
    """True when the folder's owner file names a process of this host that no longer runs."""
    try:
        host, pid_text = (folder / _OWNER_FILE).read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False  # not ours, or still being created: left alone
    if host != socket.gethostname() or pid == os.getpid():
        return False  # another machine's folder (a shared /tmp), or one of ours in use
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # a live process of another user
    return False


def remove_dead_runs(older_than: float, directory: str | None = None) -> int:
    """Removes spool folders of dead processes older than ``older_than`` seconds; their count.

    The age guard keeps a folder whose process id was taken over by a new process long
    enough for that process to be seen; a live process's folders are never removed.
    """
    root = Path(directory or tempfile.gettempdir())
    removed = 0
    cutoff = time.time() - older_than
    for folder in root.glob(RUN_PREFIX + "*"):
        try:
            if not folder.is_dir() or folder.stat().st_mtime > cutoff:
                continue
        except OSError:
            continue
        if _owner_is_gone(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("removed %d temporary folders of dead transcript runs in %s", removed, root)
    return removed
