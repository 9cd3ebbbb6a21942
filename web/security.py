"""Who may do what: password hashing, the secret key, logged-in users and role checks.

There are no default accounts: the first clinician is created on the first-run page or
with ``station user add``. Passwords are argon2id hashes. The session-signing key lives
in a 0600 file in the data directory so that sessions survive a restart and nobody but
the station's user can forge one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import redirect, request, url_for
from flask_login import UserMixin, current_user

from web.errors import ApiError
from web.passwords import MIN_LENGTH, check_password

ROLES = ("clinician", "patient")
SECRET_FILE = "secret_key"
MIN_PASSWORD = MIN_LENGTH
F = TypeVar("F", bound=Callable[..., Any])


# Tests only (tests/conftest.py sets it): argon2's cheapest parameters, so that creating
# and logging in accounts costs microseconds, not ~50 ms of CPU each. Verifying still
# reads the parameters from the stored hash, so any hash verifies under either setting.
CHEAP_HASH_ENV = "STATION_TEST_CHEAP_HASH"


def _hasher() -> PasswordHasher:
    if os.environ.get(CHEAP_HASH_ENV) == "1":
        from argon2.profiles import CHEAPEST

        return PasswordHasher.from_parameters(CHEAPEST)
    return PasswordHasher()


def hash_password(password: str, *, name: str = "") -> str:
    """The argon2id hash of a password that passes the policy (web/passwords.py)."""
    check_password(password, name=name)
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy: dict[bool, str] = {}


def verify_nobody(password: str) -> bool:
    """Spend the time of one real verification for a name that has no account (or a bad
    name), so that a login's duration does not tell which names exist. Always False."""
    cheap = os.environ.get(CHEAP_HASH_ENV) == "1"
    if cheap not in _dummy:
        _dummy[cheap] = _hasher().hash(secrets.token_hex(16))
    verify_password(_dummy[cheap], password)
    return False


def load_secret_key(data_dir: Path) -> bytes:
    """Read the key, creating it 0600 when absent; refuse one others can read."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
    key = path.read_bytes()
    if len(key) < 16:
        raise RuntimeError(f"{path}: the secret key is too short; delete the file to recreate it")
    return key


def field(record: Any, name: str) -> Any:
    """Storage may hand back rows, dicts or dataclasses; read a field from any of them."""
    if isinstance(record, dict):
        return record[name]
    try:
        return record[name]
    except (TypeError, KeyError, IndexError):
        return getattr(record, name)


class LoginUser(UserMixin):
    """A logged-in person as Flask-Login needs it; built from a storage row.

    The id Flask-Login keeps in the session cookie is ``"<user id>:<session epoch>"``
    (Flask-Login's "alternative tokens"): logging out, disabling the account or resetting
    its password bumps the epoch in the database, and every cookie of the old epoch,
    copied or not, stops loading a user.
    """

    def __init__(
        self,
        *,
        user_id: int,
        name: str,
        role: str,
        epoch: int = 0,
        patient_id: int | None = None,
        locale: str | None = None,
    ):
        self.user_id = user_id
        self.name = name
        self.role = role
        self.epoch = epoch
        self.patient_id = patient_id  # a patient account's patient record (web/patients.py)
        self.locale = locale  # the account's language for the page (web/i18n.py); None: browser's

    def get_id(self) -> str:
        return f"{self.user_id}:{self.epoch}"

    @classmethod
    def from_record(cls, record: Any) -> LoginUser:
        return cls(
            user_id=int(field(record, "id")),
            name=field(record, "name"),
            role=field(record, "role"),
            epoch=int(field(record, "session_epoch")),
            patient_id=getattr(record, "patient_id", None),
            locale=getattr(record, "locale", None),
        )


def load_user(cookie_id: str, *, users: Any) -> LoginUser | None:
    """Flask-Login's user loader: the account of a cookie, if it is still enabled and the
    cookie is of the account's current session epoch; anything else is "not logged in"."""
    user_id, sep, epoch = (cookie_id or "").partition(":")
    if not sep or not user_id.isdigit() or not epoch.isdigit() or len(cookie_id) > 40:
        return None
    record = users.get_by_id(int(user_id))
    if record is None or field(record, "disabled"):
        return None
    if int(field(record, "session_epoch")) != int(epoch):
        return None
    return LoginUser.from_record(record)


def _refuse(status: int) -> Any:
    if request.path.startswith("/api/"):
        if status == 401:
            raise ApiError(401, "unauthenticated", "log in first (POST /api/login)")
        raise ApiError(
            403,
            "forbidden",
            f"this needs the {'/'.join(request_roles())} role",
            allowed=list(request_roles()),
        )
    if status == 401:
        return redirect(url_for("auth.login", next=request.path))
    raise ApiError(403, "forbidden", "your account may not open this page")


def request_roles() -> tuple[str, ...]:
    return getattr(request, "_station_roles", ROLES)


def role_required(*roles: str) -> Callable[[F], F]:
    """Allow only logged-in users holding one of ``roles``: 401 without login, else 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request._station_roles = roles  # type: ignore[attr-defined]
            if not current_user.is_authenticated:
                return _refuse(401)
            if current_user.role not in roles:
                return _refuse(403)
            return view(*args, **kwargs)

        wrapper.station_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def login_required_any(view: F) -> F:
    return role_required(*ROLES)(view)


def actor() -> str:
    """How the record names who did something: a user, or nobody logged in."""
    if current_user.is_authenticated:
        return f"{current_user.role}:{current_user.name}"
    return "anonymous"
