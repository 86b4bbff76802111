"""Who sees and deletes which transcripts through the API: owners theirs, others by permission.

The test client against the real views; rows made directly (no media needed to be seen).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.cache import cache
from rest_framework.test import APIClient

from django_voxtral.models import Transcript
from django_voxtral.permissions import may, transcripts_for
from tests.fixtures_api import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


@pytest.fixture
def rows(alice: Any, bob: Any) -> dict[str, Transcript]:
    return {
        "alice": Transcript.objects.create(owner=alice, media_name="alice.wav"),
        "bob": Transcript.objects.create(owner=bob, media_name="bob.wav"),
        "nobody": Transcript.objects.create(owner=None, media_name="hook.wav"),
    }


def user_with(django_user_model: Any, name: str, *perms: str, **flags: Any) -> Any:
    user = django_user_model.objects.create_user(name, **flags)
    for perm in perms:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="django_voxtral", codename=perm)
        )
    return user


def listed(client: APIClient) -> set[str]:
    response = client.get("/api/transcripts/")
    assert response.status_code == 200, response.content
    return {item["media_name"] for item in response.json()["results"]}


def detail(pk: Any) -> str:
    return f"/api/transcripts/{pk}/"


def test_staff_without_permissions_sees_only_their_own(
    django_user_model: Any, rows: dict[str, Transcript]
) -> None:
    staff = user_with(django_user_model, "staff", is_staff=True)
    mine = Transcript.objects.create(owner=staff, media_name="staff.wav")
    client = client_for(staff)
    assert listed(client) == {"staff.wav"}
    assert client.get(detail(rows["bob"].pk)).status_code == 404
    assert client.get(f"/api/transcripts/{rows['bob'].pk}.srt").status_code == 404
    assert client.delete(detail(rows["bob"].pk)).status_code == 404
    assert Transcript.objects.filter(pk=rows["bob"].pk).exists()
    assert client.get(detail(mine.pk)).status_code == 200
    assert client.delete(detail(mine.pk)).status_code == 204


def test_view_permission_shows_others_but_does_not_delete(
    django_user_model: Any, rows: dict[str, Transcript]
) -> None:
    viewer = user_with(django_user_model, "viewer", "view_transcript", is_staff=True)
    client = client_for(viewer)
    assert listed(client) == {"alice.wav", "bob.wav", "hook.wav"}
    assert client.get(detail(rows["bob"].pk)).status_code == 200
    response = client.delete(detail(rows["bob"].pk))
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "permission_denied"
    assert "django_voxtral.delete_transcript" in body["detail"]
    assert Transcript.objects.filter(pk=rows["bob"].pk).exists()


def test_delete_permission_deletes_others(
    django_user_model: Any, rows: dict[str, Transcript]
) -> None:
    admin = user_with(
        django_user_model, "cleaner", "view_transcript", "delete_transcript", is_staff=True
    )
    client = client_for(admin)
    assert client.delete(detail(rows["bob"].pk)).status_code == 204
    assert not Transcript.objects.filter(pk=rows["bob"].pk).exists()


def test_change_permission_implies_view_as_in_the_admin(
    django_user_model: Any, rows: dict[str, Transcript]
) -> None:
    editor = user_with(django_user_model, "editor", "change_transcript", is_staff=True)
    client = client_for(editor)
    assert listed(client) == {"alice.wav", "bob.wav", "hook.wav"}
    assert client.delete(detail(rows["alice"].pk)).status_code == 403


def test_permissions_count_without_is_staff_and_through_groups(
    django_user_model: Any, rows: dict[str, Transcript]
) -> None:
    group = Group.objects.create(name="listeners")
    group.permissions.add(Permission.objects.get(codename="view_transcript"))
    user = django_user_model.objects.create_user("carol")
    user.groups.add(group)
    assert listed(client_for(user)) == {"alice.wav", "bob.wav", "hook.wav"}


def test_superuser_sees_and_deletes_all(
    django_user_model: Any, rows: dict[str, Transcript]
) -> None:
    root = django_user_model.objects.create_superuser("root")
    client = client_for(root)
    assert listed(client) == {"alice.wav", "bob.wav", "hook.wav"}
    assert client.get(detail(rows["nobody"].pk)).status_code == 200
    assert client.delete(detail(rows["alice"].pk)).status_code == 204


def test_owners_keep_full_access_to_their_own(alice: Any, rows: dict[str, Transcript]) -> None:
    client = client_for(alice)
    assert listed(client) == {"alice.wav"}
    assert client.get(detail(rows["bob"].pk)).status_code == 404
    assert client.delete(detail(rows["alice"].pk)).status_code == 204


def test_inactive_superuser_gets_nothing(
    django_user_model: Any, rows: dict[str, Transcript]
) -> None:
    root = django_user_model.objects.create_superuser("root", is_active=False)
    assert not transcripts_for(root).exists()
    assert not may(root, "view", rows["bob"])


def test_the_rule_as_functions(
    alice: Any, django_user_model: Any, rows: dict[str, Transcript]
) -> None:
    assert not transcripts_for(AnonymousUser()).exists()
    assert set(transcripts_for(alice)) == {rows["alice"]}
    viewer = user_with(django_user_model, "viewer", "view_transcript")
    assert transcripts_for(viewer).count() == 3
    assert transcripts_for(viewer, "delete").count() == 0
    assert may(viewer, "view", rows["bob"]) and not may(viewer, "delete", rows["bob"])
    assert may(alice, "delete", rows["alice"]) and not may(alice, "view", rows["nobody"])


def test_an_owners_status_poll_makes_two_queries(
    alice: Any, rows: dict[str, Transcript], django_assert_num_queries: Any
) -> None:
    # The token, then the transcript: an owner's own needs no lookup of their permissions
    # (BENCHMARKS.md, status poll). Others' are judged by permission (the tests above).
    client = client_for(alice)
    with django_assert_num_queries(2):
        response = client.get(detail(rows["alice"].pk))
    assert response.status_code == 200
    assert response.json()["media_name"] == "alice.wav"


def test_a_malformed_id_is_404_not_500(alice: Any) -> None:
    response = client_for(alice).get("/api/transcripts/" + "-" * 32 + "/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
