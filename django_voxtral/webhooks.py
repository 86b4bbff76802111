"""Webhooks of the DeepInfra-style endpoint: URL checks, the signed POST, and its retries.

Never send to (or accept) an address inside the site's own network unless WEBHOOK_ALLOW_PRIVATE
says so, never follow a redirect, never read or decompress more than a few KB of an answer, and
never wait on a receiver from the transcript's own task: delivery is a task of its own, bounded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import json
import logging
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import anyio
import anyio.to_thread
import httpx
import idna
from django.dispatch import receiver
from django.utils import timezone

from .conf import get_settings
from .exceptions import WebhookSecretInvalid, WebhookURLRejected
from .models import Transcript
from .signals import transcript_failed, transcript_finished
from .speech.backends.retry import parse_retry_after
from .webhook_signing import signed_headers

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Attempts per message where the task backend can defer (a new task run each time).
ATTEMPTS = 5
#: The longest pause before the 2nd, 3rd, ... attempt (jittered below it: see backoff()); the
#: last value repeats, and it is also the most a receiver's Retry-After can make us wait.
BACKOFF = (5.0, 60.0, 600.0, 3600.0)
#: Where the task backend cannot defer (ImmediateBackend), fewer attempts, each after a sleep of
#: at most INLINE_SLEEP_MAX seconds, so that a failing receiver holds its caller only briefly.
INLINE_ATTEMPTS = 3
INLINE_SLEEP_MAX = 2.0
#: Answers whose Retry-After header is honoured ("too many requests", "unavailable").
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: The jitter's source (a module attribute, so a test can seed it).
jitter = random.Random()
#: Bytes of a receiver's answer that are ever read (raw: never decompressed); the rest is dropped.
MAX_RESPONSE_BYTES = 4096
USER_AGENT = "django-voxtral-webhook/1"


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


def _ascii_host(host: str, url: str, port: int | None) -> tuple[str, str]:
    """An internationalised host name as IDNA 2008 (punycode), in the host and in the URL."""
    if host.isascii():
        return host, url
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise WebhookURLRejected(
            f"The webhook host {host!r} is not a valid international domain name ({exc}); "
            "give its punycode (xn--...) form or another URL."
        ) from None
    parts = urlsplit(url)
    netloc = ascii_host if port is None else f"{ascii_host}:{port}"
    return ascii_host, urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


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
    host, url = _ascii_host(host, url, parts.port)
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


Outcome = Literal["delivered", "retry", "gave_up"]


@dataclass(frozen=True)
class Delivery:
    """What one attempt came to: delivered (2xx), worth a retry (5xx, 429, no answer), or not."""

    outcome: Outcome
    detail: str
    status_code: int | None = None
    bytes_read: int = 0  # of the answer's body, raw; at most MAX_RESPONSE_BYTES
    seconds: float = 0.0
    #: What a 429 or 503 answer's Retry-After asked for, in seconds (None: no usable header).
    retry_after: float | None = None


def new_message_id() -> str:
    """A webhook-id: one per message, the same for every attempt at it."""
    return f"msg_{uuid.uuid4().hex}"


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes that are sent and signed."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _judge(status: int) -> tuple[Outcome, str]:
    if 200 <= status < 300:
        return "delivered", f"HTTP {status}"
    if 300 <= status < 400:
        return "gave_up", f"HTTP {status}, a redirect (not followed: give the final URL)"
    if status == 429 or status >= 500:
        return "retry", f"HTTP {status}"
    return "gave_up", f"HTTP {status} (a client error is not retried)"


async def _attempt(url: str, content: bytes, signed: dict[str, str], timeout: float) -> Delivery:
    started = time.monotonic()
    status: int | None = None
    wait: float | None = None
    read = 0
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False, http2=False
    ) as client:
        # One deadline for all of it: DNS, connect, write, headers and the few bytes read, so a
        # receiver that answers one byte at a time cannot stretch it.
        with anyio.move_on_after(timeout) as deadline:
            try:
                # Checked at every attempt: the name may resolve elsewhere than at upload time.
                resolved = await anyio.to_thread.run_sync(
                    partial(check_webhook_url, url), abandon_on_cancel=True
                )
            except WebhookURLRejected as exc:
                return Delivery("gave_up", f"not sent: {exc}", seconds=time.monotonic() - started)
            target, headers, extensions = _pinned_request(resolved)
            headers.update(signed)
            headers["User-Agent"] = USER_AGENT
            headers["Content-Type"] = "application/json"
            headers["Accept-Encoding"] = "identity"  # and the raw bytes are read, never decoded
            try:
                request = client.build_request(
                    "POST", target, content=content, headers=headers, extensions=extensions
                )
                response = await client.send(request, stream=True)
                try:
                    status = response.status_code
                    if status in RETRY_AFTER_STATUSES:  # the headers are in: nothing more to read
                        wait = parse_retry_after(response.headers.get("Retry-After"))
                    # Raw bytes, never decoded; the transport takes at most 64 KiB off the socket
                    # at a time, of which MAX_RESPONSE_BYTES are kept before hanging up.
                    async for chunk in response.aiter_raw():
                        read = min(MAX_RESPONSE_BYTES, read + len(chunk))
                        if read >= MAX_RESPONSE_BYTES:
                            break
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                if status is None:
                    detail = f"{type(exc).__name__}: {exc or 'no answer'}"
                    return Delivery("retry", detail, seconds=time.monotonic() - started)
    seconds = time.monotonic() - started
    if deadline.cancelled_caught and status is None:
        return Delivery("retry", f"no answer within {timeout:g} s", None, read, seconds)
    assert status is not None
    outcome, detail = _judge(status)
    return Delivery(outcome, detail, status, read, seconds, wait)


def deliver(
    url: str,
    body: dict[str, Any],
    *,
    message_id: str | None = None,
    timeout: float | None = None,
) -> Delivery:
    """One signed POST of ``body`` to ``url``, all of it within ``timeout`` (WEBHOOK_TIMEOUT).

    Never raises for a receiver's fault, never follows a redirect, reads at most
    MAX_RESPONSE_BYTES of the answer and never decompresses it.
    """
    conf = get_settings()
    timeout = conf.webhook_timeout if timeout is None else timeout
    content = encode_body(body)
    try:
        signed = signed_headers(conf.webhook_secret, message_id or new_message_id(), content)
    except WebhookSecretInvalid as exc:
        return Delivery("gave_up", f"not sent: {exc}")
    run = partial(anyio.run, _attempt, url, content, signed, timeout)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    # Called from inside an event loop (an async view): the attempt gets a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def backoff(attempt: int, *, inline: bool = False, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1``, once attempt ``attempt`` has failed.

    The one schedule (with the defaults; ``inline`` where the task backend cannot defer)::

        after attempt   deferred: a new task run   inline: a sleep
        1               2.5 to 5 s                 1 to 2 s
        2               30 to 60 s                 1 to 2 s, then it gives up (3 in all)
        3               5 to 10 min
        4               30 to 60 min, then it gives up (5 in all)
        Retry-After     as asked, at most 1 h      as asked, at most 2 s

    Equal jitter: half the step's ceiling (BACKOFF, inline at most INLINE_SLEEP_MAX) plus a
    random share of the other half, so webhooks that failed together (a receiver down) do not
    all come back at the same instant. A receiver's ``retry_after`` (from a 429 or 503 answer's
    Retry-After, seconds or an HTTP date) is waited as asked, not jittered, but never longer
    than the schedule's longest pause (BACKOFF[-1], 1 h; inline INLINE_SLEEP_MAX).
    """
    most = INLINE_SLEEP_MAX if inline else BACKOFF[-1]
    if retry_after is not None:
        return min(max(retry_after, 0.0), most)
    ceiling = min(BACKOFF[min(max(attempt, 1) - 1, len(BACKOFF) - 1)], most)
    return ceiling / 2 + jitter.uniform(0.0, ceiling / 2)


