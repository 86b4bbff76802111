"""Secret hygiene for the hosted backends: tokens kept out of sight, URLs without passwords.

Never log, raise or repr a token, nor a URL's user:password; reveal a token only to build a header.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

#: Shorter "secrets" are not replaced: "***" in place of every "a" would garble a message.
MIN_SECRET_CHARS = 4


class Secret:
    """A token that keeps itself out of reprs, logs and tracebacks' locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret replaced, for anything a person or a log may see."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, "***")
    return text


def safe_url(url: str) -> str:
    """A URL without user:password, for messages and reprs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, "***@" + netloc, parts.path, parts.query, parts.fragment))
