"""The one-time setup code that creating the first clinician needs (like Jupyter's token).

A fresh station has no accounts and no default password, so whoever reaches ``/setup``
first would become the clinician. The code closes that: it is made when the station has
no clinician, kept in a 0600 file in the data directory (readable only by the station's
user, like the session key), printed by ``./run`` and the installer, and shown again by
``station setup-code``. ``/setup`` compares it in constant time; creating the clinician
spends it (the file is removed).

The code is 16 letters and digits from Crockford's base32 alphabet (no I, L, O, U:
nothing to misread on a phone), about 80 bits: out of reach of the login rate limit.
Dashes, spaces and case are ignored when it is typed.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

FILE_NAME = "setup_code"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16


def path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch not in "- \t")


def read(data_dir: Path) -> str | None:
    """The code in force, or None when there is none (spent, or never made)."""
    try:
        text = path(data_dir).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return text or None


def ensure(data_dir: Path) -> str:
    """The code in force, made now (0600, never replacing one) when there is none."""
    target = path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if target.stat().st_mode & 0o077:
            os.chmod(target, 0o600)
    else:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(new_code() + "\n")
    code = read(data_dir)
    if code is None:  # an empty file (a crash while writing): make a new one
        target.unlink(missing_ok=True)
        return ensure(data_dir)
    return code


def matches(data_dir: Path, given: str) -> bool:
    """Whether ``given`` is the code in force; constant time in the code's content."""
    code = read(data_dir)
    if code is None:
        return False
    return hmac.compare_digest(normalise(code).encode(), normalise(given or "").encode())


def spend(data_dir: Path) -> None:
    path(data_dir).unlink(missing_ok=True)


def sync(*, data_dir: Path, clinician_exists: bool) -> str | None:
    """At start-up: a station without a clinician has a code; one with a clinician has
    none (an account made with ``station user add`` spends it too)."""
    if clinician_exists:
        spend(data_dir)
        return None
    return ensure(data_dir)


def announcement(code: str) -> str:
    return (
        f"one-time setup code: {code}  (the first page asks for it to create the "
        "clinician account; `station setup-code` shows it again)"
    )
