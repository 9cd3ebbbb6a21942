"""The hub's one storage layer: SQLite (default, ``<data dir>/hub.sqlite3``) or PostgreSQL
(``postgresql://...``, through the psycopg 3 driver), both through SQLAlchemy Core.

Ingest is idempotent: a batch of records is one transaction of
``INSERT ... ON CONFLICT (id) DO NOTHING`` (each dialect's own insert construct), so a
record the broker delivers twice, or a station re-sends, is stored once. The caller acks
the messages only after ``ingest`` returns (the commit).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from station.hub import messages as m
from station.hub.schema import migrate, pushes, records, rejects, stations, users

SQLITE_FILE = "hub.sqlite3"


def database_url(*, database: str | None, data_dir: Path) -> str:
    """``--database`` as SQLAlchemy wants it: default SQLite in the data dir;
    ``postgresql://`` gets the psycopg 3 driver."""
    if not database:
        return f"sqlite:///{Path(data_dir) / SQLITE_FILE}"
    for prefix in ("postgresql://", "postgres://"):
        if database.startswith(prefix):
            return "postgresql+psycopg://" + database[len(prefix) :]
    if database.startswith(("sqlite:///", "postgresql+psycopg://")):
        return database
    raise ValueError(
        f"--database {database!r}: use postgresql://user:pass@host:port/db or sqlite:///FILE "
        "(or leave it out for SQLite in the data directory)"
    )


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL: durable up to the last checkpoint
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=4)


@dataclass(frozen=True)
class IngestResult:
    received: int
    stored: int  # new rows (the rest were duplicates)


class HubStore:
    def __init__(self, *, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._touch_stmt: Any = None

    @classmethod
    def open(cls, *, database: str | None, data_dir: Path) -> HubStore:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        store = cls(engine=make_engine(database_url(database=database, data_dir=data_dir)))
        migrate(store.engine)
        return store

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    # --- ingest -------------------------------------------------------------------------
    def ingest(
        self,
        *,
        batch: Sequence[m.Record],
        statuses: Sequence[m.Status] = (),
        now: float | None = None,
    ) -> IngestResult:
        """Store a batch in one transaction; duplicates (same global id) are skipped."""
        now = time.time() if now is None else now
        rows = [_row(rec, now=now) for rec in batch]
        stored = 0
        with self.engine.begin() as conn:
            if rows:
                stmt = (
                    self._insert(records)
                    .on_conflict_do_nothing(index_elements=["id"])
                    .returning(records.c.id)
                )
                stored = len(conn.execute(stmt, rows).all()) if rows else 0
            seen = {rec.station_id for rec in batch} | {s.station_id for s in statuses}
            if seen:
                conn.execute(
                    self._touch_statement(),
                    [{"station_id": sid, "online": False, "last_seen": now} for sid in seen],
                )
            for rec in batch:
                if isinstance(rec, m.PushAck):
                    conn.execute(
                        pushes.update()
                        .where(pushes.c.id == str(rec.push_id))
                        .where(pushes.c.station_id == rec.station_id)
                        .values(outcome=rec.outcome, reason=rec.reason, acked_at=now)
                    )
                elif isinstance(rec, m.FaultRecord):
                    conn.execute(
                        stations.update()
                        .where(stations.c.station_id == rec.station_id)
                        .where(
                            sa.or_(
                                stations.c.last_fault_at.is_(None),
                                stations.c.last_fault_at < rec.at,
                            )
                        )
                        .values(last_fault=f"{rec.device}: {rec.fault}", last_fault_at=rec.at)
                    )
            for status in statuses:
                conn.execute(
                    stations.update()
                    .where(stations.c.station_id == status.station_id)
                    .where(
                        sa.or_(stations.c.status_at.is_(None), stations.c.status_at <= status.at)
                    )
                    .values(
                        online=status.state == "online",
                        status_at=status.at,
                        software=status.software or None,
                    )
                )
        return IngestResult(received=len(rows), stored=stored)

    def _touch_statement(self) -> Any:
        """One upsert for every station of a batch (executemany): built once, because
        building and compiling it per station cost as much as the records' insert."""
        if self._touch_stmt is None:
            ins = self._insert(stations)
            self._touch_stmt = ins.on_conflict_do_update(
                index_elements=["station_id"],
                set_={
                    "last_seen": sa.case(
                        (stations.c.last_seen.is_(None), ins.excluded.last_seen),
                        (ins.excluded.last_seen > stations.c.last_seen, ins.excluded.last_seen),
                        else_=stations.c.last_seen,
                    )
                },
            )
        return self._touch_stmt

    def reject(self, *, topic: str, error: str, payload: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                rejects.insert().values(
                    topic=topic[:300],
                    error=error[:2000],
                    payload=payload[:2000].decode("utf-8", "replace"),
                    at=time.time(),
                )
            )

    # --- pushes -------------------------------------------------------------------------
    def add_push(self, *, push: m.ProtocolPush | m.PlanPush, by: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                pushes.insert().values(
                    id=str(push.id),
                    station_id=push.station_id,
                    kind=push.kind,
                    patient_id=str(getattr(push, "patient_id", "") or "") or None,
                    body=push.model_dump(mode="json"),
                    created_at=time.time(),
                    created_by=by,
                )
            )

    def pushes_of(self, *, station_id: str, limit: int = 50) -> list[dict[str, Any]]:
        q = (
            sa.select(pushes)
            .where(pushes.c.station_id == station_id)
            .order_by(pushes.c.created_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # --- users (the shape web/security.py's LoginUser reads) ----------------------------
    def add_user(self, *, name: str, role: str, password_hash: str) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(
                users.insert().values(
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    session_epoch=0,
                    disabled=False,
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def set_password(self, *, name: str, password_hash: str) -> bool:
        with self.engine.begin() as conn:
            res = conn.execute(
                users.update()
                .where(users.c.name == name)
                .values(password_hash=password_hash, session_epoch=users.c.session_epoch + 1)
            )
            return bool(res.rowcount)

    def bump_epoch(self, *, user_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(session_epoch=users.c.session_epoch + 1)
            )

    def user(self, *, name: str | None = None, user_id: int | None = None) -> dict[str, Any] | None:
        q = sa.select(users)
        q = q.where(users.c.name == name) if name is not None else q.where(users.c.id == user_id)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return dict(row._mapping) if row else None

    def count(self, *, kind: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(records)
        if kind:
            q = q.where(records.c.kind == kind)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def ids(self) -> list[tuple[str, float]]:
        """(global id, ingested_at) of every record (tests and the benchmark)."""
        with self.engine.connect() as conn:
            return [
                (r[0], r[1]) for r in conn.execute(sa.select(records.c.id, records.c.ingested_at))
            ]


def _row(rec: m.Record, *, now: float) -> dict[str, Any]:
    return {
        "id": str(rec.id),
        "station_id": rec.station_id,
        "patient_id": str(pid) if (pid := getattr(rec, "patient_id", None)) else None,
        "kind": rec.kind,
        "at": rec.at,
        "session_id": str(sid) if (sid := getattr(rec, "session_id", None)) else None,
        "value": rec.value if isinstance(rec, m.RatingRecord) else None,
        "ingested_at": now,
        "payload": rec.model_dump(mode="json"),
    }


class UserStoreAdapter:
    """What web/security.py's ``load_user`` calls (``get_by_id``) over the hub's users."""

    def __init__(self, store: HubStore):
        self.store = store

    def get_by_id(self, user_id: int) -> dict[str, Any] | None:
        return self.store.user(user_id=user_id)
