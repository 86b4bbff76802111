"""Webhooks of the DeepInfra-style endpoint: URL checks, and the POST sent when a transcript ends.

Never send to (or accept) an address inside the site's own network unless WEBHOOK_ALLOW_PRIVATE
says so, never follow a redirect, and never let a failed delivery break the worker.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.dispatch import receiver

from .conf import get_settings
from .models import Transcript
from .signals import transcript_failed, transcript_finished

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Attempts per delivery; the receiver must be idempotent (the contract says so too).
ATTEMPTS = 3
#: Seconds to wait before the second and third attempt.
BACKOFF = (0.5, 2.0)
USER_AGENT = "django-voxtral-webhook/1"


class WebhookURLRejected(ValueError):
    """The webhook URL is not one we may call: bad scheme, no host, or an internal address."""


@dataclass(frozen=True)
class ResolvedURL:
    """A checked webhook URL and the addresses its host resolved to (all of them allowed)."""

    url: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (mapped, NAT64, 6to4, Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _forbidden_reason(ip: IPAddress) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 (and friends) reach 127.0.0.1: judge the IPv4 address they carry.
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = _forbidden_reason(embedded)
            if reason:
                return reason
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    return None


def _resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return (literal,)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookURLRejected(
            f"The webhook host {host!r} cannot be resolved ({exc}); give a URL whose host exists."
        ) from None
    addresses: list[IPAddress] = []
    for info in infos:
        # Scoped IPv6 addresses come back as "fe80::1%eth0"; the scope is not part of the address.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise WebhookURLRejected(f"The webhook host {host!r} resolves to no address.")
    return tuple(addresses)


def check_webhook_url(url: str, *, allow_private: bool | None = None) -> ResolvedURL:
    """Checks a webhook URL and resolves its host; WebhookURLRejected says what is wrong.

    Every address the host resolves to must be public (unless ``allow_private``, by default the
    WEBHOOK_ALLOW_PRIVATE setting), so that the endpoint cannot be used to reach the site's own
    network.
    """
    if allow_private is None:
        allow_private = get_settings().webhook_allow_private
    if not isinstance(url, str) or not url.strip():
        raise WebhookURLRejected("The webhook URL is empty; give an http:// or https:// URL.")
    url = url.strip()
    if len(url) > 2000:
        raise WebhookURLRejected("The webhook URL is longer than 2000 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookURLRejected(f"The webhook URL {url!r} is not a valid URL ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookURLRejected(
            f"The webhook URL must start with http:// or https://, not {parts.scheme or 'nothing'}."
        )
    host = parts.hostname
    if not host:
        raise WebhookURLRejected(f"The webhook URL {url!r} has no host name.")
    if parts.username or parts.password:
        raise WebhookURLRejected(
            "The webhook URL must not carry a user name or password; put a secret in its path."
        )
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = _forbidden_reason(address)
            if reason:
                raise WebhookURLRejected(
                    f"The webhook host {host!r} resolves to {address} ({reason} address); "
                    "webhooks may only go to public internet addresses."
                )
    return ResolvedURL(url=url, host=host, port=port, addresses=addresses)


def webhook_body(transcript: Transcript) -> dict[str, Any]:
    """The contract's webhook body for a finished or failed transcript."""
    request_id = transcript.request_id or str(transcript.pk)
    status = {
        "runtime_ms": int(transcript.runtime_ms or 0),
        "cost": float(transcript.cost or 0),
        "tokens_generated": 0,
        "tokens_input": 0,
    }
    if transcript.status == Transcript.Status.DONE:
        return {
            "request_id": request_id,
            "inference_status": {"status": "succeeded", **status},
            "results": transcript.to_result().to_contract(),
        }
    return {
        "request_id": request_id,
        "inference_status": {"status": "failed", **status},
        "error": transcript.error or f"The transcript was {transcript.status}.",
    }


def _pinned_request(resolved: ResolvedURL) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL rewritten to the checked address, so a second DNS answer cannot redirect us."""
    parts = urlsplit(resolved.url)
    address = resolved.addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{resolved.port}"
    default_port = 443 if parts.scheme == "https" else 80
    host_header = resolved.host if ":" not in resolved.host else f"[{resolved.host}]"
    if resolved.port != default_port:
        host_header += f":{resolved.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    # TLS must still check the certificate against the name, not the address.
    extensions = {"sni_hostname": resolved.host} if parts.scheme == "https" else {}
    return url, {"Host": host_header}, extensions


def send(url: str, body: dict[str, Any], *, timeout: float | None = None) -> bool:
    """POSTs ``body`` as JSON to ``url`` after checking it again; True when it was accepted (2xx).

    Retries on transport errors and 5xx/429 answers; never follows a redirect; never raises.
    """
    conf = get_settings()
    timeout = conf.webhook_timeout if timeout is None else timeout
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF[min(attempt - 1, len(BACKOFF) - 1)])
        try:
            # Checked at every attempt: the name may resolve elsewhere than at upload time.
            resolved = check_webhook_url(url)
        except WebhookURLRejected as exc:
            logger.warning("webhook not sent: %s", exc)
            return False
        target, headers, extensions = _pinned_request(resolved)
        headers["User-Agent"] = USER_AGENT
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
                response = client.post(target, json=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            logger.warning("webhook to %s failed (attempt %d): %s", resolved.host, attempt + 1, exc)
            continue
        if response.is_success:
            return True
        logger.warning(
            "webhook to %s answered HTTP %d (attempt %d)",
            resolved.host,
            response.status_code,
            attempt + 1,
        )
        if response.status_code != 429 and response.status_code < 500:
            return False
    return False


def notify(transcript: Transcript) -> bool:
    """Sends the transcript's webhook if it has one; True when the receiver accepted it."""
    if not transcript.webhook:
        return False
    try:
        return send(transcript.webhook, webhook_body(transcript))
    except Exception:  # the worker must survive a broken receiver or a bug here
        logger.exception("webhook of transcript %s could not be sent", transcript.pk)
        return False


@receiver(transcript_finished, dispatch_uid="django_voxtral.webhooks.finished")
@receiver(transcript_failed, dispatch_uid="django_voxtral.webhooks.failed")
def _on_transcript_end(sender: Any, transcript: Transcript, **kwargs: Any) -> None:
    notify(transcript)
