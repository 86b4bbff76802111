"""The `transcribe` action on a site's own model (the test app's Clip), mixin and function forms.

Like delete_selected: a confirmation page with counts, length and cost, then post=yes queues in
bulk. Work goes to Django's dummy task backend, so what was queued is seen without running it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import include, path, reverse

from django_voxtral import hooks
from django_voxtral.admin import make_transcribe_action
from django_voxtral.admin.display import format_money
from django_voxtral.admin.transcribe import Estimate, plan_transcription, resolve_hook
from django_voxtral.models import Transcript
from tests.django_settings import TONES_ARE_SPEECH
from tests.testapp.models import Clip
from tests.testapp.queue import dummy_queue

# A second admin site whose Clip admin uses the plain function instead of the mixin.
function_site = admin.AdminSite(name="function_admin")


class ClipFunctionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    actions = [make_transcribe_action("file", language="en", name="transcribe_english")]


function_site.register(Clip, ClipFunctionAdmin)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("function-admin/", function_site.urls),
    path("", include("django_voxtral.urls")),
]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

CHANGELIST = "admin:testapp_clip_changelist"
PRICE = 0.006  # dollars per minute


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def priced(settings: Any) -> None:
    settings.VOXTRAL = {
        **TONES_ARE_SPEECH,
        "BACKENDS": {
            "default": {"BACKEND": "dummy", "OPTIONS": {"price_per_minute": PRICE}},
            "local": {"BACKEND": "local"},
        },
    }


@pytest.fixture
def registered(priced: None) -> Iterator[hooks.Hook]:
    hook = hooks.register(Clip, "file")
    yield hook
    hooks.unregister(Clip)


@pytest.fixture
def queued(settings: Any) -> Iterator[Callable[[], list[str]]]:
    """The ids of the transcripts put on the task queue (which does not run them)."""
    yield from dummy_queue(settings)


def clips(count: int, prefix: str = "clip", with_file: bool = True, **fields: Any) -> list[Clip]:
    # bulk_create sends no post_save: the upload hook does not queue these by itself.
    return Clip.objects.bulk_create(
        Clip(title=f"{prefix} {i}", file=f"clips/{prefix}-{i}.wav" if with_file else "", **fields)
        for i in range(count)
    )


def transcript_of(clip: Clip, status: str, duration: float | None = None) -> Transcript:
    return Transcript.objects.create(
        content_type=ContentType.objects.get_for_model(Clip),
        object_id=str(clip.pk),
        source_field="file",
        media_name=clip.file.name,
        status=status,
        duration=duration,
    )


def hidden_inputs(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)


def choose_transcribe(client: Client, ids: list[str], **kwargs: Any) -> Any:
    """Picks the transcribe action for these rows on the change list (its confirmation page)."""
    return client.post(
        reverse(CHANGELIST), {"action": "transcribe", "_selected_action": ids, "index": 0}, **kwargs
    )


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def mixed(registered: hooks.Hook) -> dict[str, Clip]:
    new_a, new_b, done, busy, failed = clips(5)
    (no_file,) = clips(1, prefix="empty", with_file=False)
    transcript_of(done, Transcript.Status.DONE, duration=90.0)
    transcript_of(busy, Transcript.Status.QUEUED)
    transcript_of(failed, Transcript.Status.FAILED)
    # A done transcript of an earlier file of new_a does not count for its new file.
    Transcript.objects.create(
        content_type=ContentType.objects.get_for_model(Clip),
        object_id=str(new_a.pk),
        source_field="file",
        media_name="clips/older.wav",
        status=Transcript.Status.DONE,
        duration=30.0,
    )
    return {
        "new_a": new_a,
        "new_b": new_b,
        "done": done,
        "busy": busy,
        "failed": failed,
        "no_file": no_file,
    }


def test_confirmation_page_counts_and_estimates(
    admin_client: Client, mixed: dict[str, Clip], queued: Callable[[], list[str]]
) -> None:
    ids = [str(c.pk) for c in mixed.values()]
    response = choose_transcribe(admin_client, ids)
    assert response.status_code == 200
    assert response.templates[0].name == "django_voxtral/admin/transcribe_confirmation.html"
    plan = response.context["plan"]
    assert plan.total == 6
    assert {c.pk for c in plan.new} == {mixed["new_a"].pk, mixed["new_b"].pk, mixed["failed"].pk}
    assert [c.pk for c in plan.done] == [mixed["done"].pk]
    assert (plan.in_progress, plan.without_file) == (1, 1)
    assert plan.new_estimate.unknown_files == 3
    assert plan.done_estimate.known_seconds == 90.0
    page = response.content.decode()
    assert "The length of these 3 files is not known yet" in page
    assert f"${PRICE}" in page
    assert f"{format_money(Decimal(str(PRICE)) * 60)}</strong> per hour" in page
    # Re-transcribing the done one (90 s) would cost 1.5 minutes at the price per minute.
    assert format_money(Decimal(str(PRICE)) * Decimal("1.5")) in page
    inputs = hidden_inputs(page)
    assert sorted(v for k, v in inputs if k == "_selected_action") == sorted(ids)
    assert ("action", "transcribe") in inputs and ("post", "yes") in inputs
    assert queued() == [] and Transcript.objects.count() == 4  # nothing made yet


def confirm(client: Client, page: str, url: str, **extra: str) -> Any:
    data: dict[str, Any] = {}
    for name, value in hidden_inputs(page):
        data.setdefault(name, []).append(value)
    data.update(extra)
    return client.post(url, data)


def test_post_yes_queues_the_new_files_for_the_admin(
    admin_client: Client,
    admin_user: Any,
    mixed: dict[str, Clip],
    queued: Callable[[], list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = reverse(CHANGELIST)
    ids = [str(c.pk) for c in mixed.values()]
    page = choose_transcribe(admin_client, ids).content.decode()
    before = set(Transcript.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(admin_client, page, url)
    assert response.status_code == 302
    made = Transcript.objects.exclude(pk__in=before)
    assert sorted(int(t.object_id) for t in made) == sorted(
        [mixed["new_a"].pk, mixed["new_b"].pk, mixed["failed"].pk]
    )
    assert all(t.owner == admin_user and t.status == Transcript.Status.QUEUED for t in made)
    assert sorted(queued()) == sorted(str(t.pk) for t in made)
    assert "3 transcripts queued." in messages_of(response)


def test_ticking_again_also_queues_the_done_ones(
    admin_client: Client,
    mixed: dict[str, Clip],
    queued: Callable[[], list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = reverse(CHANGELIST)
    ids = [str(c.pk) for c in mixed.values()]
    page = choose_transcribe(admin_client, ids).content.decode()
    assert 'name="again"' in page
    with django_capture_on_commit_callbacks(execute=True):
        confirm(admin_client, page, url, again="yes")
    assert len(queued()) == 4
    assert mixed["done"].transcripts.count() == 2
    assert mixed["busy"].transcripts.count() == 1  # never twice at once


def test_thousand_rows_in_a_few_queries(
    admin_client: Client,
    registered: hooks.Hook,
    queued: Callable[[], list[str]],
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
    django_user_model: Any,
) -> None:
    uploader = django_user_model.objects.create_user("uploader")
    # The hook names an owner per row: read through the change list's select_related.
    hooks.register(Clip, "file", owner=lambda clip: clip.uploaded_by)
    made = clips(1000, uploaded_by=uploader)
    url = reverse(CHANGELIST)
    # "Select all 1000" is one flag plus the visible page's ids, as the change list posts it.
    first_page = [str(c.pk) for c in made[:100]]
    data = {"action": "transcribe", "_selected_action": first_page, "select_across": "1"}
    with django_assert_max_num_queries(15):
        page = admin_client.post(url, {**data, "index": 0})
    assert page.context["plan"].total == 1000
    assert ("select_across", "1") in hidden_inputs(page.content.decode())
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(20):
        response = confirm(admin_client, page.content.decode(), url)
    assert response.status_code == 302
    assert Transcript.objects.filter(owner=uploader).count() == 1000
    assert len(set(queued())) == 1000


def test_the_function_form_on_another_admin(
    admin_client: Client,
    priced: None,
    queued: Callable[[], list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """make_transcribe_action("file") works without registering the hook; options apply."""
    one, two = clips(2)
    url = reverse("function_admin:testapp_clip_changelist")
    ids = [str(one.pk), str(two.pk)]
    page = admin_client.post(
        url, {"action": "transcribe_english", "_selected_action": ids, "index": 0}
    ).content.decode()
    assert ("action", "transcribe_english") in hidden_inputs(page)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(admin_client, page, url)
    made = Transcript.objects.all()
    assert sorted(made.values_list("language", flat=True)) == ["en", "en"]
    assert len(queued()) == 2


def test_unregistered_model_says_what_to_do(admin_client: Client, priced: None) -> None:
    (one,) = clips(1)
    response = choose_transcribe(admin_client, [str(one.pk)], follow=True)
    assert any("django_voxtral.register" in m for m in messages_of(response))
    assert not Transcript.objects.exists()


def test_resolve_hook_errors() -> None:
    with pytest.raises(ValueError, match="not registered"):
        resolve_hook(Clip, None)
    with pytest.raises(ValueError, match="no file field 'title'"):
        resolve_hook(Clip, "title")
    assert resolve_hook(Clip, "file").field == "file"


def test_plan_uses_a_site_known_duration(registered: hooks.Hook) -> None:
    one, two = clips(2)
    plan = plan_transcription(
        [one, two], registered, task="transcribe", durations=lambda c: 60.0 if c == one else None
    )
    assert (plan.new_estimate.known_files, plan.new_estimate.known_seconds) == (1, 60.0)
    assert plan.new_estimate.cost(PRICE) == Decimal(str(PRICE))
    assert plan.new_estimate.extrapolated_cost(PRICE) == 2 * Decimal(str(PRICE))
    assert plan.new_estimate.cost(None) is None


def test_estimate_and_money_formatting() -> None:
    estimate = Estimate()
    for seconds in (30.0, None, 90.0):
        estimate.add(seconds)
    assert (estimate.files, estimate.known_files, estimate.unknown_files) == (3, 2, 1)
    assert estimate.cost(0.5) == Decimal(1)
    assert format_money(Decimal(1)) == "$1.00"
    assert format_money(Decimal("0.0045")) == "$0.0045"
    assert format_money(None) == ""


def test_a_site_known_length_gives_a_cost_and_an_extrapolation(
    admin_client: Client, registered: hooks.Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.testapp.admin import ClipAdmin

    # A site whose model stores its length tells the page through the mixin's hook.
    monkeypatch.setattr(
        ClipAdmin,
        "get_transcribe_duration",
        lambda self, clip: 120.0 if clip.title.endswith(" 0") else None,
        raising=True,
    )
    made = clips(2)
    page = choose_transcribe(admin_client, [str(c.pk) for c in made]).content.decode()
    price = Decimal(str(PRICE))
    assert "Known length: <strong>0:02:00</strong> for 1 file;" in page
    assert "1 file of unknown length" in page
    assert f'<strong class="voxtral-cost">{format_money(2 * price)}</strong>' in page
    assert f"about {format_money(4 * price)} in all" in page


@pytest.fixture
def editor(django_user_model: Any) -> Any:
    """A staff user who may transcribe clips, not a superuser: the daily budget applies."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("editor", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="testapp", codename__in=("view_clip", "change_clip")
        )
    )
    return user


