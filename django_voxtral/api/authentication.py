"""Token authentication that takes DRF's tokens as ``Token <key>`` and as ``Bearer <key>``.

The scheme word matches in any letter case (the hosted service writes ``bearer``); never log a key.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    TokenAuthentication,
    get_authorization_header,
)
from rest_framework.request import Request


class TokenOrBearerAuthentication(TokenAuthentication):
    """DRF's authtoken tokens under either scheme word: ``Token`` or ``Bearer``."""

    keywords: tuple[str, ...] = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(auth) == 1:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: no token after the scheme word; "
                "send 'Authorization: Bearer <token>'."
            )
        if len(auth) > 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: the token must not contain spaces."
            )
        try:
            key = auth[1].decode("ascii")
        except UnicodeError:
            key = ""
        if not key.isprintable():
            # Control characters (NUL above all) would reach the database query: PostgreSQL
            # refuses NUL in a string, which would be a 500 instead of a 401.
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: the token has characters a token never has; "
                "send the token exactly as manage.py drf_create_token printed it."
            )
        return self.authenticate_credentials(key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


#: What every view of the API accepts: a token (API clients) or the session (browsable API).
AUTHENTICATION_CLASSES: tuple[type[BaseAuthentication], ...] = (
    TokenOrBearerAuthentication,
    SessionAuthentication,
)
