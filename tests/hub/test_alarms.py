"""The hub's alarm rules over a scripted record.

Expected alarms are written from the rules' clinical definitions (issue 15; the rule list
in station/hub/alarms.py's docstring), never by running the rules:

- two stops in a row: the patient's last two sessions both ended ``stopped``;
- ratings rising over a week: over the last 7 recorded days, the mean pain of the last
  3 days is at least 1 point (0-10 scale) above the mean of the first 3;
- N missed days: the last N adherence days (N = 3) each had a session prescribed and none
  done (a rest day with nothing prescribed is not missed);
- a fault: a station reported a hardware fault (named by device and fault).

No broker is needed: the store ingests the records exactly as a worker would.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from station.hub import alarms
from station.hub import messages as m
from station.hub.store import HubStore

STATION = "ward-3"
DAY0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def store(tmp_path):
    s = HubStore.open(database=None, data_dir=tmp_path)
    yield s
    s.close()


def _session(pid: uuid.UUID, day: int, state: str, *, hour: int = 0) -> m.SessionRecord:
    start = DAY0 + timedelta(days=day, hours=hour)
    return m.SessionRecord(
        station_id=STATION,
        patient_id=pid,
        at=start + timedelta(minutes=12),
        local_id=100 + day * 10 + hour,
        protocol_id="vibration-ladder",
        protocol_version="1",
        level=3,
        state=state,  # type: ignore[arg-type]
        end_reason="rating" if state == "stopped" else None,
        started_at=start,
        ended_at=start + timedelta(minutes=12),
        planned_steps=6,
        delivered_steps=6 if state == "completed" else 3,
    )


def _ratings(pid: uuid.UUID, day: int, values: list[int]) -> list[m.RatingRecord]:
    return [
        m.RatingRecord(
            station_id=STATION,
            patient_id=pid,
            session_id=uuid.uuid4(),
            at=DAY0 + timedelta(days=day, minutes=i),
            live=False,
            value=v,
        )
        for i, v in enumerate(values)
    ]


def _adherence(pid: uuid.UUID, day: int, *, done: int, prescribed: int) -> m.AdherenceRecord:
    return m.AdherenceRecord(
        station_id=STATION,
        patient_id=pid,
        at=DAY0 + timedelta(days=day, hours=23),
        day=(DAY0 + timedelta(days=day)).date(),
        done=done,
        prescribed=prescribed,
    )


def _rules(store: HubStore, pid: uuid.UUID) -> dict[str, dict]:
    return {a["rule"]: a for a in alarms.patient_alarms(store, str(pid))}


# --- two stops in a row ------------------------------------------------------------------
def test_two_stopped_sessions_in_a_row_raise_an_alarm_naming_them(store):
    pid = uuid.uuid4()
    script = [
        _session(pid, 0, "completed"),
        _session(pid, 1, "stopped"),
        _session(pid, 2, "stopped"),
    ]
    store.ingest(batch=script)
    got = _rules(store, pid)
    assert set(got) == {"two_stops"}
    assert got["two_stops"]["evidence"] == [str(script[1].id), str(script[2].id)]


@pytest.mark.parametrize(
    "states",
    [
        ["stopped", "completed", "stopped"],  # two stops, not in a row
        ["stopped", "stopped", "completed"],  # the run ended with a good session
        ["stopped"],  # one session
        ["completed", "aborted", "stopped"],  # an abort is not a stop
    ],
)
def test_no_two_stops_alarm_without_two_stops_in_a_row(store, states):
    pid = uuid.uuid4()
    store.ingest(batch=[_session(pid, d, s) for d, s in enumerate(states)])
    assert "two_stops" not in _rules(store, pid)


def test_two_stops_arriving_out_of_order_still_count_by_when_they_happened(store):
    """A station catching up after an outage delivers late: the rule reads the sessions in
    the order they happened, not the order the hub received them."""
    pid = uuid.uuid4()
    late, early = _session(pid, 3, "stopped"), _session(pid, 2, "stopped")
    store.ingest(batch=[_session(pid, 4, "completed")])
    store.ingest(batch=[late, early])
    assert "two_stops" not in _rules(store, pid)  # the newest session completed
    store.ingest(batch=[_session(pid, 5, "stopped"), _session(pid, 6, "stopped")])
    assert "two_stops" in _rules(store, pid)


# --- ratings rising over a week ----------------------------------------------------------
def _week(store: HubStore, pid: uuid.UUID, daily: list[list[int]], *, first_day: int = 0) -> None:
    batch: list[m.Record] = []
    for i, values in enumerate(daily):
        batch += _ratings(pid, first_day + i, values)
    store.ingest(batch=batch)


def test_ratings_rising_by_a_point_over_a_week_raise_an_alarm(store):
    pid = uuid.uuid4()
    # first three days mean (2+3+2+3+2+3)/6 = 2.5; last three (4+3+4+3+4+3)/6 = 3.5: +1.0
    _week(store, pid, [[2, 3], [2, 3], [2, 3], [3], [4, 3], [4, 3], [4, 3]])
    got = _rules(store, pid)
    assert set(got) == {"ratings_rising"}
    days = [(DAY0 + timedelta(days=d)).date().isoformat() for d in range(7)]
    assert got["ratings_rising"]["evidence"] == days
    assert "2.5" in got["ratings_rising"]["message"] and "3.5" in got["ratings_rising"]["message"]


@pytest.mark.parametrize(
    "daily",
    [
        [[2], [2], [2], [3], [3], [3], [2]],  # +0.67: a rise, but under a point
        [[5], [5], [5], [4], [3], [2], [2]],  # falling: improvement
        [[1], [5]],  # two days of ratings: no first and last three days of a week
    ],
)
def test_no_rising_alarm_below_a_point_falling_or_short_of_a_week(store, daily):
    pid = uuid.uuid4()
    _week(store, pid, daily)
    assert "ratings_rising" not in _rules(store, pid)


def test_a_rise_spread_over_weeks_is_not_a_rise_over_a_week(store):
    """Low ratings on days 0-2, then none for two weeks, then high ones on days 17-20:
    the week ending on day 20 has no rated first three days, so there is nothing to
    compare within a week (the six recorded days span three weeks)."""
    pid = uuid.uuid4()
    _week(store, pid, [[1]] * 3, first_day=0)
    _week(store, pid, [[6]] * 4, first_day=17)
    assert "ratings_rising" not in _rules(store, pid)


def test_a_week_with_a_day_unrated_still_shows_the_rise(store):
    pid = uuid.uuid4()
    _week(store, pid, [[1], [1], [1], [], [5], [5], [5]])
    assert "ratings_rising" in _rules(store, pid)


def test_only_the_last_week_counts_for_rising_ratings(store):
    """Low ratings two weeks ago followed by a flat high week: no rise within the week."""
    pid = uuid.uuid4()
    _week(store, pid, [[1]] * 7, first_day=0)
    _week(store, pid, [[4]] * 7, first_day=7)
    assert "ratings_rising" not in _rules(store, pid)
    _week(store, pid, [[6]] * 3, first_day=14)  # now the last 7 days: 4,4,4,4,6,6,6: +2
    assert "ratings_rising" in _rules(store, pid)


# --- N missed days -----------------------------------------------------------------------
def test_three_prescribed_days_in_a_row_without_a_session_raise_an_alarm(store):
    pid = uuid.uuid4()
    store.ingest(
        batch=[_adherence(pid, 0, done=2, prescribed=2)]
        + [_adherence(pid, d, done=0, prescribed=2) for d in (1, 2, 3)]
    )
    got = _rules(store, pid)
    assert set(got) == {"missed_days"}
    assert got["missed_days"]["evidence"] == [date(2026, 3, d).isoformat() for d in (3, 4, 5)]


@pytest.mark.parametrize(
    "days",
    [
        [(2, 2), (0, 2), (0, 2)],  # two missed days only
        [(0, 2), (0, 2), (1, 2)],  # one session on the last day: not missed
        [(0, 2), (0, 0), (0, 2)],  # the middle day was a rest day (nothing prescribed)
        [(0, 2), (0, 2)],  # fewer than three days recorded
    ],
)
def test_no_missed_days_alarm_unless_three_prescribed_days_all_missed(store, days):
    pid = uuid.uuid4()
    store.ingest(
        batch=[_adherence(pid, d, done=done, prescribed=p) for d, (done, p) in enumerate(days)]
    )
    assert "missed_days" not in _rules(store, pid)


def test_missed_days_threshold_is_the_clinicians_n(store):
    pid = uuid.uuid4()
    store.ingest(batch=[_adherence(pid, d, done=0, prescribed=1) for d in range(2)])
    assert alarms.patient_alarms(store, str(pid), missed_days=2)[0]["rule"] == "missed_days"
    assert alarms.patient_alarms(store, str(pid), missed_days=3) == []


# --- a fault -----------------------------------------------------------------------------
def test_a_station_fault_raises_an_alarm_naming_device_and_fault(store):
    quiet = m.Status(station_id="ward-4", state="online")
    fault = m.FaultRecord(
        station_id=STATION, device="haptic_left", fault="over_temperature", at=DAY0
    )
    store.ingest(batch=[fault], statuses=[quiet])
    got = [a for a in alarms.all_alarms(store) if a["rule"] == "fault"]
    assert len(got) == 1, got
    assert got[0]["station_id"] == STATION
    assert "haptic_left" in got[0]["message"] and "over_temperature" in got[0]["message"]


def test_alarms_belong_to_their_patient_and_station(store):
    sick, well = uuid.uuid4(), uuid.uuid4()
    store.ingest(batch=[_session(sick, d, "stopped") for d in range(2)])
    store.ingest(batch=[_session(well, d, "completed") for d in range(2)])
    everything = alarms.all_alarms(store)
    assert [(a["rule"], a["patient_id"], a["station_id"]) for a in everything] == [
        ("two_stops", str(sick), STATION)
    ]
    assert alarms.patient_alarms(store, str(well)) == []
