"""The protocol library on disk: versioned, hashed, never silently overwritten.

Layout in the data directory::

    protocols/<id>/<version>.toml     the text as imported (comments kept; .json for JSON)
    protocols/<id>/<version>.meta.json  hash, when, from where
    protocols-inbox/                  drop folder: files here are imported at start-up;
    protocols-inbox/imported/         ...moved here once imported,
    protocols-inbox/<file>.error.txt  ...or left in place with the reason beside them.

A protocol's identity is (id, version) and its content is the sha256 of its canonical JSON
(``protocol_hash``), so re-importing the same content is harmless while a changed file
with the same id and version is refused: a clinician must bump the version, and the old
version stays beside the new one (sessions recorded against it stay explainable).
Plain files rather than SQLite: a clinician can read, back up and copy them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Literal

from station.errors import ConfigError, Conflict, NotFound, Problem, StationError
from station.protocols.load import (
    Format,
    format_of,
    load_file,
    load_text,
    protocol_hash,
    read_file,
)
from station.protocols.model import Protocol, version_key
from station.wiring import WiringConfig

LIBRARY = "protocols"
INBOX = "protocols-inbox"
ACCEPTED_SUFFIXES = (".toml", ".json")


@dataclass(frozen=True)
class StoredProtocol:
    id: str
    version: str
    name: str
    hash: str
    path: Path
    builtin: bool = False


@dataclass(frozen=True)
class ImportResult:
    id: str
    version: str
    hash: str
    path: Path
    status: Literal["imported", "unchanged"]


@dataclass
class DropReport:
    imported: list[tuple[str, ImportResult]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file name, message)


def library_dir(data_dir: Path) -> Path:
    return Path(data_dir) / LIBRARY


def inbox_dir(data_dir: Path) -> Path:
    return Path(data_dir) / INBOX


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """One importer at a time (the web page and the CLI may import together)."""
    lib = library_dir(data_dir)
    lib.mkdir(parents=True, exist_ok=True)
    with open(lib / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _stored_file(data_dir: Path, pid: str, version: str) -> Path | None:
    for suffix in ACCEPTED_SUFFIXES:
        path = library_dir(data_dir) / pid / f"{version}{suffix}"
        if path.is_file():
            return path
    return None


def import_text(
    data_dir: Path,
    raw: bytes | str,
    *,
    fmt: Format,
    source: str,
    wiring: WiringConfig | None = None,
) -> ImportResult:
    """Validate and store a protocol; web uploads and files both come through here.

    Raises ``ConfigError`` (invalid; nothing stored) or ``Conflict`` (same id and version
    already stored with different content)."""
    protocol = load_text(raw, fmt=fmt, source=source, wiring=wiring)
    digest = protocol_hash(protocol)
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    with _locked(data_dir):
        existing = _stored_file(data_dir, protocol.id, protocol.version)
        if existing is not None:
            old = protocol_hash(load_file(existing))
            if old == digest:
                return ImportResult(protocol.id, protocol.version, digest, existing, "unchanged")
            raise Conflict(
                f"{source}: protocol '{protocol.id}' version {protocol.version} is already in "
                f"the library with different content (sha256 {old[:12]}...); give the changed "
                "protocol a new version number (the old version is kept beside it)"
            )
        folder = library_dir(data_dir) / protocol.id
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{protocol.version}.{fmt}"
        meta = {
            "hash": digest,
            "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "format": fmt,
        }
        _write(folder / f"{protocol.version}.meta.json", json.dumps(meta, indent=2) + "\n")
        _write(final, text, exclusive=True)
    return ImportResult(protocol.id, protocol.version, digest, final, "imported")


def _write(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write whole-or-nothing: a temp file, fsync, then rename into place; ``exclusive``
    links instead, which fails if the name exists (a stored version is never replaced)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def import_file(data_dir: Path, path: Path, *, wiring: WiringConfig | None = None) -> ImportResult:
    path = Path(path)
    if path.suffix.lower() not in ACCEPTED_SUFFIXES:
        raise ConfigError(str(path), [Problem("", "a protocol file ends in .toml or .json")])
    return import_text(
        data_dir, read_file(path), fmt=format_of(path), source=str(path), wiring=wiring
    )


def builtin_paths() -> list[Path]:
    """The built-in library shipped in station/protocols/*.toml."""
    folder = Path(str(resources.files("station.protocols")))
    return sorted(folder.glob("*.toml"))


def install_builtins(data_dir: Path, *, wiring: WiringConfig | None = None) -> DropReport:
    report = DropReport()
    for path in builtin_paths():
        try:
            report.imported.append((path.name, import_file(data_dir, path, wiring=wiring)))
        except StationError as exc:
            report.rejected.append((path.name, str(exc)))
    return report


def list_protocols(data_dir: Path, *, include_builtin: bool = True) -> list[StoredProtocol]:
    """Every stored version (oldest first per id), plus built-ins not yet imported."""
    out: list[StoredProtocol] = []
    lib = library_dir(data_dir)
    if lib.is_dir():
        for folder in sorted(p for p in lib.iterdir() if p.is_dir()):
            for path in folder.iterdir():
                if path.suffix not in ACCEPTED_SUFFIXES or path.name.endswith(".meta.json"):
                    continue
                if path.name.startswith("."):
                    continue
                try:
                    p = load_file(path)
                except ConfigError:
                    continue  # a damaged file is reported by `validate`, not listed
                out.append(StoredProtocol(p.id, p.version, p.name, protocol_hash(p), path))
    if include_builtin:
        have = {(s.id, s.version) for s in out}
        for path in builtin_paths():
            p = load_file(path)
            if (p.id, p.version) not in have:
                out.append(StoredProtocol(p.id, p.version, p.name, protocol_hash(p), path, True))
    return sorted(out, key=lambda s: (s.id, version_key(s.version)))


def find_protocol(data_dir: Path, pid: str, version: str | None = None) -> StoredProtocol:
    """The stored (or built-in) protocol; the highest version when ``version`` is None."""
    matches = [s for s in list_protocols(data_dir) if s.id == pid]
    if version is not None:
        matches = [s for s in matches if s.version == version]
    if not matches:
        known = sorted({s.id for s in list_protocols(data_dir)})
        what = f"'{pid}'" + (f" version {version}" if version else "")
        raise NotFound(f"no protocol {what} in the library; known: {known}")
    return max(matches, key=lambda s: (version_key(s.version), not s.builtin))


def get_protocol(data_dir: Path, pid: str, version: str | None = None) -> Protocol:
    return load_file(find_protocol(data_dir, pid, version).path)


def import_drop_folder(data_dir: Path, *, wiring: WiringConfig | None = None) -> DropReport:
    """Import every file a clinician copied into the drop folder (run at start-up).
    Imported files move to ``imported/``; rejected ones stay, with ``<name>.error.txt``."""
    inbox = inbox_dir(data_dir)
    report = DropReport()
    if not inbox.is_dir():
        inbox.mkdir(parents=True, exist_ok=True)
        return report
    done = inbox / "imported"
    for path in sorted(inbox.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.name.endswith(".error.txt"):
            continue
        error_file = path.with_name(path.name + ".error.txt")
        try:
            result = import_file(data_dir, path, wiring=wiring)
        except StationError as exc:
            error_file.write_text(str(exc) + "\n", encoding="utf-8")
            report.rejected.append((path.name, str(exc)))
            continue
        done.mkdir(exist_ok=True)
        target = done / path.name
        if target.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            target = done / f"{path.stem}.{stamp}{path.suffix}"
        shutil.move(str(path), target)
        error_file.unlink(missing_ok=True)
        report.imported.append((path.name, result))
    return report
