"""Adherence from the plan's start, against the prescription in force each day (issue 12).

A scripted calendar, and the figures written by hand from it (how a clinician counts):

    9 March   no plan yet; one session armed under an older 5-a-day setting and played
    10 March  09:00 the plan is set (3 a day);        3 completed
    11 March                                          2 completed
    12 March                                          1 completed, 1 stopped
    13 March  1 completed at 09:00 (3 a day); at 14:00 the clinician changes it to
              2 a day (the station re-arms at once); 1 completed at 17:00
    14 March                                          2 completed
    15 March                                          nothing

    day        prescribed  started  completed
    9 March    -           1        1          before the plan: does not count
    10 March   3           3        3
    11 March   3           2        2
    12 March   3           2        1
    13 March   3           2        2          the change applies from the next day
    14 March   2           2        2
    15 March   2           0        0
    total      16          11       10         62.5 %

Counting today's 2 a day over all seven days would give 14 (or 12 without 9 March), and
16 over six days is what was asked of the patient.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from station.storage import Store
from station.storage.export import report_data

from .helpers import ZONE, Clock, arm, run_session


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=ZONE)


def _calendar(tmp_path: Path) -> tuple[Store, Clock]:
    clock = Clock(_at(9, 10))
    store = Store.open(tmp_path / "data", clock=clock, tz=ZONE)
    run_session(store, clock, sessions_per_day=5)  # before the plan
    clock.t = _at(10, 9)
    store.plans.set("forearm-basic", "1.0", levels={"main": 0})
    for day, completed, stopped in ((10, 3, 0), (11, 2, 0), (12, 1, 1)):
        for i in range(completed + stopped):
            clock.t = _at(day, 9 + 3 * i)
            final = "completed" if i < completed else "stopped"
            run_session(store, clock, sessions_per_day=3, final=final)
    clock.t = _at(13, 9)
    run_session(store, clock, sessions_per_day=3)
    clock.t = _at(13, 14)
    arm(store, sessions_per_day=2)  # the caps change re-arms under the new prescription
    clock.t = _at(13, 17)
    run_session(store, clock, sessions_per_day=2)
    for hour in (9, 15):
        clock.t = _at(14, hour)
        run_session(store, clock, sessions_per_day=2)
    clock.t = _at(15, 20)
    arm(store, sessions_per_day=2)  # armed, never started
    return store, clock


def test_each_day_counts_against_the_prescription_in_force_that_day(tmp_path: Path) -> None:
    store, _ = _calendar(tmp_path)
    with store:
        days = store.progress.adherence(date(2026, 3, 9), date(2026, 3, 15), sessions_per_day=2)
        got = [(d.day.day, d.prescribed, d.started, d.completed) for d in days]
        assert got == [
            (9, None, 1, 1),
            (10, 3, 3, 3),
            (11, 3, 2, 2),
            (12, 3, 2, 1),
            (13, 3, 2, 2),
            (14, 2, 2, 2),
            (15, 2, 0, 0),
        ]


def test_the_report_adds_up_only_the_days_of_the_plan(tmp_path: Path) -> None:
    store, _ = _calendar(tmp_path)
    with store:
        rep = report_data(store, sessions_per_day=2, start=date(2026, 3, 9), end=date(2026, 3, 15))
        adh = rep["adherence"]
        assert adh["sessions_prescribed"] == 16
        assert adh["sessions_started"] == 11
        assert adh["sessions_completed"] == 10
        assert adh["percent"] == 62.5
        # The armed program of 15 March never started: it is not a session of the record.
        assert len(rep["ratings_over_time"]) == 12  # 11 in the plan + 1 on 9 March


def test_the_first_day_of_a_plan_set_in_the_afternoon_counts(tmp_path: Path) -> None:
    # A plan set at 15:00 has its first day: it counts against the first prescription
    # armed that day (the patient can still do those sessions), not nothing.
    clock = Clock(_at(10, 15))
    with Store.open(tmp_path / "data", clock=clock, tz=ZONE) as store:
        store.plans.set("forearm-basic", "1.0", levels={"main": 0})
        run_session(store, clock, sessions_per_day=4)
        days = store.progress.adherence(date(2026, 3, 9), date(2026, 3, 11), sessions_per_day=1)
        assert [(d.prescribed, d.started) for d in days] == [(None, 0), (4, 1), (4, 0)]