def _next_attempt(
    transcript_id: str, message_id: str, attempt: int, retry_after: float | None = None
) -> float | None:
    """Queues attempt ``attempt + 1`` as a new task run, later; returns the pause (seconds),
    None when no attempt is left."""
    from django.tasks import task_backends

    from .tasks import send_webhook

    conf = get_settings()
    backend = task_backends[conf.task_backend]
    sender = send_webhook.using(backend=conf.task_backend, queue_name=conf.queue_name)
    if backend.supports_defer:
        if attempt >= ATTEMPTS:
            return None
        delay = backoff(attempt, retry_after=retry_after)
        run_after = timezone.now() + timedelta(seconds=delay)
        sender.using(run_after=run_after).enqueue(transcript_id, message_id, attempt + 1)
        return delay
    if attempt >= INLINE_ATTEMPTS:
        return None
    # No defer (ImmediateBackend runs the next attempt right here): a short, bounded pause.
    delay = backoff(attempt, inline=True, retry_after=retry_after)
    time.sleep(delay)
    sender.enqueue(transcript_id, message_id, attempt + 1)
    return delay


def deliver_transcript(transcript_id: str, *, message_id: str = "", attempt: int = 1) -> str:
    """One attempt at a transcript's webhook (the send_webhook task); queues the next on failure.

    Returns what came of it: delivered, retrying, failed, or nothing (no webhook, no row).
    """
    transcript = Transcript.objects.filter(pk=transcript_id).first()
    if transcript is None or not transcript.webhook:
        return "nothing"
    message_id = message_id or new_message_id()
    try:
        result = deliver(transcript.webhook, webhook_body(transcript), message_id=message_id)
    except Exception:  # a bug here must not take the worker down, nor retry forever
        logger.exception("webhook of transcript %s could not be sent", transcript_id)
        return "failed"
    if result.outcome == "delivered":
        return "delivered"
    if result.outcome == "retry":
        delay = _next_attempt(transcript_id, message_id, attempt, result.retry_after)
        if delay is not None:
            logger.warning(
                "webhook of transcript %s, attempt %d: %s; it will be tried again after %.1f s",
                transcript_id,
                attempt,
                result.detail,
                delay,
            )
            return "retrying"
    logger.warning(
        "webhook of transcript %s, attempt %d: %s; giving up", transcript_id, attempt, result.detail
    )
    return "failed"


@receiver(transcript_finished, dispatch_uid="django_voxtral.webhooks.finished")
@receiver(transcript_failed, dispatch_uid="django_voxtral.webhooks.failed")
def _on_transcript_end(sender: Any, transcript: Transcript, **kwargs: Any) -> None:
    # Only queued here: the transcript's task never waits on a receiver.
    if transcript.webhook:
        from .tasks import enqueue_webhooks

        enqueue_webhooks([str(transcript.pk)])
