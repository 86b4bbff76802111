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


def minutes_used(user: Any, moment: dt.datetime | None = None) -> float:
    """Minutes of audio of ``user``'s transcripts created or started today (length when known).

    Whatever their status: a failed or canceled transcript may have been paid for already. One
    whose length is not known yet (an upload hook's, before the worker measures it) counts 0.
    """
    if not getattr(user, "is_authenticated", False):
        return 0.0
    start = day_start(moment)
    seconds = (
        Transcript.objects.filter(owner=user)
        .filter(Q(created__gte=start) | Q(started__gte=start))
        .aggregate(total=Sum("duration"))["total"]
    )
    return float(seconds or 0.0) / 60


@dataclass(frozen=True)
class Budget:
    """One user's budget for today, and what a piece of work of ``adding`` minutes does to it."""

    limit: float | None
    used: float
    adding: float
    resets: dt.datetime
    exempt: bool

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
        return self.after > self.limit or (self.adding == 0 and self.used >= self.limit)

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
        if self.used >= (self.limit or 0):
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


class BudgetExceeded(Exception):
    """The work would take a user past their daily budget; ``retry_after`` is seconds to reset."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.retry_after = budget.seconds_to_reset()
        super().__init__(budget.message())


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
    "day_start",
    "is_exempt",
    "minutes_used",
    "reset_time",
]
