"""A simulated patient (simulator only): feels what the chips physically drive.

The patient has a hidden detection threshold per actuator (and optionally a hidden
tolerance: the highest level still manageable). Every register write to a chip updates
the peak of its drive (``DRV2605Model.output()``: from register state alone, so a level
the station believes it wrote but the chip never drove is not felt). Asked after a
trial, the patient answers "felt" when that peak exceeds ``threshold + noise`` and
"manageable" when it stays below ``tolerance + noise``, then forgets the peak.

``noise`` is the standard deviation of the patient's momentary threshold *relative to
the threshold* (a Weber fraction: 0.05 means the threshold varies by 5 % of itself from
trial to trial), drawn from a seeded ``random.Random`` so a run is repeatable. The
patient's P(felt | level) is then Phi((level - T) / (noise * T)): 50 % at T.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from hardware.sim.drv2605 import DRV2605Model


class SimPatient:
    def __init__(self, *, chips: dict[str, DRV2605Model]) -> None:
        self.chips = chips
        self.enabled = False
        self.thresholds: dict[str, float] = {}
        self.tolerances: dict[str, float] = {}
        self.noise = 0.0
        self.seed: int | None = None
        self._rng = random.Random()
        self._lock = threading.Lock()
        self._peak: dict[str, float] = dict.fromkeys(chips, 0.0)
        for name, chip in chips.items():
            chip.on_write = self._watcher(name, chip)

    def _watcher(self, name: str, chip: DRV2605Model) -> Any:
        def watch() -> None:
            active, drive = chip.output()
            if active and abs(drive) > self._peak[name]:
                with self._lock:
                    self._peak[name] = max(self._peak[name], abs(drive))

        return watch

    def configure(
        self,
        *,
        enabled: bool,
        thresholds: dict[str, float],
        tolerances: dict[str, float],
        noise: float,
        seed: int | None,
    ) -> dict[str, Any]:
        unknown = sorted(set(thresholds) - set(self.chips) | set(tolerances) - set(self.chips))
        if unknown:
            raise ValueError(
                f"no simulated haptic chip named {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(self.chips))}"
            )
        with self._lock:
            self.enabled = enabled
            self.thresholds = dict(thresholds)
            self.tolerances = dict(tolerances)
            self.noise = noise
            self.seed = seed
            self._rng = random.Random(seed)
            self._peak = dict.fromkeys(self.chips, 0.0)
        return self.state()

    def state(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "thresholds": dict(self.thresholds),
            "tolerances": dict(self.tolerances),
            "noise": self.noise,
            "seed": self.seed,
        }

    def begin(self, actuator: str) -> None:
        """A trial starts: forget the peak so far."""
        self._check(actuator)
        with self._lock:
            self._peak[actuator] = 0.0

    def answer(self, actuator: str) -> dict[str, Any]:
        """The patient's answers to the trial since ``begin`` (and the peak it was)."""
        self._check(actuator)
        with self._lock:
            peak, self._peak[actuator] = self._peak[actuator], 0.0
            out: dict[str, Any] = {"actuator": actuator, "peak": round(peak, 5)}
            thr = self.thresholds.get(actuator)
            if thr is not None:
                out["felt"] = peak > thr + self._rng.gauss(0.0, self.noise * thr)
            tol = self.tolerances.get(actuator)
            if tol is not None:
                out["manageable"] = peak < tol + self._rng.gauss(0.0, self.noise * tol)
        return out

    def _check(self, actuator: str) -> None:
        if actuator not in self.chips:
            raise ValueError(
                f"no simulated haptic chip named {actuator!r}; "
                f"allowed: {', '.join(sorted(self.chips))}"
            )
