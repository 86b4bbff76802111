"""Per-user daily budgets of audio minutes (VOXTRAL["USER_MINUTES_PER_DAY"]): used, left, reset.

The one place for the budget rule; never refuse or count anything elsewhere, and never read media.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .conf import get_settings
from .exceptions import BudgetExceeded
from .models import Transcript

#: Holders of this permission (and superusers, who hold every permission) have no daily budget.
EXEMPT_PERMISSION = "django_voxtral.unlimited_minutes"


def now() -> dt.datetime:
    """The current time (a function of its own, so tests can move the clock)."""
    return timezone.now()


def day_start(moment: dt.datetime | None = None) -> dt.datetime:
    """Midnight of ``moment``'s day in the site's TIME_ZONE (settings.TIME_ZONE)."""
    moment = moment or now()
    if timezone.is_aware(moment):
        local = timezone.localtime(moment, timezone.get_default_timezone())
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        # Re-localized: midnight's UTC offset may differ from the moment's (summer time).
        return timezone.make_aware(midnight.replace(tzinfo=None), timezone.get_default_timezone())
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def reset_time(moment: dt.datetime | None = None) -> dt.datetime:
    """When the budget of ``moment``'s day starts again: the next midnight, site's TIME_ZONE."""
    start = day_start(moment)
    following = (start + dt.timedelta(hours=26)).replace(tzinfo=None)
    midnight = following.replace(hour=0, minute=0, second=0, microsecond=0)
    if timezone.is_aware(start):
        return timezone.make_aware(midnight, timezone.get_default_timezone())
    return midnight


def limit_minutes() -> float | None:
    """VOXTRAL["USER_MINUTES_PER_DAY"]: None when there is no limit."""
    return get_settings().user_minutes_per_day


def is_exempt(user: Any) -> bool:
    """Whether ``user`` has no budget: no limit set, not signed in, or the exempt permission."""
    if limit_minutes() is None or not getattr(user, "is_authenticated", False):
        return True
    return bool(user.has_perm(EXEMPT_PERMISSION))


def minutes_used(user: Any, moment: dt.datetime | None = None, *, excluding: Any = None) -> float:
    """Minutes of audio of ``user``'s transcripts created or started today (length when known).

    Whatever their status: a failed or canceled transcript may have been paid for already. One
    whose length is not known yet (an upload hook's, before the worker measures it) counts 0.
    ``excluding``: the pk of a transcript left out (the one a worker is about to run).
    """
    if not getattr(user, "is_authenticated", False):
        return 0.0
    start = day_start(moment)
    mine = Transcript.objects.filter(owner=user)
    if excluding is not None:
        mine = mine.exclude(pk=excluding)
    seconds = mine.filter(Q(created__gte=start) | Q(started__gte=start)).aggregate(
        total=Sum("duration")
    )["total"]
    return float(seconds or 0.0) / 60


@dataclass(frozen=True)
class Budget:
    """One user's budget for today, and what a piece of work of ``adding`` minutes does to it."""

    limit: float | None
    used: float
    adding: float
    resets: dt.datetime
    exempt: bool
    #: A worker's check before a run (check_before_run), not an upload's: told as such.
    run: bool = False

    @property
    def left(self) -> float | None:
        """Minutes left before this work; None without a limit."""
        return None if self.limit is None else max(0.0, self.limit - self.used)

    @property
    def after(self) -> float:
        return self.used + self.adding

    @property
    def over(self) -> bool:
        """Whether the work would go past the limit (or the limit is already reached)."""
        if self.exempt or self.limit is None:
            return False
        # A hair of slack: the same figures summed in another order must not refuse.
        return self.after > self.limit + 1e-6 or (self.adding == 0 and self.used >= self.limit)

    @property
    def shown(self) -> dict[str, str]:
        """The figures as people read them (minutes to a tenth), for pages and messages."""
        return {
            "used": format_minutes(self.used),
            "limit": format_minutes(self.limit or 0),
            "adding": format_minutes(self.adding),
            "after": format_minutes(self.after),
            "left": format_minutes(self.left or 0),
            "resets": format_reset(self.resets),
        }

    def seconds_to_reset(self, moment: dt.datetime | None = None) -> int:
        return max(1, math.ceil((self.resets - (moment or now())).total_seconds()))

    def message(self) -> str:
        """What happened and what to do, with the figures."""
        values = self.shown
        if self.run:
            text = _(
                "Daily audio budget reached: %(used)s of the owner's %(limit)s minutes today "
                "are used, and this transcript needs %(adding)s more. Nothing was sent or paid "
                "for. The budget resets at %(resets)s; retry this transcript then, or ask the "
                "site's administrator for a larger budget."
            )
        elif self.used >= (self.limit or 0):
            text = _(
                "Daily audio budget used up: %(used)s of your %(limit)s minutes today are used. "
                "It resets at %(resets)s; send the file then, or ask the site's administrator "
                "for a larger budget."
            )
        else:
            text = _(
                "Over the daily audio budget: this is %(adding)s minutes of audio, and "
                "%(used)s of your %(limit)s minutes today are used. It resets at %(resets)s; "
                "send a shorter file, wait until then, or ask the site's administrator for a "
                "larger budget."
            )
        return text % values


def budget_for(user: Any, seconds: float | None = None) -> Budget:
    """``user``'s budget today with ``seconds`` of new audio (None: not known, counts 0)."""
    moment = now()
    exempt = is_exempt(user)
    return Budget(
        limit=limit_minutes(),
        used=0.0 if exempt and limit_minutes() is None else minutes_used(user, moment),
        adding=max(0.0, seconds or 0.0) / 60,
        resets=reset_time(moment),
        exempt=exempt,
    )


def check(user: Any, seconds: float | None) -> Budget:
    """The budget when ``seconds`` of audio fit in ``user``'s budget today; else BudgetExceeded."""
    budget = budget_for(user, seconds)
    if budget.over:
        raise BudgetExceeded(budget)
    return budget


def new_seconds(transcript: Transcript, seconds: float) -> float:
    """What of ``transcript``'s ``seconds`` of media a run would still send (and pay for).

    All of it, less what its stored chunk results already hold: nothing for a reused result (a
    done twin's chunks, all of them), and for a resumed run the share of its chunks not stored
    yet (its earlier run counted them), or, when that count is unknown, the seconds not covered.
    """
    spans = list(transcript.chunks.values_list("start", "end"))
    if not spans:
        return max(0.0, seconds)
    if transcript.reused_from_id is not None:
        return 0.0
    total = transcript.chunks_total
    if total > 0:
        return max(0.0, seconds) * max(0, total - len(spans)) / total
    return max(0.0, seconds - sum(end - start for start, end in spans))


def check_before_run(transcript: Transcript, seconds: float) -> Budget | None:
    """Before a worker sends anything of ``transcript`` (``seconds`` of media, measured): its
    owner's budget with this run; BudgetExceeded when the run would take them past it.

    Only what the run would send counts (new_seconds), against the owner's other transcripts of
    today: the transcript's own length is never counted against itself. None when no budget
    applies (no owner, no limit, or an exempt owner); nothing new is never refused.
    """
    owner = transcript.owner
    if owner is None or is_exempt(owner):
        return None
    moment = now()
    budget = Budget(
        limit=limit_minutes(),
        used=minutes_used(owner, moment, excluding=transcript.pk),
        adding=new_seconds(transcript, seconds) / 60,
        resets=reset_time(moment),
        exempt=False,
        run=True,
    )
    if budget.adding > 0 and budget.over:
        raise BudgetExceeded(budget)
    return budget


def refused_run_fields(transcript: Transcript) -> dict[str, Any]:
    """What a run refused by check_before_run changes besides its status and error, so that the
    refusal uses none of the budget: a transcript nothing of which was paid for gets no length
    (it counts 0; the worker measures it again when it is retried), while one with chunk results
    of its own (a resumed run's, paid for) keeps its length and still counts.
    """
    if transcript.reused_from_id is None and transcript.chunks.exists():
        return {}
    return {"duration": None}


def format_minutes(minutes: float) -> str:
    """``12.345`` -> ``12.3``; whole numbers without a decimal."""
    rounded = round(minutes, 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def format_reset(moment: dt.datetime) -> str:
    """The reset time in the site's TIME_ZONE with its offset, e.g. ``2025-01-02 00:00 +0000``."""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment, timezone.get_default_timezone())
        return moment.strftime("%Y-%m-%d %H:%M %z")
    return moment.strftime("%Y-%m-%d %H:%M")


__all__ = [
    "EXEMPT_PERMISSION",
    "Budget",
    "BudgetExceeded",
    "budget_for",
    "check",
    "check_before_run",
    "day_start",
    "is_exempt",
    "minutes_used",
    "new_seconds",
    "refused_run_fields",
    "reset_time",
]
