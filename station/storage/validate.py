"""Input checks shared by the store's methods: each failure is an ``InvalidInput`` naming
the field, the value and what is allowed, raised before anything is written."""

from __future__ import annotations

import json
from typing import Any, Literal, overload

from station.errors import InvalidInput

MAX_NAME = 64
MAX_TEXT_SHORT = 200
MAX_JSON_BYTES = 256 * 1024


def integer(field: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """An int (not a bool, not 3.5, not "3") within [lo, hi]."""
    allowed = _range_text(lo, hi)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, value, allowed, f"{field} = {value!r}: must be {allowed}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise InvalidInput(field, value, allowed, f"{field} = {value}: must be {allowed}")
    return value


def _range_text(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"a whole number from {lo} to {hi}"
    if lo is not None:
        return f"a whole number of at least {lo}"
    return "a whole number"


def optional_int(
    field: str, value: Any, lo: int | None = None, hi: int | None = None
) -> int | None:
    return None if value is None else integer(field, value, lo, hi)


@overload
def text(field: str, value: Any, max_len: int, *, required: Literal[True] = True) -> str: ...
@overload
def text(field: str, value: Any, max_len: int, *, required: bool) -> str | None: ...
def text(field: str, value: Any, max_len: int, *, required: bool = True) -> str | None:
    """Text up to ``max_len`` characters; stripped; empty counts as missing."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, value, f"text of at most {max_len} characters")
    stripped = value.strip()
    if not stripped:
        if required:
            raise InvalidInput(field, value, "non-empty text", f"{field}: must not be empty")
        return None
    if len(stripped) > max_len:
        raise InvalidInput(
            field,
            f"{len(stripped)} characters",
            f"at most {max_len} characters",
            f"{field}: {len(stripped)} characters is too long; at most {max_len} are allowed "
            "(shorten it or split it into two entries)",
        )
    if "\x00" in stripped:
        raise InvalidInput(field, value, "text without NUL characters")
    return stripped


def name(field: str, value: Any) -> str:
    out = text(field, value, MAX_NAME)
    assert out is not None
    return out


def optional_bool(field: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidInput(field, value, "true, false or null")


def choice(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(
            field, value, list(allowed), f"{field} = {value!r}: must be one of {', '.join(allowed)}"
        )
    return value


def json_text(field: str, value: Any, kind: type = dict) -> str:
    """Serialise ``value`` (a dict/list of JSON types) with a size cap."""
    if not isinstance(value, kind):
        raise InvalidInput(field, type(value).__name__, f"a JSON {kind.__name__}")
    try:
        out = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            field, str(exc), "JSON values only (text, numbers, lists, maps)"
        ) from None
    if len(out.encode()) > MAX_JSON_BYTES:
        raise InvalidInput(field, f"{len(out)} bytes", f"at most {MAX_JSON_BYTES} bytes")
    return out


def levels(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise InvalidInput("levels", value, "a map of ladder name -> level index")
    return {name(f"levels[{k!r}]", k): integer(f"levels[{k!r}]", v, 0) for k, v in value.items()}


def ranking(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise InvalidInput("ranking", value, "a map of ladder name -> list of item ids")
    out: dict[str, list[str]] = {}
    for k, items in value.items():
        ladder = name("ranking", k)
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise InvalidInput(f"ranking[{k!r}]", items, "a list of item ids (text)")
        if len(set(items)) != len(items):
            raise InvalidInput(f"ranking[{k!r}]", items, "each item at most once")
        out[ladder] = list(items)
    return out
