"""``Store``: the station's record, one SQLite file reached through small repositories.

``store.sessions``, ``store.ratings``, ``store.journal``, ``store.progress``,
``store.reminders``, ``store.users``, ``store.plans`` and ``store.rankings`` each own one
concept's SQL and share one ``Database`` (the connection, its lock and the clock; see
``station.storage.database`` for why one serialised connection). This module opens the
file safely (integrity check, pragmas, migrations) and closes it.

Several patients (schema 4): every repository but ``users`` and ``patients`` is BOUND to
one patient when it is built (``SessionRepository(db, patient_id=...)``), and a Store
hands out only bound ones: ``store.for_patient(pid)`` is a Store whose repositories are
that patient's; ``store.following(resolve)`` one whose repositories follow a changing
choice (the coordinator's active patient); a Store opened plainly serves the station's
ONE patient and refuses (``PatientRequired``) once there are several. Why a bound view
rather than a ``patient_id=`` argument on every method: an argument can be forgotten at
any of ~100 call sites and a default would silently read patient 1; a bound view cannot
be forgotten, the unscoped path fails loudly instead of mixing records, and the code
written for one patient (the planner, the recorder, the exports) needs no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from station.errors import StorageError
from station.storage.audit import AuditRepository
from station.storage.bodymaps import BodyMapRepository
from station.storage.database import Database
from station.storage.db import (
    apply_pragmas,
    check_integrity,
    connect,
    db_path,
    schema_version,
    utc_now,
)
from station.storage.journal import JournalRepository
from station.storage.migrations import migrate, refuse_newer
from station.storage.outcomes import OutcomeRepository
from station.storage.patients import PatientRepository
from station.storage.plans import PlanRepository
from station.storage.progress import ProgressRepository
from station.storage.rankings import RankingRepository
from station.storage.ratings import RatingRepository
from station.storage.reminders import ReminderRepository
from station.storage.sessions import SessionRepository
from station.storage.thresholds import ThresholdRepository
from station.storage.users import UserRepository


@dataclass(frozen=True)
class _Scope:
    """One patient's repositories."""

    sessions: SessionRepository
    ratings: RatingRepository
    journal: JournalRepository
    progress: ProgressRepository
    reminders: ReminderRepository
    plans: PlanRepository
    thresholds: ThresholdRepository
    bodymaps: BodyMapRepository
    outcomes: OutcomeRepository
    rankings: RankingRepository

    @classmethod
    def build(cls, db: Database, pid: int) -> _Scope:
        return cls(
            sessions=SessionRepository(db, patient_id=pid),
            ratings=RatingRepository(db, patient_id=pid),
            journal=JournalRepository(db, patient_id=pid),
            progress=ProgressRepository(db, patient_id=pid),
            reminders=ReminderRepository(db, patient_id=pid),
            plans=PlanRepository(db, patient_id=pid),
            thresholds=ThresholdRepository(db, patient_id=pid),
            bodymaps=BodyMapRepository(db, patient_id=pid),
            outcomes=OutcomeRepository(db, patient_id=pid),
            rankings=RankingRepository(db, patient_id=pid),
        )


PatientChoice = int | Callable[[], int] | None


class Store:
    """The station's record. Open with ``Store.open(data_dir)``; close with ``close()``
    or use it as a context manager. ``for_patient`` / ``following``: see the module."""

    def __init__(
        self,
        db: Database,
        *,
        patient: PatientChoice = None,
        _scopes: dict[int, _Scope] | None = None,
    ):
        self.db = db
        self.users = UserRepository(db)
        self.patients = PatientRepository(db)
        self.audit = AuditRepository(db)  # who changed what (station-wide, rows name a patient)
        self._patient = patient
        self._scopes: dict[int, _Scope] = _scopes if _scopes is not None else {}

    # -- the patient this Store's repositories serve -----------------------------------

    def for_patient(self, patient_id: int) -> Store:
        """This store bound to ``patient_id`` (``NotFound`` for an unknown patient)."""
        pid = self.patients.get(patient_id).id
        return Store(self.db, patient=pid, _scopes=self._scopes)

    def following(self, resolve: Callable[[], int]) -> Store:
        """This store with repositories of whichever patient ``resolve()`` names now."""
        return Store(self.db, patient=resolve, _scopes=self._scopes)

    @property
    def patient_id(self) -> int:
        """The patient served: the bound one, the followed one, else the station's one
        patient (``PatientRequired`` when it has several)."""
        chosen = self._patient
        if chosen is None:
            return self.patients.sole_id()
        return chosen() if callable(chosen) else chosen

    def _scope(self) -> _Scope:
        pid = self.patient_id
        scope = self._scopes.get(pid)
        if scope is None:
            scope = self._scopes.setdefault(pid, _Scope.build(self.db, pid))
        return scope

    @property
    def sessions(self) -> SessionRepository:
        return self._scope().sessions

    @property
    def ratings(self) -> RatingRepository:
        return self._scope().ratings

    @property
    def journal(self) -> JournalRepository:
        return self._scope().journal

    @property
    def progress(self) -> ProgressRepository:
        return self._scope().progress

    @property
    def reminders(self) -> ReminderRepository:
        return self._scope().reminders

    @property
    def plans(self) -> PlanRepository:
        return self._scope().plans

    @property
    def thresholds(self) -> ThresholdRepository:
        return self._scope().thresholds

    @property
    def bodymaps(self) -> BodyMapRepository:
        return self._scope().bodymaps

    @property
    def outcomes(self) -> OutcomeRepository:
        return self._scope().outcomes

    @property
    def rankings(self) -> RankingRepository:
        return self._scope().rankings

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        create: bool = True,
        clock: Callable[[], datetime] = utc_now,
        tz: tzinfo | None = None,
    ) -> Store:
        """Open (creating if ``create``) ``data_dir/station.db``: integrity check, pragmas,
        migrations. Refuses a corrupt file or one from a newer station, keeping it."""
        data_dir = Path(data_dir)
        path = db_path(data_dir)
        if not path.exists():
            if not create:
                raise StorageError(
                    f"no station database at {path}; check --data-dir (the station creates "
                    "it on its first run)"
                )
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"{data_dir}: cannot create the data directory: {exc.strerror}"
                ) from None
        conn = connect(path, check_same_thread=False)
        try:
            check_integrity(conn, path)
            refuse_newer(schema_version(conn), path)
            apply_pragmas(conn, path)
            migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        return cls(Database(conn=conn, path=path, clock=clock, tz=tz))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return self.db.path

    @property
    def tz(self) -> tzinfo | None:
        """The zone for "per day" limits and report days (None: the system's)."""
        return self.db.tz

    @property
    def schema_version(self) -> int:
        with self.db.read() as conn:
            return schema_version(conn)

    def now(self) -> datetime:
        return self.db.now()
