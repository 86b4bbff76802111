"""Standard Webhooks signatures: the whsec_ secret checked, and the webhook-* headers of one
message, signed by the spec's own library (standardwebhooks).

Never log or return the secret, and never sign bytes other than the exact body that is sent.
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from .exceptions import WebhookSecretInvalid

SECRET_PREFIX = "whsec_"
#: The Standard Webhooks spec asks for secrets of 24 to 64 bytes.
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix may be left out)."""
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(text + "==", validate=False)
    except (binascii.Error, ValueError):
        key = b""
    if not text or not key or not (MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES):
        raise WebhookSecretInvalid(
            "VOXTRAL['WEBHOOK_SECRET'] must be 'whsec_' followed by the base64 of 24 to 64 "
            'random bytes; make one with: python -c "import base64, os; '
            "print('whsec_' + base64.b64encode(os.urandom(32)).decode())\""
        )
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, the webhook-signature value."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return str(Webhook(key).sign(message_id, moment, body))


def signed_headers(
    secret: str, message_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers for this body; no webhook-signature without a secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {"webhook-id": message_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers["webhook-signature"] = signature(secret_key(secret), message_id, timestamp, body)
    return headers
