"""Each built-in programme over simulated weeks: up after what its rules say, down after
high ratings and stops, and up again.

The expected levels are worked out by hand from each protocol file's ``[progression]``
numbers (the derivation is in the comment above each sequence), never by calling the
station's progression code. The rules, as ``station/protocols/model.py`` documents them for
the clinician: a session *qualifies* when it completed and its counted rating (``rating``
= max, mean or last of the answers to the rate steps) is at most ``advance_max_rating``;
it is *bad* when it was stopped by a rating (a live rating at the stop threshold, "too
much", or an answer at the threshold) or its counted rating is at least
``back_min_rating``. ``back_after_sessions`` bad sessions in a row at a level step back
one level; ``advance_after_sessions`` qualifying sessions in a row at a level spanning at
least ``advance_min_days`` calendar days move up one; only the run since the level was
last entered counts.

Every session is the built-in level's real program, armed in the real engine on the
simulator and played to its end (or stopped); the clock runs 500x while it plays and jumps
between sessions (``tests.journeys.scripted``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.journeys.scripted import STOP_LIVE, TOO_MUCH, Journey

pytestmark = pytest.mark.slow

BUILTIN = Path(__file__).resolve().parents[2] / "station" / "protocols"


def rules(name: str) -> dict:
    """The protocol file's own numbers (read as TOML, not through the station's model),
    so a changed file fails here loudly instead of silently changing the journey."""
    data = tomllib.loads((BUILTIN / f"{name}.toml").read_text())
    return {"caps": data["caps"], **data["progression"]}


def play(journey: Journey, days: dict[int, list], *, first_hour: float, every_h: float) -> list:
    levels = []
    for day, scripts in days.items():
        levels += journey.day(day, scripts, first_hour=first_hour, every_h=every_h)
    return levels


def test_vibration_ladder_journey(app, clinician, patient) -> None:
    r = rules("vibration-ladder")
    assert (r["rating"], r["advance_max_rating"], r["advance_after_sessions"]) == ("max", 3, 6)
    assert (r["advance_min_days"], r["back_min_rating"], r["back_after_sessions"]) == (2, 7, 2)
    assert (r["stop_threshold"], r["caps"]["sessions_per_day"]) == (8, 3)
    assert r["caps"]["min_minutes_between_sessions"] == 120  # sessions 4 h apart below
    j = Journey(app=app, clinician=clinician, patient=patient,
                protocol="vibration-ladder", level="vibration/0")  # fmt: skip
    levels = play(
        j,
        {
            1: [[2], [2], [2]],
            2: [[3], [2], [2]],
            3: [STOP_LIVE, [7], [1]],
            4: [[1], [1], [1]],
            5: [[1], [1]],
        },
        first_hour=9,
        every_h=4,
    )
    # Day 1: max 2 <= 3, three qualifying sessions of the 6 needed: level 0 (v1).
    # Day 2: 3 <= 3 still qualifies; the 6th qualifying session (days 1-2, 2 >= 2 days)
    #        moves up to level 1.
    # Day 3: a live rating of 8 (= stop_threshold) stops the session: bad, 1 of 2; an answer
    #        of 7 (>= back_min_rating 7): bad, 2 of 2: back to level 0. The answer 1 starts
    #        a new qualifying run at level 0 (1 of 6).
    # Day 4: 2, 3, 4 of 6.  Day 5: 5 of 6, then 6 of 6 over days 3-5: up to level 1 again.
    assert levels == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1]
    o = j.outcomes
    assert [x.action for x in o].count("advance") == 2 and o[7].action == "back"
    assert o[6].state == "stopped" and o[6].ratings == []
    assert "6 completed session(s) in a row" in o[5].reason and "over 2 day(s)" in o[5].reason
    assert "2 session(s) in a row" in o[7].reason
    assert not any("no discomfort rating" in x.reason for x in o)
    assert patient.get("/api/status").get_json()["next"]["level_index"] == 1


def test_tapping_journey(app, clinician, patient) -> None:
    r = rules("tapping")
    assert r.get("rating", "max") == "max"  # the model's default: the worst answer counts
    assert (r["advance_max_rating"], r["advance_after_sessions"], r["advance_min_days"]) == (
        3, 6, 2)  # fmt: skip
    assert (r["back_min_rating"], r["back_after_sessions"], r["stop_threshold"]) == (7, 2, 8)
    assert r["caps"]["sessions_per_day"] == 3 and r["caps"]["min_minutes_between_sessions"] == 120
    j = Journey(app=app, clinician=clinician, patient=patient,
                protocol="tapping", level="tapping/0")  # fmt: skip
    levels = play(
        j,
        {
            1: [[3], [3], [3]],
            2: [[2], [4], [2]],
            3: [[2], [2], [2]],
            4: [[2], [2], TOO_MUCH],
            5: [[8], [0]],
        },
        first_hour=9,
        every_h=4,
    )
    # Day 1: 3 <= 3: 1-3 of 6 at level 0.
    # Day 2: 2 (4 of 6), then 4 > 3 breaks the run (hold, it starts again), then 2: 1 of 6.
    # Day 3: 2-4 of 6.  Day 4: 5 of 6, then 6 of 6 spanning days 2-4: up to level 1 (t2).
    #        "Too much" during the taps stops the session: bad, 1 of 2.
    # Day 5: an answer of 8 at the rating step is at the stop threshold: the session stops,
    #        bad, 2 of 2: back to level 0; then 0 qualifies (1 of 6).
    assert levels == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    o = j.outcomes
    assert "above 3" in o[4].reason and "starts again" in o[4].reason
    assert o[11].state == "stopped" and o[12].state == "stopped" and o[12].action == "back"


def test_ct_brushing_journey(app, clinician, patient) -> None:
    r = rules("ct-brushing")
    assert (r["rating"], r["advance_max_rating"], r["advance_after_sessions"]) == ("mean", 3, 6)
    assert (r["advance_min_days"], r["back_min_rating"], r["back_after_sessions"]) == (2, 6, 2)
    assert r["caps"]["sessions_per_day"] == 3 and r["caps"]["min_minutes_between_sessions"] == 120
    j = Journey(app=app, clinician=clinician, patient=patient,
                protocol="ct-brushing", level="b1")  # fmt: skip
    levels = play(
        j,
        {
            1: [[2], [2], [2]],
            2: [[3], [2], [2]],
            3: [[5, 7], [6, 6], [1]],
            4: [[1], [1], [1]],
            5: [[1], [1]],
            6: [[2, 4], [1, 5]],
        },
        first_hour=9,
        every_h=4,
    )
    # Level 0 (b1) has one rate step, level 1 (b2) two; the MEAN of a session's answers
    # counts.
    # Day 1: 1-3 of 6.  Day 2: 4-6 of 6 over 2 days: up to level 1.
    # Day 3: (5+7)/2 = 6 >= 6: bad 1 of 2; (6+6)/2 = 6: bad 2 of 2: back to 0; 1: 1 of 6.
    # Day 4: 2-4 of 6.  Day 5: 5 of 6, 6 of 6 over days 3-5: up to level 1 again.
    # Day 6: (2+4)/2 = 3 and (1+5)/2 = 3 qualify (their max, 4 and 5, would not): 1, 2 of 6.
    assert levels == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    o = j.outcomes
    assert o[6].ratings == [5, 7] and o[6].action == "hold" and o[7].action == "back"
    assert "2 of 6 qualifying" in o[15].reason


def test_distant_site_journey(app, clinician, patient) -> None:
    r = rules("distant-site")
    assert (r["rating"], r["advance_max_rating"], r["advance_after_sessions"]) == ("max", 2, 16)
    assert (r["advance_min_days"], r["back_min_rating"], r["back_after_sessions"]) == (2, 5, 1)
    assert r["stop_threshold"] == 6 and r["caps"]["sessions_per_day"] == 8
    assert r["caps"]["min_minutes_between_sessions"] == 45  # sessions 1 h apart below
    j = Journey(app=app, clinician=clinician, patient=patient,
                protocol="distant-site", level="d1")  # fmt: skip
    levels = play(
        j,
        {
            1: [[1]] * 8,
            2: [[2]] * 8,
            3: [[5]] + [[0]] * 7,
            4: [[0]] * 8,
            5: [[0], STOP_LIVE],
        },
        first_hour=8,
        every_h=1,
    )
    # Day 1: 1-8 of 16 (max 1 <= 2).  Day 2: 2 <= 2: 9-15 of 16, then the 16th over two
    # days: up to level 1 (d2).
    # Day 3: 5 >= back_min_rating 5 and one bad session is enough: back to 0; then 1-7 of 16.
    # Day 4: 8-15 of 16.  Day 5: 16 of 16 over days 3-5: up to 1; a live rating of 6 (the
    # stop threshold) stops the next session: back to 0 at once.
    assert levels == [0] * 8 + [0] * 7 + [1] + [0] * 8 + [0] * 8 + [1, 0]
    assert j.outcomes[-1].state == "stopped" and j.outcomes[-1].action == "back"


TEXTURES = ["silk", "feather", "cotton-ball", "velvet", "terry", "corduroy", "towel", "wool",
            "velcro"]  # fmt: skip
IMMERSION = ["rice", "cotton-wool", "lentils", "beans", "macaroni", "popcorn"]


def _record_ranking(app, clinician, coord) -> None:
    """The patient's ranking (least irritating first). Recording it is another part of
    issue 12 (``POST /api/plan/ranking``); until that route exists the ranking is written
    to the plan as the planner reads it (the patient settings' ``rankings``)."""
    rankings = {"textures": TEXTURES, "immersion": IMMERSION}
    if any(rule.rule == "/api/plan/ranking" for rule in app.url_map.iter_rules()):
        for ladder, order in rankings.items():
            r = clinician.post("/api/plan/ranking", json={"ladder": ladder, "order": order})
            assert r.status_code in (200, 201), r.get_json()
        return
    plan = coord.store.plans.get()
    coord.store.plans.set(
        plan.protocol_id,
        plan.protocol_version,
        ranking=rankings,
        settings={**plan.settings, "rankings": rankings},
        reason="the patient's ranking at intake (test stand-in)",
    )


def test_textures_journey(app, clinician, patient, coord) -> None:
    r = rules("textures")
    assert (r["rating"], r["advance_max_rating"], r["advance_after_sessions"]) == ("max", 3, 15)
    assert (r["advance_min_days"], r["back_min_rating"], r["back_after_sessions"]) == (7, 7, 2)
    assert r["stop_threshold"] == 8 and r["caps"]["sessions_per_day"] == 3
    assert r["caps"]["min_minutes_between_sessions"] == 90  # sessions 3 h apart below
    _record_ranking(app, clinician, coord)
    j = Journey(app=app, clinician=clinician, patient=patient,
                protocol="textures", level="textures/0", rate=1000)  # fmt: skip
    # Two patient-ranked ladders; the station plays the one whose last session is older,
    # so they alternate (textures first): overall session k is on day ceil(k/3), textures'
    # n-th session is overall 2n-1, immersion's n-th is overall 2n. Each ladder's
    # progression is its own.
    textures = [[2]] * 15 + [[7], STOP_LIVE] + [[2]] * 15
    immersion = [[2]] * 31
    scripts = [x for pair in zip(textures, immersion, strict=False) for x in pair]
    scripts.append(textures[-1])  # textures has one more: 63 sessions in all
    days: dict[int, list] = {}
    for k, script in enumerate(scripts):
        days.setdefault(k // 3 + 1, []).append(script)
    play(j, days, first_hour=9, every_h=3)
    order = [o.ladder for o in j.outcomes]
    assert order == ["textures", "immersion"] * 31 + ["textures"], [
        (i, o.ladder, o.session_id, o.state, o.reason[:60]) for i, o in enumerate(j.outcomes)
    ]
    by = {"textures": [], "immersion": []}
    for o in j.outcomes:
        by[o.ladder].append(o.level_after)
    # textures: 15 sessions rated 2 (<= 3); the 15th is overall session 29 on day 10, and
    #   the run spans days 1-10 (>= 7): up to level 1 (the ranking's 2nd item, feather).
    #   16th: 7 >= 7, bad 1 of 2; 17th: a live 8 stops it, bad 2 of 2: back to level 0.
    #   18th-32nd: 15 rated 2 over days 12-21: up to level 1 again.
    seen = [(o.ladder, o.session_id, o.state, o.ratings, o.reason[:70]) for o in j.outcomes]
    assert by["textures"] == [0] * 14 + [1, 1, 0] + [0] * 14 + [1], seen
    # immersion: 15 rated 2 (days 1-10): level 1; 15 more (days 11-20): level 2; then 2.
    assert by["immersion"] == [0] * 14 + [1] + [1] * 14 + [2, 2], seen
    nxt = patient.get("/api/status").get_json()["next"]
    assert nxt["ladder"] == "immersion" and nxt["level"] == "Lentils"  # the ranking's 3rd
