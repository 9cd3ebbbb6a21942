"""Stored DRV2605 auto-calibration results, one JSON file in the data directory.

Why a file and not the wiring config: calibration is measured on the station (actuator
mounted as in use) and changes when an actuator is replaced; the wiring file is edited
by a person. ``calibration`` in the wiring config still wins when present (a clinic can
pin known-good values). The file is rewritten atomically (temp file, fsync, rename) so a
power cut mid-write leaves the old results, never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from station.errors import ConfigError, Problem, problems_from_validation
from station.wiring import HapticCalibration

FILE_NAME = "haptic_calibration.json"
FORMAT_VERSION = 1


class CalibrationStore:
    """``get(name)`` / ``put(name, cal)`` over ``path``. Reads the file on every call:
    it is tiny and read at start-up only, and this way a recalibration by another
    process is seen without a restart."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @classmethod
    def in_data_dir(cls, data_dir: Path | str) -> CalibrationStore:
        return cls(Path(data_dir) / FILE_NAME)

    def get(self, name: str) -> HapticCalibration | None:
        entry = self._load().get(name)
        if entry is None:
            return None
        try:
            return HapticCalibration.model_validate(
                {k: v for k, v in entry.items() if k != "calibrated_at"}
            )
        except ValidationError as exc:
            problems = problems_from_validation(exc, entry)
            raise ConfigError(
                str(self.path),
                [
                    Problem(f"haptics.{name}.{p.path}", p.message + _FIX, p.value, p.has_value)
                    for p in problems
                ],
            ) from None

    def put(self, name: str, calibration: HapticCalibration) -> None:
        data = self._load()
        data[name] = {
            **calibration.model_dump(),
            "calibrated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._write({"version": FORMAT_VERSION, "haptics": data})

    def entries(self) -> dict[str, dict[str, Any]]:
        """Every stored entry as written (values and ``calibrated_at``), validated: what
        a page or ``station calibrate`` shows."""
        raw = self._load()
        return {
            name: {**cal.model_dump(), "calibrated_at": raw[name].get("calibrated_at")}
            for name, cal in self.all().items()
            if name in raw
        }

    def all(self) -> dict[str, HapticCalibration]:
        return {name: cal for name in self._load() if (cal := self.get(name)) is not None}

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise self._corrupt(f"cannot read it ({exc})") from None
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise self._corrupt(f"not valid JSON (line {exc.lineno}, column {exc.colno})") from None
        haptics = doc.get("haptics") if isinstance(doc, dict) else None
        if not isinstance(haptics, dict) or not all(isinstance(v, dict) for v in haptics.values()):
            raise self._corrupt('expected {"version": 1, "haptics": {"<name>": {...}}}')
        return haptics

    def _write(self, doc: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)

    def _corrupt(self, why: str) -> ConfigError:
        return ConfigError(str(self.path), [Problem("", why + _FIX)])


_FIX = "; delete the file and run the haptic auto-calibration again"
