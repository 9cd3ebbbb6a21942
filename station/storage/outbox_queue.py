"""The sync agent's side of the outbox (``station.storage.outbox`` fills it): what is due to
publish, in order; marking rows published and, once the hub's ``Stored`` names them,
stored; queuing the records the agent itself makes (answers to pushes, adherence days).

Every method is one short transaction on the shared ``Database`` (a few rows at a time),
so the page and the engine follower never wait on the hub. A row is deleted only after the
hub stored it (``prune``, after a grace period, so a station's own report of what it sent
stays for a while).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from station.storage.database import Database
from station.storage.db import to_text, utc_now
from station.storage.outbox import enqueue


@dataclass(frozen=True)
class Pending:
    seq: int
    global_id: str
    kind: str
    payload: str


class OutboxQueue:
    def __init__(self, db: Database):
        self._db = db

    def due(self, *, limit: int = 200, resend_before: datetime | None = None) -> list[Pending]:
        """Rows not stored by the hub, oldest first: never published, or (``resend_before``)
        published before then without the hub's ``Stored``."""
        cutoff = to_text(resend_before) if resend_before is not None else ""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT seq, global_id, kind, payload FROM outbox WHERE stored_at IS NULL "
                "AND error IS NULL AND (published_at IS NULL OR published_at < ?) "
                "ORDER BY seq LIMIT ?",
                (cutoff, limit),
            ).fetchall()
        return [Pending(r["seq"], r["global_id"], r["kind"], r["payload"]) for r in rows]

    def mark_published(self, seqs: list[int]) -> None:
        if not seqs:
            return
        now = to_text(utc_now())  # transport times are the wall clock's, never a sim clock
        with self._db.tx() as conn:
            conn.executemany(
                "UPDATE outbox SET published_at = ? WHERE seq = ?", [(now, s) for s in seqs]
            )

    def mark_stored(self, global_ids: list[str]) -> int:
        """The hub committed these: they may go. Returns how many were still waiting."""
        now = to_text(utc_now())
        with self._db.tx() as conn:
            done = 0
            for gid in global_ids:
                cur = conn.execute(
                    "UPDATE outbox SET stored_at = ? WHERE global_id = ? AND stored_at IS NULL",
                    (now, gid),
                )
                done += cur.rowcount
        return done

    def mark_error(self, seq: int, error: str) -> None:
        """The contract refuses this row: kept with the reason, never sent (it would be
        refused at the hub too, and would hold up the queue behind it)."""
        with self._db.tx() as conn:
            conn.execute("UPDATE outbox SET error = ? WHERE seq = ?", (error[:2000], seq))

    def counts(self) -> dict[str, int]:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT count(*) AS total, "
                "coalesce(sum(stored_at IS NULL AND error IS NULL), 0) AS pending, "
                "coalesce(sum(stored_at IS NULL AND error IS NULL AND published_at IS NULL), 0)"
                " AS unsent, coalesce(sum(stored_at IS NOT NULL), 0) AS stored, "
                "coalesce(sum(error IS NOT NULL), 0) AS refused FROM outbox"
            ).fetchone()
        return {k: int(row[k]) for k in ("total", "pending", "unsent", "stored", "refused")}

    def rows(self) -> list[dict[str, Any]]:
        """Every row, in order (tests and `station` diagnostics)."""
        with self._db.read() as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM outbox ORDER BY seq")]

    def prune(self, *, stored_before: datetime) -> int:
        """Delete rows the hub stored before ``stored_before``."""
        with self._db.tx() as conn:
            cur = conn.execute(
                "DELETE FROM outbox WHERE stored_at IS NOT NULL AND stored_at < ?",
                (to_text(stored_before),),
            )
            return cur.rowcount

    def add(
        self, *, kind: str, payload: dict[str, Any], dedupe_key: str | None = None
    ) -> str | None:
        """Queue a record the agent makes itself (a push's answer, an adherence day)."""
        with self._db.tx() as conn:
            return enqueue(
                conn, kind=kind, payload=payload, now=to_text(self._db.now()),
                dedupe_key=dedupe_key,
            )  # fmt: skip

    def add_adherence(
        self, *, patient_global_id: str, day: date, done: int, prescribed: int, at: datetime
    ) -> str | None:
        """One adherence record per patient and day (queued once, whatever the retries)."""
        return self.add(
            kind="adherence",
            payload={
                "at": to_text(at),
                "patient_id": patient_global_id,
                "day": day.isoformat(),
                "done": done,
                "prescribed": prescribed,
            },
            dedupe_key=f"adherence:{patient_global_id}:{day.isoformat()}",
        )

    def has_key(self, dedupe_key: str) -> bool:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT 1 FROM outbox WHERE dedupe_key = ?", (dedupe_key,)
            ).fetchone()
        return row is not None
