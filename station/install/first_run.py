"""The installer's last word on a fresh station: the one-time setup code.

Creating the first clinician on the page needs the code (station/app/setup_code.py).
The installer makes it (0600, owned by the station's user, never replacing one) when the
station has no clinician yet, and prints it beside the page's address; once a clinician
exists there is none. The app makes the same file itself at start-up when it is missing,
and ``station setup-code`` shows it again.
"""

from __future__ import annotations

import sqlite3

from station.app import setup_code
from station.install.action import DATA_DIR, USER
from station.install.host import Host
from station.storage.db import DB_NAME

CODE_FILE = f"{DATA_DIR}/{setup_code.FILE_NAME}"
DB_FILE = f"{DATA_DIR}/{DB_NAME}"


def has_clinician(host: Host) -> bool | None:
    """True/False from the station's database, None when it cannot be read (then the
    operator is told how to get the code instead)."""
    db = host.path(DB_FILE)
    if not db.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2.0)
        try:
            row = conn.execute("SELECT count(*) FROM users WHERE role = 'clinician'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return bool(row[0])


def setup_code_line(host: Host) -> str | None:
    """What to print about the setup code after an install (None: nothing to say)."""
    known = has_clinician(host)
    if known:
        return None
    if known is None:
        return (
            "the station's database could not be read here; `sudo -u station station "
            "setup-code` shows the setup code the first page asks for"
        )
    code = setup_code.read(host.path(DATA_DIR))
    if code is None:
        code = setup_code.new_code()
        host.write(CODE_FILE, code + "\n", 0o600, exclusive=True)
        host.chown(CODE_FILE, USER)
        if host.dry_run:
            return "a one-time setup code would be made and printed here"
    return setup_code.announcement(code)
