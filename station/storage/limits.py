"""Session limits from the protocol: sessions per day and a minimum gap, as pure functions.

Why pure: the rule is easy to get subtly wrong at midnight and around DST, so it takes
plain values (now, previous sessions, the limits, the timezone) and is tested directly;
the store only feeds it rows. A "day" is the station's local calendar day, because that is
how a patient and a clinician count "three times a day". A session counts once it has
started running, whatever its end (a stopped session was still an exposure); the gap runs
from the end of the previous session (its start while it has not ended).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from station.i18n import _, ngettext, short_day


@dataclass(frozen=True)
class PastSession:
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class LimitCheck:
    allowed: bool
    next_allowed_at: datetime | None  # None when allowed now
    rule: str | None  # "sessions_per_day" | "min_gap" when refused
    message: str
    done_today: int


def local(when: datetime, tz: tzinfo | None) -> datetime:
    """``when`` in the station's zone (the system's zone, DST-aware, when ``tz`` is None)."""
    return when.astimezone(tz) if tz is not None else when.astimezone()


def day_start(day: date, tz: tzinfo | None) -> datetime:
    """Local midnight at the start of ``day`` as an aware datetime."""
    naive = datetime.combine(day, time())
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()


def check_limits(
    now: datetime,
    previous: Sequence[PastSession],
    *,
    sessions_per_day: int | None,
    min_gap: timedelta | None,
    tz: tzinfo | None = None,
) -> LimitCheck:
    """May a session start at ``now``? If not, when is the earliest time it may."""
    today = local(now, tz).date()
    done_today = sum(1 for p in previous if local(p.started_at, tz).date() == today)
    last_end = max((p.ended_at or p.started_at for p in previous), default=None)

    candidate, rule = now, None
    if min_gap is not None and last_end is not None and now < last_end + min_gap:
        candidate, rule = last_end + min_gap, "min_gap"
    if sessions_per_day is not None:
        day = local(candidate, tz).date()
        count = sum(1 for p in previous if local(p.started_at, tz).date() == day)
        if count >= sessions_per_day:
            # Nothing has started on a later day yet, and the gap is already behind us.
            candidate = day_start(day + timedelta(days=1), tz)
            rule = "sessions_per_day"
    if rule is None:
        return LimitCheck(True, None, None, "a session may start now", done_today)
    return LimitCheck(
        False,
        candidate,
        rule,
        _message(rule, now, candidate, last_end, sessions_per_day, min_gap, done_today, tz),
        done_today,
    )


def _message(
    rule: str,
    now: datetime,
    at: datetime,
    last_end: datetime | None,
    per_day: int | None,
    gap: timedelta | None,
    done_today: int,
    tz: tzinfo | None,
) -> str:
    when = describe_time(at, now, tz)
    if rule == "sessions_per_day":
        why = ngettext(
            "The protocol allows at most %(num)d session a day",
            "The protocol allows at most %(num)d sessions a day", per_day or 0,
        ) + " " + ngettext(
            "and %(num)d has been done today.", "and %(num)d have been done today.", done_today
        )  # fmt: skip
    else:
        minutes = int(gap.total_seconds() // 60) if gap else 0
        ended = describe_time(last_end, now, tz) if last_end else _("recently")
        why = _(
            "The protocol asks for at least %(minutes)s minutes between sessions; "
            "the last one ended %(ended)s.", minutes=minutes, ended=ended,
        )  # fmt: skip
    return why + " " + _("The next session is allowed from %(when)s.", when=when)


def describe_time(at: datetime, now: datetime, tz: tzinfo | None) -> str:
    """``14:05 today`` / ``00:00 tomorrow (Sun 10 May)`` / ``09:00 on Tue 12 May``."""
    la, ln = local(at, tz), local(now, tz)
    hm = la.strftime("%H:%M")
    delta = (la.date() - ln.date()).days
    if delta == 0:
        return _("%(time)s today", time=hm)
    if delta == 1:
        return _("%(time)s tomorrow (%(day)s)", time=hm, day=short_day(la))
    if delta == -1:
        return _("%(time)s yesterday", time=hm)
    return _("%(time)s on %(day)s", time=hm, day=short_day(la, year=True))
