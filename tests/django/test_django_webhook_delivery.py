"""Webhook delivery that cannot hurt the worker: own task, one deadline, a few KB read, signed.

Real HTTP receivers on 127.0.0.1 in threads; bounds are generous (a noisy machine must pass).
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import gzip
import hashlib
import hmac
import os
import random
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.tasks import task_backends
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from django_voxtral import checks, webhooks
from django_voxtral.models import Transcript
from django_voxtral.tasks import enqueue, send_webhook, transcribe_transcript
from django_voxtral.webhook_signing import signed_headers
from django_voxtral.webhooks import MAX_RESPONSE_BYTES, deliver
from tests.django_settings import TONES_ARE_SPEECH
from tests.fixtures_api import tone

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


#: What a plain receiver answers: a status, or a status and headers.
Answer = int | tuple[int, dict[str, str]]


class Receiver:
    """A webhook receiver on 127.0.0.1: records raw bodies and headers, answers as told.

    ``mode`` is "plain" (the next of ``answers``: a status, or a status and headers; else 200),
    "drip" (a 200 answer one byte a second: 60 s in all) or "bomb" (50 MB of zeros, gzipped,
    with Content-Encoding: gzip).
    """

    def __init__(self, mode: str = "plain", answers: list[Answer] | None = None) -> None:
        self.mode = mode
        self.answers = list(answers or [])
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.stop = threading.Event()
        self.bomb = _gzip_bomb() if mode == "bomb" else b""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append(self.rfile.read(length))
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                # The sender hanging up early is what it should do.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    receiver.answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        if self.mode == "drip":
            payload = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + b"x" * 20
            for byte in payload[:60]:
                if self.stop.wait(1.0):
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            return
        if self.mode == "bomb":
            handler.send_response(200)
            handler.send_header("Content-Encoding", "gzip")
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(self.bomb)))
            handler.end_headers()
            handler.wfile.write(self.bomb)
            return
        answer = self.answers.pop(0) if self.answers else 200
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)


@pytest.fixture
def hooks(settings: Any) -> Iterator[list[Receiver]]:
    """Receivers are on 127.0.0.1, so private addresses are allowed; a short deadline."""
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        **settings.VOXTRAL,
        "WEBHOOK_ALLOW_PRIVATE": True,
        "WEBHOOK_TIMEOUT": 3,
        "WEBHOOK_SECRET": SECRET,
    }
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def receiver(
    hooks: list[Receiver], mode: str = "plain", answers: list[Answer] | None = None
) -> Receiver:
    made = Receiver(mode, answers)
    hooks.append(made)
    return made


def failed_transcript(url: str) -> Transcript:
    return Transcript.objects.create(
        media_name="a.wav", status=Transcript.Status.FAILED, error="service down", webhook=url
    )


def dummy_tasks(settings: Any) -> Any:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    backend = task_backends["default"]
    backend.clear()
    return backend


def webhook_runs(backend: Any) -> list[Any]:
    return [r for r in backend.results if r.task.name == send_webhook.name]


# --- the worker is not held ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_dripping_receiver_holds_neither_the_transcript_task_nor_its_own_for_long(
    hooks: list[Receiver],
    settings: Any,
    tmp_path: Path,
    alice: Any,
    bob: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    drip = receiver(hooks, "drip")  # would take 60 s to answer
    backend = dummy_tasks(settings)
    media = tone(tmp_path / "t.wav", 2.0, 440)
    with transaction.atomic():
        mine = Transcript(owner=alice, media_name="t.wav", webhook=drip.url)
        mine.media.save("t.wav", ContentFile(media.read_bytes()), save=False)
        mine.save()
        theirs = Transcript(owner=bob, media_name="t.wav")
        theirs.media.save("t.wav", ContentFile(media.read_bytes()), save=False)
        theirs.save()
        enqueue([mine, theirs])

    # The worker runs alice's transcript: it queues the webhook and never touches the network.
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        assert transcribe_transcript.call(str(mine.pk)) == Transcript.Status.DONE
    assert time.monotonic() - started < 15
    assert drip.bodies == []
    [queued] = webhook_runs(backend)
    assert queued.args[0] == str(mine.pk) and queued.args[1].startswith("msg_")

    # bob's transcript is next on the same worker, and finishes.
    assert transcribe_transcript.call(str(theirs.pk)) == Transcript.Status.DONE

    # The webhook's own run is cut off at WEBHOOK_TIMEOUT (3 s), not after the drip's 60 s.
    started = time.monotonic()
    assert send_webhook.call(*queued.args) == "retrying"
    assert time.monotonic() - started < 15
    assert len(drip.bodies) == 1
    retry = webhook_runs(backend)[-1]
    assert retry.args == [str(mine.pk), queued.args[1], 2]


def test_one_deadline_bounds_the_whole_call(hooks: list[Receiver]) -> None:
    drip = receiver(hooks, "drip")
    started = time.monotonic()
    delivery = deliver(drip.url, {"request_id": "slow"}, timeout=2)
    assert time.monotonic() - started < 15
    assert delivery.outcome == "retry"
    assert "no answer within 2 s" in delivery.detail


def test_a_gzip_bomb_is_neither_read_nor_decompressed(hooks: list[Receiver]) -> None:
    bomb = receiver(hooks, "bomb")
    tracemalloc.start()
    try:
        delivery = deliver(bomb.url, {"request_id": "bomb"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert delivery.outcome == "delivered"
    assert 0 < delivery.bytes_read <= MAX_RESPONSE_BYTES
    assert peak < 10 * 1024 * 1024  # decompressed, it would be 50 MB
    assert bomb.headers[0]["accept-encoding"] == "identity"


# --- signatures ---------------------------------------------------------------------------


def test_the_signature_verifies_with_standardwebhooks(hooks: list[Receiver]) -> None:
    hook = receiver(hooks)
    body = {"request_id": "r1", "text": "Grüße"}
    assert deliver(hook.url, body, message_id="msg_1").outcome == "delivered"
    raw, headers = hook.bodies[0], hook.headers[0]
    assert headers["webhook-id"] == "msg_1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 600
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"

    assert Webhook(SECRET).verify(raw, headers) == body
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(raw.replace(b"r1", b"r2"), headers)
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(raw, headers)


def test_the_signature_is_the_specs_hmac_of_id_timestamp_and_body() -> None:
    # Computed here by hand as the spec says, not by the library that signs.
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = '{"text": "Grüße"}'.encode()
    headers = signed_headers(secret, "msg_2", body, timestamp=1_700_000_000)
    digest = hmac.new(key, b"msg_2.1700000000." + body, hashlib.sha256).digest()
    assert headers == {
        "webhook-id": "msg_2",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def test_without_a_secret_webhooks_are_unsigned_and_a_check_warns(
    hooks: list[Receiver], settings: Any
) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "WEBHOOK_SECRET": ""}
    hook = receiver(hooks)
    assert deliver(hook.url, {"request_id": "r1"}).outcome == "delivered"
    assert "webhook-signature" not in hook.headers[0]
    assert hook.headers[0]["webhook-id"].startswith("msg_")
    assert [m.id for m in checks.check_webhook_secret()] == ["django_voxtral.W003"]


def test_a_malformed_secret_sends_nothing_and_a_check_says_so(
    hooks: list[Receiver], settings: Any
) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "WEBHOOK_SECRET": "whsec_c2hvcnQ="}
    hook = receiver(hooks)
    delivery = deliver(hook.url, {"request_id": "r1"})
    assert delivery.outcome == "gave_up" and "24 to 64" in delivery.detail
    assert hook.bodies == []
    [error] = checks.check_webhook_secret()
    assert error.id == "django_voxtral.E009"
    settings.VOXTRAL = {**settings.VOXTRAL, "WEBHOOK_SECRET": SECRET}
    assert checks.check_webhook_secret() == []


# --- retries ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retries_are_new_task_runs_with_backoff_and_stop_after_the_limit(
    hooks: list[Receiver], settings: Any
) -> None:
    hook = receiver(hooks, answers=[500] * 20)
    backend = dummy_tasks(settings)
    transcript = failed_transcript(hook.url)

    outcomes = [send_webhook.call(str(transcript.pk), "msg_same", 1)]
    delays: list[float] = []
    while (runs := webhook_runs(backend)) and len(runs) >= len(outcomes):
        run = runs[len(outcomes) - 1]
        assert run.task.run_after is not None
        delays.append((run.task.run_after - timezone.now()).total_seconds())
        outcomes.append(run.task.call(*run.args))

    assert len(hook.bodies) == webhooks.ATTEMPTS
    assert outcomes == ["retrying"] * (webhooks.ATTEMPTS - 1) + ["failed"]
    assert [run.args[2] for run in webhook_runs(backend)] == list(range(2, webhooks.ATTEMPTS + 1))
    # Each later than the one before, from seconds to about an hour (jittered: half to all of
    # 5 s, 1 min, 10 min, 1 h).
    assert delays == sorted(delays) and delays[0] > 0 and delays[-1] > 1700
    assert {h["webhook-id"] for h in hook.headers} == {"msg_same"}
    for raw, headers in zip(hook.bodies, hook.headers, strict=True):
        assert Webhook(SECRET).verify(raw, headers)["inference_status"]["status"] == "failed"


@pytest.mark.django_db
def test_a_retry_that_succeeds_ends_it(hooks: list[Receiver], settings: Any) -> None:
    hook = receiver(hooks, answers=[503])
    backend = dummy_tasks(settings)
    transcript = failed_transcript(hook.url)
    assert send_webhook.call(str(transcript.pk), "msg_a", 1) == "retrying"
    [run] = webhook_runs(backend)
    assert run.task.run_after - timezone.now() < timedelta(seconds=webhooks.BACKOFF[0] + 1)
    assert run.task.call(*run.args) == "delivered"
    assert len(webhook_runs(backend)) == 1 and len(hook.bodies) == 2


@pytest.mark.django_db
def test_without_defer_retries_are_few_and_their_pauses_short(
    hooks: list[Receiver], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ImmediateBackend (the test settings) cannot defer: the next attempt runs after a pause.
    assert not task_backends["default"].supports_defer
    monkeypatch.setattr(webhooks, "INLINE_SLEEP_MAX", 0.05)
    hook = receiver(hooks, answers=[500] * 20)
    transcript = failed_transcript(hook.url)
    started = time.monotonic()
    assert send_webhook.call(str(transcript.pk), "msg_b", 1) == "retrying"
    assert time.monotonic() - started < 15
    assert len(hook.bodies) == webhooks.INLINE_ATTEMPTS
    assert {h["webhook-id"] for h in hook.headers} == {"msg_b"}


@pytest.mark.django_db
def test_a_redirect_is_not_followed_nor_retried(hooks: list[Receiver], settings: Any) -> None:
    target = receiver(hooks)
    backend = dummy_tasks(settings)

    class Redirect(Receiver):
        def answer(self, handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(302)
            handler.send_header("Location", target.url)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

    redirector = Redirect()
    hooks.append(redirector)
    transcript = failed_transcript(redirector.url)
    assert send_webhook.call(str(transcript.pk), "msg_c", 1) == "failed"
    assert len(redirector.bodies) == 1 and target.bodies == []
    assert webhook_runs(backend) == []


# --- the schedule: jitter and Retry-After -------------------------------------------------


def scheduled_delay(backend: Any) -> float:
    """Seconds from now until the last queued webhook run."""
    run = webhook_runs(backend)[-1]
    assert run.task.run_after is not None
    return float((run.task.run_after - timezone.now()).total_seconds())


@pytest.mark.django_db
def test_a_503_with_retry_after_in_seconds_is_tried_again_then(
    hooks: list[Receiver], settings: Any
) -> None:
    hook = receiver(hooks, answers=[(503, {"Retry-After": "7"})])
    backend = dummy_tasks(settings)
    transcript = failed_transcript(hook.url)
    assert send_webhook.call(str(transcript.pk), "msg_r", 1) == "retrying"
    assert 5.0 < scheduled_delay(backend) <= 7.0  # 7 s as asked (jitter would give 2.5 to 5)
    [run] = webhook_runs(backend)
    assert run.task.call(*run.args) == "delivered"


@pytest.mark.django_db
def test_a_429_with_retry_after_as_an_http_date(hooks: list[Receiver], settings: Any) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    hook = receiver(hooks, answers=[(429, {"Retry-After": when})])
    backend = dummy_tasks(settings)
    transcript = failed_transcript(hook.url)
    assert send_webhook.call(str(transcript.pk), "msg_d", 1) == "retrying"
    # Whole seconds in the header, and the time the call took: about 2 minutes.
    assert 110.0 < scheduled_delay(backend) <= 121.0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["86400000", email.utils.formatdate(time.time() + 30 * 86400, usegmt=True)],
    ids=["seconds", "date"],
)
def test_a_huge_retry_after_is_capped_at_the_longest_pause(
    hooks: list[Receiver], settings: Any, header: str
) -> None:
    hook = receiver(hooks, answers=[(503, {"Retry-After": header})])
    backend = dummy_tasks(settings)
    transcript = failed_transcript(hook.url)
    assert send_webhook.call(str(transcript.pk), "msg_h", 1) == "retrying"
    assert webhooks.BACKOFF[-1] - 60 < scheduled_delay(backend) <= webhooks.BACKOFF[-1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer", [500, (500, {"Retry-After": "3000"}), (503, {"Retry-After": "soon"})]
)
def test_without_a_usable_retry_after_the_schedule_applies(
    hooks: list[Receiver], settings: Any, answer: Answer
) -> None:
    """Only 429 and 503 are asked when to come back; an unreadable header is no answer."""
    hook = receiver(hooks, answers=[answer])
    backend = dummy_tasks(settings)
    transcript = failed_transcript(hook.url)
    assert send_webhook.call(str(transcript.pk), "msg_s", 1) == "retrying"
    assert 0 < scheduled_delay(backend) <= webhooks.BACKOFF[0]


def test_the_answer_says_what_retry_after_asked_for(hooks: list[Receiver]) -> None:
    hook = receiver(hooks, answers=[(503, {"Retry-After": "7"}), (429, {"Retry-After": "-3"})])
    delivery = deliver(hook.url, {"request_id": "r"})
    assert (delivery.outcome, delivery.status_code, delivery.retry_after) == ("retry", 503, 7.0)
    assert deliver(hook.url, {"request_id": "r"}).retry_after == 0.0  # below 0: at once


def test_inline_a_retry_after_is_capped_at_the_inline_pause() -> None:
    assert webhooks.backoff(1, inline=True, retry_after=7) == webhooks.INLINE_SLEEP_MAX
    assert webhooks.backoff(2, inline=True, retry_after=0.5) == 0.5
    assert webhooks.backoff(1, retry_after=7) == 7.0
    assert webhooks.backoff(4, retry_after=10**9) == webhooks.BACKOFF[-1]


def test_the_pauses_are_jittered_within_their_ceilings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal jitter: each pause is from half its ceiling to all of it, and spreads over that."""
    monkeypatch.setattr(webhooks, "jitter", random.Random(20250101))
    for attempt in range(1, webhooks.ATTEMPTS + 2):
        ceiling = webhooks.BACKOFF[min(attempt, len(webhooks.BACKOFF)) - 1]
        for inline, most in ((False, ceiling), (True, min(ceiling, webhooks.INLINE_SLEEP_MAX))):
            pauses = [webhooks.backoff(attempt, inline=inline) for _ in range(500)]
            assert all(most / 2 <= pause <= most for pause in pauses)
            # Spread over the range, not one value: webhooks failing together come back apart.
            assert min(pauses) < most * 0.55 and max(pauses) > most * 0.95
            assert len(set(pauses)) > 400
