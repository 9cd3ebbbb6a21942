"""Accounts (``store.users``): names unique ignoring case, a role, an argon2 hash, a
disabled flag and a session epoch (bumped to end every live session of the account).

The hash comes from the web layer; storage never sees a password.
"""

from __future__ import annotations

import sqlite3

from station.errors import Conflict, InvalidInput, NotFound
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import parse_time, to_text
from station.storage.models import ROLES, User
from station.storage.patients import PatientRepository, PatientRequired


class UserRepository:
    """``store.users``: create, look up, count, change a password, disable, log out."""

    def __init__(self, db: Database):
        self._db = db

    def create(
        self, name: str, role: str, password_hash: str, *, patient_id: int | None = None
    ) -> User:
        """A new account; names are unique ignoring case. A patient account belongs to
        one patient record (``patient_id``; on a station with one patient, that one); a
        clinician account to none."""
        return self._insert(name, role, password_hash, first_clinician=False, patient_id=patient_id)

    def create_first_clinician(self, name: str, password_hash: str) -> User:
        """The first clinician (the first-run page): inserted only while no clinician
        exists, checked inside the same write transaction, so that parallel first-run
        requests make exactly one clinician and the rest get Conflict."""
        return self._insert(name, "clinician", password_hash, first_clinician=True)

    def _insert(
        self,
        name: str,
        role: str,
        password_hash: str,
        *,
        first_clinician: bool,
        patient_id: int | None = None,
    ) -> User:
        name = v.name("name", name)
        role = v.choice("role", role, ROLES)
        password_hash = v.text("password_hash", password_hash, 1024)
        if role == "clinician" and patient_id is not None:
            raise InvalidInput(
                "patient_id", patient_id, "none for a clinician",
                "a clinician account belongs to no patient record; leave patient_id out",
            )  # fmt: skip
        if role == "patient" and patient_id is None:
            try:
                patient_id = PatientRepository(self._db).sole_id()
            except PatientRequired as exc:  # several patients: the account names its own
                raise InvalidInput(
                    "patient_id", None, f"the id of one of this station's {exc.count} patients",
                    "a patient account belongs to one patient record and this station has "
                    f"{exc.count}; name it (--patient ID, `station patient list`)",
                ) from None  # fmt: skip
        with self._db.tx() as conn:
            if patient_id is not None:
                found = conn.execute(
                    "SELECT archived FROM patients WHERE id = ?", (patient_id,)
                ).fetchone()
                if found is None or found[0]:
                    raise InvalidInput(
                        "patient_id", patient_id, "the id of a patient record of this station",
                        f"patient_id = {patient_id}: no such (unarchived) patient; "
                        "`station patient list` shows them",
                    )  # fmt: skip
            if (
                first_clinician
                and conn.execute("SELECT 1 FROM users WHERE role = 'clinician'").fetchone()
            ):
                raise Conflict(
                    "a clinician account exists already; log in, or ask the clinician "
                    "to add your account"
                )
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"a user named {name!r} already exists; choose another name")
            cur = conn.execute(
                "INSERT INTO users (name, role, password_hash, created_at, patient_id) "
                "VALUES (?,?,?,?,?)",
                (name, role, password_hash, to_text(self._db.now()), patient_id),
            )
            row = conn.execute("SELECT * FROM users WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _user(row)

    def get(self, name: str) -> User | None:
        """The user with this name (any case), or None (what a login check needs)."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def get_by_id(self, user_id: int) -> User | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def all(self) -> list[User]:
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [_user(r) for r in rows]

    def count(self, role: str | None = None, *, active_only: bool = False) -> int:
        if role is not None:
            v.choice("role", role, ROLES)
        sql = "SELECT count(*) FROM users WHERE (? IS NULL OR role = ?)"
        if active_only:
            sql += " AND disabled = 0"
        with self._db.read() as conn:
            row = conn.execute(sql, (role, role)).fetchone()
        return int(row[0])

    def set_password(self, name: str, password_hash: str) -> User:
        """A new password; every live session of the account ends (new session epoch)."""
        password_hash = v.text("password_hash", password_hash, 1024)
        with self._db.tx() as conn:
            row = self._row(conn, name)
            conn.execute(
                "UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 "
                "WHERE id = ?",
                (password_hash, row["id"]),
            )
            row = self._row(conn, name)
        return _user(row)

    def set_disabled(self, name: str, *, disabled: bool) -> User:
        """Disable (every live session ends) or enable an account. The last active
        clinician cannot be disabled: nobody could then manage the station's accounts."""
        with self._db.tx() as conn:
            row = self._row(conn, name)
            if disabled and row["role"] == "clinician" and not row["disabled"]:
                others = conn.execute(
                    "SELECT count(*) FROM users WHERE role = 'clinician' AND disabled = 0 "
                    "AND id != ?",
                    (row["id"],),
                ).fetchone()[0]
                if others == 0:
                    raise Conflict(
                        f"{row['name']!r} is the last active clinician; add or enable "
                        "another clinician first"
                    )
            conn.execute(
                "UPDATE users SET disabled = ?, session_epoch = session_epoch + ? WHERE id = ?",
                (int(disabled), int(disabled), row["id"]),
            )
            row = self._row(conn, name)
        return _user(row)

    def set_locale(self, user_id: int, locale: str | None) -> None:
        """The account's language for the page (a tag such as "de"; None: the browser's).
        Which tags are offered is checked by the caller (web/i18n.py)."""
        if locale is not None:
            locale = v.text("locale", locale, 16)
        with self._db.tx() as conn:
            conn.execute("UPDATE users SET locale = ? WHERE id = ?", (locale, user_id))

    def end_sessions(self, user_id: int) -> None:
        """Log the account out everywhere (logout): its login cookies stop working."""
        with self._db.tx() as conn:
            conn.execute(
                "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", (user_id,)
            )

    @staticmethod
    def _row(conn: sqlite3.Connection, name: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no user named {name!r}; `station user list` shows the accounts")
        return row


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        password_hash=row["password_hash"],
        created_at=parse_time(row["created_at"]),
        disabled=bool(row["disabled"]),
        session_epoch=int(row["session_epoch"]),
        patient_id=row["patient_id"],
        locale=row["locale"],
    )
