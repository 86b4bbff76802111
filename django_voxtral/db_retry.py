"""Our own short writes, tried again a few times when SQLite says "database is locked".

Never retry inside a transaction the caller opened, and never retry any other error.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

logger = logging.getLogger(__name__)

#: DATABASES[...]["OPTIONS"] for a SQLite file shared by the site and its workers: writers queue
#: for the lock from the start of a transaction (IMMEDIATE) and wait up to 20 s for it, and
#: readers never block writers (WAL). docs/django.md (Workers, SQLite); check W004.
SQLITE_OPTIONS: dict[str, Any] = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
}
#: How many times one write is tried in all, and the first pause between tries (doubled each time).
ATTEMPTS = 6
FIRST_PAUSE = 0.1


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (or "database table is locked"), and nothing else."""
    return isinstance(exc, OperationalError) and "is locked" in str(exc)


def retry_locked[T](
    write: Callable[[], T],
    what: str,
    *,
    using: str = DEFAULT_DB_ALIAS,
    attempts: int | None = None,
    first_pause: float | None = None,
) -> T:
    """Calls ``write`` (one statement, or one whole ``transaction.atomic()`` of its own) until
    SQLite stops saying the database is locked, at most ``attempts`` (ATTEMPTS) times, pausing
    ``first_pause`` (FIRST_PAUSE) seconds after the first try and twice as long after each next;
    then raises.

    Inside a transaction opened by the caller nothing is retried: the lock error goes up to the
    code that owns the transaction, which alone can start it again.
    """
    attempts = ATTEMPTS if attempts is None else attempts
    first_pause = FIRST_PAUSE if first_pause is None else first_pause
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except OperationalError as exc:
            if not is_locked(exc) or attempt == attempts or connections[using].in_atomic_block:
                raise
            pause = first_pause * 2 ** (attempt - 1) * random.uniform(0.75, 1.25)
            logger.warning(
                "%s: the database is locked (try %d of %d); trying again in %.2f s",
                what,
                attempt,
                attempts,
                pause,
            )
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover
