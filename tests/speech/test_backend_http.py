"""The HTTP helpers on their own: Retry-After, backoff bounds, content types, redaction.

Never sleep here: every wait is computed, not taken.
"""

from __future__ import annotations

import email.utils
import random

import pytest

from django_voxtral.speech.backends.http import (
    RetryPolicy,
    Secret,
    audio_content_type,
    parse_retry_after,
    redact,
    safe_url,
)


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("1.5") == 1.5


def test_retry_after_as_an_http_date() -> None:
    now = 1_800_000_000.0
    later = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(42.0)
    earlier = email.utils.formatdate(now - 42, usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "Mon, 99 Foo 2025"])
def test_retry_after_nonsense_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_negative_retry_after_means_now() -> None:
    assert parse_retry_after("-5") == 0.0


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    rng = random.Random(1)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # the jitter uses the whole range
        assert min(delays) < 0.2 * ceiling


def test_retry_after_wins_over_backoff_but_is_capped() -> None:
    policy = RetryPolicy(retry_after_max=10.0)
    assert policy.delay(1, 7.0) == 7.0
    assert policy.delay(1, 700.0) == 10.0


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.flac", "audio/flac"),
        ("a.WAV", "audio/wav"),
        ("a.mp3", "audio/mpeg"),
        ("a.bin", "application/octet-stream"),
    ],
)
def test_content_types(name: str, content_type: str) -> None:
    assert audio_content_type(name) == content_type


def test_secrets_stay_hidden() -> None:
    secret = Secret("tok-abcdef")
    assert "tok-abcdef" not in repr(secret) and "tok-abcdef" not in str(secret)
    assert secret.reveal() == "tok-abcdef"
    assert redact("bad token tok-abcdef here", ["tok-abcdef"]) == "bad token *** here"
    assert safe_url("https://user:pw@host.example:8443/v1") == "https://***@host.example:8443/v1"
    assert safe_url("https://host.example/v1") == "https://host.example/v1"
