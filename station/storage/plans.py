"""The patient's plan (``store.plans``): protocol, level per ladder, ranking, settings.

A level change is always written with its line in the level history (``write_level``),
also when progression moves it (``station.storage.progress``), so the plan and its
history never disagree.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from station.errors import StalePlan
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import parse_time, to_text
from station.storage.models import Plan
from station.storage.rows import _session_row


class PlanRepository:
    """``store.plans``: read and set the plan, move one ladder's level."""

    def __init__(self, db: Database, *, patient_id: int):
        self._db = db
        self._pid = patient_id  # every query below is this patient's (Store.for_patient)

    def get(self) -> Plan | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM plan WHERE patient_id = ?", (self._pid,)).fetchone()
            levels = dict(
                conn.execute(
                    "SELECT ladder, level FROM plan_levels WHERE patient_id = ?", (self._pid,)
                ).fetchall()
            )
        if row is None:
            return None
        return Plan(
            protocol_id=row["protocol_id"],
            protocol_version=row["protocol_version"],
            levels=levels,
            ranking=json.loads(row["ranking_json"]),
            settings=json.loads(row["settings_json"]),
            updated_at=parse_time(row["updated_at"]),
            revision=row["revision"],
        )

    def set(
        self,
        protocol_id: str,
        protocol_version: str,
        *,
        levels: dict[str, int] | None = None,
        ranking: dict[str, list[str]] | None = None,
        settings: dict[str, Any] | None = None,
        reason: str = "plan set by the clinician",
        expected_revision: int | None = None,
    ) -> Plan:
        """Set the plan. ``levels``/``ranking``/``settings`` left as None keep their
        stored values. Checking settings against the protocol's caps is the caller's job
        (the protocol model knows the caps); this stores what it is given.

        ``expected_revision``: the revision the caller's change was computed from; when
        the plan has changed since, nothing is written and ``StalePlan`` (409) says what
        changed. Every write bumps the revision."""
        protocol_id = v.name("protocol_id", protocol_id)
        protocol_version = v.name("protocol_version", protocol_version)
        new_levels = v.levels(levels) if levels is not None else None
        ranking_json = v.json_text("ranking", v.ranking(ranking)) if ranking is not None else None
        settings_json = v.json_text("settings", settings) if settings is not None else None
        reason = v.text("reason", reason, v.MAX_TEXT_SHORT)
        now = to_text(self._db.now())
        with self._db.tx() as conn:
            check_revision(conn, expected_revision, patient_id=self._pid)
            conn.execute(
                """INSERT INTO plan (patient_id, protocol_id, protocol_version, ranking_json,
                       settings_json, updated_at)
                   VALUES (?, ?, ?, coalesce(?, '{}'), coalesce(?, '{}'), ?)
                   ON CONFLICT (patient_id) DO UPDATE SET protocol_id = excluded.protocol_id,
                       protocol_version = excluded.protocol_version,
                       ranking_json = coalesce(?, ranking_json),
                       settings_json = coalesce(?, settings_json),
                       updated_at = excluded.updated_at,
                       revision = plan.revision + 1""",
                (
                    self._pid,
                    protocol_id,
                    protocol_version,
                    ranking_json,
                    settings_json,
                    now,
                    ranking_json,
                    settings_json,
                ),
            )
            if new_levels is not None:
                conn.execute(
                    f"DELETE FROM plan_levels WHERE patient_id = ? AND ladder NOT IN "
                    f"({','.join('?' * len(new_levels))})",
                    (self._pid, *new_levels),
                )
                for ladder, level in new_levels.items():
                    write_level(conn, ladder, level, reason, None, now, patient_id=self._pid)
        plan = self.get()
        assert plan is not None
        return plan

    def set_level(
        self, ladder: str, level: int, reason: str, *, session_id: int | None = None
    ) -> None:
        """Move one ladder to ``level`` (recorded in the level history with ``reason``)."""
        ladder = v.name("ladder", ladder)
        level = v.integer("level", level, 0)
        reason = v.text("reason", reason, v.MAX_TEXT_SHORT)
        with self._db.tx() as conn:
            if session_id is not None:
                _session_row(conn, session_id, patient_id=self._pid)
            write_level(
                conn,
                ladder,
                level,
                reason,
                session_id,
                to_text(self._db.now()),
                patient_id=self._pid,
            )


def check_revision(conn: sqlite3.Connection, expected: int | None, *, patient_id: int) -> None:
    """Inside the writer's transaction: refuse a change computed from an older plan."""
    if expected is None:
        return
    row = conn.execute(
        "SELECT revision, updated_at, protocol_id FROM plan WHERE patient_id = ?", (patient_id,)
    ).fetchone()
    current = row["revision"] if row is not None else None
    if current != expected:
        raise StalePlan(
            expected=expected,
            current=current,
            changed_at=row["updated_at"] if row is not None else None,
        )


def write_level(
    conn: sqlite3.Connection,
    ladder: str,
    level: int,
    reason: str,
    session_id: int | None,
    now: str,
    *,
    patient_id: int,
) -> None:
    """Set ``patient_id``'s ``ladder`` to ``level`` inside the caller's transaction, with a
    history line."""
    row = conn.execute(
        "SELECT level FROM plan_levels WHERE patient_id = ? AND ladder = ?", (patient_id, ladder)
    ).fetchone()
    old = row[0] if row else None
    if old == level:
        return
    conn.execute(
        """INSERT INTO plan_levels (patient_id, ladder, level, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (patient_id, ladder) DO UPDATE SET level = excluded.level,
               updated_at = excluded.updated_at""",
        (patient_id, ladder, level, now),
    )
    conn.execute(
        """INSERT INTO level_history (at, ladder, from_level, to_level, reason, session_id,
               patient_id) VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (now, ladder, old, level, reason, session_id, patient_id),
    )
    conn.execute("UPDATE plan SET revision = revision + 1 WHERE patient_id = ?", (patient_id,))
