"""Fixtures of the API tests: users with tokens, API clients signed in with them, tone files.

Never change the site's settings or start a server here; each test module sets up its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.fixtures_standin import write_tones


def tone(path: Path, seconds: float, frequency: float) -> Path:
    """A sine tone over the whole file, 16 kHz mono; the format follows the suffix."""
    return write_tones(path, duration=seconds, tones=[(0.0, seconds)], frequency=frequency)


def token_for(user: Any) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


def client_for(user: Any, scheme: str = "Bearer", **client_kwargs: Any) -> APIClient:
    """An API client that sends the user's token under ``scheme``."""
    client = APIClient(**client_kwargs)
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token_for(user)}")
    return client


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob")


@pytest.fixture
def token(alice: Any) -> str:
    """alice's API token."""
    return token_for(alice)


@pytest.fixture
def api(alice: Any) -> APIClient:
    """alice's API client; the throttles start from zero (their counts live in the cache)."""
    cache.clear()
    return client_for(alice)
