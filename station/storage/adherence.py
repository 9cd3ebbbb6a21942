"""Which prescription was in force on each day, for adherence (``store.progress.adherence``).

A clinician reads adherence as "sessions done against sessions prescribed, day by day,
since the programme began". So:
- the programme begins on the day the plan was first set (the first line of the level
  history, which every plan has); days before it prescribe nothing and do not count;
- each day counts against the sessions per day in force WHEN THAT DAY BEGAN: a clinician
  who changes 3 a day to 2 a day on Thursday afternoon changes Friday onwards, not the
  Thursday the patient already planned, nor the weeks before;
- the plan's first day counts against the first prescription armed that day.
Where the prescription comes from: every armed program is recorded with the sessions per
day it was armed under (``sessions.sessions_per_day``, written by the planner from the
plan's effective caps), and a caps change re-arms at once, so the arming rows are the
prescription's history. With no plan history at all the caller's value is used for every
day (nothing on record says otherwise).
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime, timedelta
from typing import Any

from station.storage.limits import day_start, local


def prescribed_by_day(
    start_day: date,
    end_day: date,
    *,
    plan_start: datetime | None,
    armed: list[tuple[datetime, int]],
    fallback: int | None,
    tz: Any,
) -> dict[date, int | None]:
    """Day -> sessions per day prescribed (None: before the plan began). ``armed``:
    (armed at, sessions per day) of every armed program, oldest first."""
    if plan_start is not None:  # what was armed before the plan is not its prescription
        armed = [a for a in armed if a[0] >= plan_start]
    times = [t for t, _ in armed]
    out: dict[date, int | None] = {}
    first = local(plan_start, tz).date() if plan_start is not None else None
    day = start_day
    while day <= end_day:
        if plan_start is None:
            out[day] = fallback
        elif first is not None and day < first:
            out[day] = None
        else:
            out[day] = _in_force(day, times, armed, fallback, tz)
        day += timedelta(days=1)
    return out


def _in_force(
    day: date, times: list[datetime], armed: list[tuple[datetime, int]], fallback: int | None,
    tz: Any,
) -> int | None:  # fmt: skip
    """The prescription the day began with; else the first one armed on or after it."""
    i = bisect_left(times, day_start(day, tz))
    if i > 0:
        return armed[i - 1][1]
    if armed:
        return armed[0][1]
    return fallback