@pytest.fixture
def two_minutes_each(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.testapp.admin import ClipAdmin

    monkeypatch.setattr(ClipAdmin, "get_transcribe_duration", lambda self, clip: 120.0)


def budgeted(settings: Any, minutes: float) -> None:
    settings.VOXTRAL = {**settings.VOXTRAL, "USER_MINUTES_PER_DAY": minutes}


@pytest.mark.usefixtures("two_minutes_each")
def test_confirmation_page_shows_the_budget_and_queues_within_it(
    settings: Any,
    registered: hooks.Hook,
    editor: Any,
    queued: Callable[[], list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    budgeted(settings, 10)
    Transcript.objects.create(owner=editor, media_name="earlier.wav", duration=120.0)
    client = Client()
    client.force_login(editor)
    made = clips(2)
    page = choose_transcribe(client, [str(c.pk) for c in made]).content.decode()
    assert '<td class="voxtral-budget-used">2 min</td>' in page
    assert '<td class="voxtral-budget-adding">4 min</td>' in page
    assert '<td class="voxtral-budget-limit">10 min (resets at' in page
    assert "6 min: within the limit" in page
    assert "disabled" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(client, page, reverse(CHANGELIST))
    assert "2 transcripts queued." in messages_of(response)
    assert len(queued()) == 2


@pytest.mark.usefixtures("two_minutes_each")
def test_confirmation_page_refuses_past_the_budget(
    settings: Any, registered: hooks.Hook, editor: Any, queued: Callable[[], list[str]]
) -> None:
    budgeted(settings, 3)
    client = Client()
    client.force_login(editor)
    made = clips(2)
    page = choose_transcribe(client, [str(c.pk) for c in made]).content.decode()
    assert '<strong class="voxtral-over">over the limit</strong>' in page
    assert "this is 4 minutes of audio, and 0 of your 3 minutes today are used" in page
    assert 'value="Yes, transcribe" disabled' in page
    response = confirm(client, page, reverse(CHANGELIST))
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert message.startswith("Nothing was queued. Over the daily audio budget")
    assert queued() == [] and Transcript.objects.count() == 0


def test_superusers_see_no_budget(
    settings: Any, admin_client: Client, registered: hooks.Hook
) -> None:
    budgeted(settings, 1)
    page = choose_transcribe(admin_client, [str(c.pk) for c in clips(1)]).content.decode()
    assert "voxtral-budget" not in page
