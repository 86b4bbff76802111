"""Throttling of uploads at the rate of VOXTRAL["UPLOAD_THROTTLE_RATE"] (e.g. "60/hour"), per user.

Counts uploads only (POST); never throttle reading transcripts. None as the rate turns it off.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..conf import get_settings


class UploadRateThrottle(SimpleRateThrottle):
    """Like DRF's ScopedRateThrottle, with the rate read from the VOXTRAL setting when used."""

    scope = "voxtral_upload"

    def get_rate(self) -> str | None:
        return get_settings().upload_throttle_rate or None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        ident = str(user.pk) if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
