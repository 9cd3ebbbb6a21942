"""Errors a person can act on: each names where, the value, what is allowed and the fix.

Validation errors from files (wiring config, protocols), forms and API calls all end up as
a ``ConfigError`` holding a list of ``Problem``s, so every input path reports all of its
problems at once in the same shape (``file: path = value: message``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

MAX_SHOWN_VALUE = 60


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what it holds, and what to do."""

    path: str
    message: str
    value: Any = None
    has_value: bool = False

    def render(self, source: str | None = None) -> str:
        where = f"{source}: " if source else ""
        loc = self.path or "(top level)"
        if self.has_value:
            return f"{where}{loc} = {short_value(self.value)}: {self.message}"
        return f"{where}{loc}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.path, "message": self.message}
        if self.has_value:
            out["value"] = _jsonable(self.value)
        return out


class StationError(Exception):
    """Base for errors the CLI prints as one clear message without a traceback."""


class ConfigError(StationError):
    """An input (file, form, request) that failed validation; carries every problem."""

    def __init__(self, source: str | None, problems: Sequence[Problem]):
        self.source = source
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(p.render(self.source) for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "problems": [p.as_dict() for p in self.problems]}


class HardwareError(StationError):
    """A device that is missing, answers wrongly or reports a fault; names the device."""

    def __init__(self, device: str, message: str):
        self.device = device
        super().__init__(f"{device}: {message}")


class EngineError(StationError):
    """A request the engine refuses; ``code`` is the IPC error code (``bad_params``,
    ``not_armed``, ``busy``, ...), the message says why and what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StorageError(StationError):
    """The database cannot be used (corrupt, from a newer station, unreadable); the file
    is always left in place and the message says what to do (update, restore a backup)."""


class StorageFull(StorageError):
    """A write the disk refused (full, read-only, an I/O error): nothing was written; the
    web layer answers 503, and what must not be lost waits in ``station.app.pending``."""


class NotFound(StationError):
    """A record (session, user, ...) that does not exist; the web layer answers 404."""


class Conflict(StationError):
    """A request that clashes with the current state (a duplicate name, a session that
    already ended); the web layer answers 409."""


class StalePlan(Conflict):
    """A plan change computed from a plan that has changed since (another clinician's cap,
    the patient's setting, progression): nothing was written; read it again and redo."""

    def __init__(self, *, expected: int | None, current: int | None, changed_at: str | None):
        self.expected, self.current, self.changed_at = expected, current, changed_at
        super().__init__(
            f"the plan changed since it was read (revision {expected}, now {current}, "
            f"changed at {changed_at}); nothing was saved: reload it and make the change "
            "again"
        )


class NotAllowed(Conflict):
    """Refused by a rule such as sessions per day; ``next_allowed_at`` says when it will be
    allowed (a timezone-aware datetime) or is None when no time will make it allowed."""

    def __init__(self, message: str, *, next_allowed_at: Any = None, rule: str | None = None):
        self.next_allowed_at = next_allowed_at
        self.rule = rule
        super().__init__(message)


class InvalidInput(StationError):
    """A value outside what is allowed; names the field, the value and what is allowed."""

    def __init__(self, field: str, value: Any, allowed: Any, message: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(message or f"{field} = {short_value(value)}: allowed is {allowed}")


def format_loc(loc: Iterable[str | int]) -> str:
    """``("levels", 2, "steps", 0, "intensity")`` -> ``levels[2].steps[0].intensity``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _drop_union_tags(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Pydantic puts the tag of a discriminated union (e.g. ``vibrate``) in the location;
    a person wrote no such key, so keep only path parts that exist in the input."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            kept.append(part)
            node = node[part]
        elif isinstance(node, dict | list):
            # A key the input lacks (a missing field) is still worth naming; a union tag
            # is not, and it is always followed by a key that exists in the input.
            if isinstance(part, str) and isinstance(node, dict) and _is_tag(part, node):
                continue
            kept.append(part)
            node = None
        else:
            kept.append(part)
    return tuple(kept)


def _is_tag(part: str, node: dict[str, Any]) -> bool:
    return any(isinstance(v, str) and v == part for v in node.values()) or part.startswith(
        ("function-", "tagged-union", "union[")
    )


def problems_from_validation(exc: ValidationError, data: Any = None) -> list[Problem]:
    """Turn pydantic's errors into ``Problem``s with paths a person can find in the file."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = _drop_union_tags(tuple(err["loc"]), data) if data is not None else err["loc"]
        kind = err["type"]
        msg = err["msg"]
        if kind == "extra_forbidden":
            msg = "unknown key (a typo?); remove it or check the spelling against the documentation"
        elif kind == "missing":
            msg = "required, but missing; add it"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        elif msg.startswith("Assertion failed, "):
            msg = msg[len("Assertion failed, ") :]
        has_value = kind not in ("missing",) and "input" in err
        problems.append(
            Problem(format_loc(loc), msg, err.get("input") if has_value else None, has_value)
        )
    return problems


def load_toml_file(path: Path, *, max_bytes: int = 256 * 1024) -> dict[str, Any]:
    """Read a TOML file or raise ``ConfigError`` saying why not (missing, empty, too big,
    not TOML with the line and column)."""
    source = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", "file not found; check the path")]) from None
    except OSError as exc:
        raise ConfigError(source, [Problem("", f"cannot read the file: {exc.strerror}")]) from None
    if size > max_bytes:
        raise ConfigError(
            source,
            [Problem("", f"file is {size} bytes; at most {max_bytes} bytes are allowed")],
        )
    raw = path.read_bytes()
    return parse_toml_text(raw, source)


def parse_toml_text(raw: bytes | str, source: str) -> dict[str, Any]:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                source, [Problem("", f"not UTF-8 text (byte {exc.start}); save it as UTF-8")]
            ) from None
    else:
        text = raw
    if not text.strip():
        raise ConfigError(source, [Problem("", "the file is empty; it must hold TOML")])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [Problem("", f"not valid TOML: {exc}")]) from None
    except RecursionError:
        raise ConfigError(
            source, [Problem("", "arrays or tables nested too deeply; no station file needs that")]
        ) from None


def short_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 3] + "..."


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return short_value(value)
