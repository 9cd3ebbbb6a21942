"""The patient's plan (``store.plans``): protocol, level per ladder, ranking, settings.

A level change is always written with its line in the level history (``write_level``),
also when progression moves it (``station.storage.progress``), so the plan and its
history never disagree.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import parse_time, to_text
from station.storage.models import Plan
from station.storage.rows import _session_row


class PlanRepository:
    """``store.plans``: read and set the plan, move one ladder's level."""

    def __init__(self, db: Database):
        self._db = db

    def get(self) -> Plan | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM plan WHERE id = 1").fetchone()
            levels = dict(conn.execute("SELECT ladder, level FROM plan_levels").fetchall())
        if row is None:
            return None
        return Plan(
            protocol_id=row["protocol_id"],
            protocol_version=row["protocol_version"],
            levels=levels,
            ranking=json.loads(row["ranking_json"]),
            settings=json.loads(row["settings_json"]),
            updated_at=parse_time(row["updated_at"]),
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
    ) -> Plan:
        """Set the plan. ``levels``/``ranking``/``settings`` left as None keep their
        stored values. Checking settings against the protocol's caps is the caller's job
        (the protocol model knows the caps); this stores what it is given."""
        protocol_id = v.name("protocol_id", protocol_id)
        protocol_version = v.name("protocol_version", protocol_version)
        new_levels = v.levels(levels) if levels is not None else None
        ranking_json = v.json_text("ranking", v.ranking(ranking)) if ranking is not None else None
        settings_json = v.json_text("settings", settings) if settings is not None else None
        reason = v.text("reason", reason, v.MAX_TEXT_SHORT)
        now = to_text(self._db.now())
        with self._db.tx() as conn:
            conn.execute(
                """INSERT INTO plan (id, protocol_id, protocol_version, ranking_json,
                       settings_json, updated_at)
                   VALUES (1, ?, ?, coalesce(?, '{}'), coalesce(?, '{}'), ?)
                   ON CONFLICT (id) DO UPDATE SET protocol_id = excluded.protocol_id,
                       protocol_version = excluded.protocol_version,
                       ranking_json = coalesce(?, ranking_json),
                       settings_json = coalesce(?, settings_json),
                       updated_at = excluded.updated_at""",
                (
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
                    f"DELETE FROM plan_levels WHERE ladder NOT IN "
                    f"({','.join('?' * len(new_levels))})",
                    tuple(new_levels),
                )
                for ladder, level in new_levels.items():
                    write_level(conn, ladder, level, reason, None, now)
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
                _session_row(conn, session_id)
            write_level(conn, ladder, level, reason, session_id, to_text(self._db.now()))


def write_level(
    conn: sqlite3.Connection,
    ladder: str,
    level: int,
    reason: str,
    session_id: int | None,
    now: str,
) -> None:
    """Set ``ladder`` to ``level`` inside the caller's transaction, with a history line."""
    row = conn.execute("SELECT level FROM plan_levels WHERE ladder = ?", (ladder,)).fetchone()
    old = row[0] if row else None
    if old == level:
        return
    conn.execute(
        """INSERT INTO plan_levels (ladder, level, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (ladder) DO UPDATE SET level = excluded.level,
               updated_at = excluded.updated_at""",
        (ladder, level, now),
    )
    conn.execute(
        """INSERT INTO level_history (at, ladder, from_level, to_level, reason, session_id)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (now, ladder, old, level, reason, session_id),
    )
