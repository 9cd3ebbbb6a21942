"""Accounts (``store.users``): names unique ignoring case, a role, an argon2 hash.

The hash comes from the web layer; storage never sees a password.
"""

from __future__ import annotations

import sqlite3

from station.errors import Conflict, NotFound
from station.storage import validate as v
from station.storage.database import Database
from station.storage.db import parse_time, to_text
from station.storage.models import ROLES, User


class UserRepository:
    """``store.users``: create, look up, count, change a password."""

    def __init__(self, db: Database):
        self._db = db

    def create(self, name: str, role: str, password_hash: str) -> User:
        """A new account; names are unique ignoring case."""
        name = v.name("name", name)
        role = v.choice("role", role, ROLES)
        password_hash = v.text("password_hash", password_hash, 1024)
        with self._db.tx() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"a user named {name!r} already exists; choose another name")
            cur = conn.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?,?,?,?)",
                (name, role, password_hash, to_text(self._db.now())),
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

    def count(self, role: str | None = None) -> int:
        if role is not None:
            v.choice("role", role, ROLES)
        with self._db.read() as conn:
            if role is None:
                row = conn.execute("SELECT count(*) FROM users").fetchone()
            else:
                row = conn.execute("SELECT count(*) FROM users WHERE role = ?", (role,)).fetchone()
        return int(row[0])

    def set_password(self, name: str, password_hash: str) -> None:
        password_hash = v.text("password_hash", password_hash, 1024)
        with self._db.tx() as conn:
            cur = conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)
            )
            if cur.rowcount == 0:
                raise NotFound(f"no user named {name!r}; `station user add` creates one")


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        password_hash=row["password_hash"],
        created_at=parse_time(row["created_at"]),
    )
