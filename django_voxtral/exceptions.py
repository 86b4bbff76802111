"""Floor 3's errors, and ACTIONABLE: the one list of errors a person can act on.

Never catch a bug with ACTIONABLE: an error outside it is a programming error and shows as one.

Every error a person can act on, by floor (each message says what happened and what to do)::

    Exception
     ├── ffmpeg_bridge.MediaError            the media: not media, no audio, too long, unreadable
     ├── speech.backends.errors.SpeechError  the service or the options: refused, down, unsupported
     ├── speech.pipeline.PipelineError       a chunk that failed after every retry
     └── VoxtralError                        floor 3 (this module)
          ├── UnknownBackend (KeyError)       an alias that VOXTRAL["BACKENDS"] does not have
          ├── BudgetExceeded                  past a user's daily audio minutes (a 429)
          ├── WebhookURLRejected (ValueError) a webhook address we will not call
          ├── WebhookSecretInvalid (ValueError)
          ├── UploadNotStored                 the storage refused an upload
          │    ├── StorageFull                ... because it has no room (a 507)
          │    └── UnsafeFileName             ... because of its name
          ├── MissingMedia                    a transcript's file, or its source instance, is gone
          ├── WrongStatus                     retry, cancel or an edit asked of a transcript that
          │                                   cannot (a 409)
          ├── EditRejected (ValueError)       an edit that cannot be saved as asked (a 400
          │                                   naming the field)
          └── NotInTranscript (LookupError)   a segment or revision the transcript does not have
                                              (a 404)

The API maps each to a status and a stable code (api/errors.py); the admin shows the message;
the worker stores it as the transcript's error; the transcribe command prints it on one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ffmpeg_bridge import MediaError

from .speech.backends.errors import SpeechError
from .speech.pipeline import PipelineError

if TYPE_CHECKING:
    from .budgets import Budget


class VoxtralError(Exception):
    """Base class of floor 3's errors a person can act on."""


class UnknownBackend(VoxtralError, KeyError):
    """A transcript or request names a backend alias that VOXTRAL["BACKENDS"] does not have."""

    def __init__(self, alias: str, known: list[str]) -> None:
        self.alias = alias
        super().__init__(
            f"No speech backend is configured as {alias!r}; "
            f"VOXTRAL['BACKENDS'] has: {', '.join(known) or 'nothing'}."
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class BudgetExceeded(VoxtralError):
    """The work would take a user past their daily budget; ``retry_after`` is seconds to reset."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.retry_after = budget.seconds_to_reset()
        super().__init__(budget.message())


class WebhookURLRejected(VoxtralError, ValueError):
    """The webhook URL is not one we may call: bad scheme, no host, or an internal address."""


class WebhookSecretInvalid(VoxtralError, ValueError):
    """VOXTRAL["WEBHOOK_SECRET"] is not a whsec_<base64> secret of 24 to 64 bytes."""


class UploadNotStored(VoxtralError):
    """The storage refused an upload (an OSError that is not a full disk); nothing was created.

    ``field`` is the form field that held the file.
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        self.field = field
        super().__init__(message)


class StorageFull(UploadNotStored):
    """The storage has no room: the server's problem, said as such; nothing was created."""


class UnsafeFileName(UploadNotStored):
    """The storage found the upload's name suspicious (e.g. a path); nothing was created."""


class MissingMedia(VoxtralError):
    """The transcript's file, or the instance it came from, is gone."""


class WrongStatus(VoxtralError):
    """A change asked of a transcript whose status does not allow it (retry a running one...)."""

    def __init__(self, message: str, *, status: str) -> None:
        self.status = status
        super().__init__(message)


class EditRejected(VoxtralError, ValueError):
    """An edit of a done transcript that cannot be saved as asked: times that overlap a
    neighbour, an empty text, a speaker name too long... ``field`` names what to fix."""

    def __init__(self, message: str, *, field: str) -> None:
        self.field = field
        super().__init__(message)


class NotInTranscript(VoxtralError, LookupError):
    """A segment or revision number the transcript does not have; ``what`` says which."""

    def __init__(self, message: str, *, what: str) -> None:
        self.what = what
        super().__init__(message)


#: Every error a person can act on: its message is shown as it is. Anything else is a bug.
ACTIONABLE: tuple[type[Exception], ...] = (MediaError, SpeechError, PipelineError, VoxtralError)


def is_actionable(exc: BaseException) -> bool:
    """Whether ``exc`` is an error a person can act on (its message says what to do)."""
    return isinstance(exc, ACTIONABLE)


__all__ = [
    "ACTIONABLE",
    "BudgetExceeded",
    "EditRejected",
    "MissingMedia",
    "NotInTranscript",
    "StorageFull",
    "UnknownBackend",
    "UnsafeFileName",
    "UploadNotStored",
    "VoxtralError",
    "WebhookSecretInvalid",
    "WebhookURLRejected",
    "WrongStatus",
    "is_actionable",
]
