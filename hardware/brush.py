"""The brush arm: a hobby servo swinging a soft brush over the skin, in skin units.

Protocols and the engine speak centimetres along the skin (CT-afferent research gives
brushing speeds in cm/s); this module turns a position on the skin into a servo angle and
that angle into a pulse width:

    angle    = min_angle + degrees(position_cm / radius_cm)
    pulse_us = pulse_min_us + angle / servo_range_deg * (pulse_max_us - pulse_min_us)

and writes the pulse as an integer nanosecond duty cycle on a hardware PWM channel.

Resolution, the reason this needs hardware PWM: at 50 Hz the period is 20 ms. The kernel
PWM takes the duty cycle in 1 ns steps; with the reference servo (500-2500 us over 180
degrees) one step is 0.00009 degrees, about 0.0000126 cm of skin at an 8 cm radius, far
below the servo's own dead band (a few microseconds). Software PWM (gpiozero on lgpio)
rounds the duty cycle to whole percent: 1 % of 20 ms is 200 us, i.e. 18 degrees or 2.5 cm
per step at 8 cm, a handful of positions over the calibrated travel. See
``duty_step_cm`` and the test that checks it.

Safety: a target outside the calibrated travel is refused (ValueError naming the value
and the range), never clamped silently; ``off()`` parks the brush off the skin and then
stops the pulses, and never raises.

Pacing: the servo takes one pulse width per PWM frame (20 ms at 50 Hz), so moves go
through ``hardware.pacer.DutyPacer``: at most one duty write per frame, the newest setpoint
winning, and the last one always written (on the next call, ``flush()`` or the pacer's
flusher at the frame boundary). ``park()`` bypasses the pacer: every stop writes at once.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from types import TracebackType

from hardware.pacer import DutyPacer
from hardware.pwm import PWMChannel, period_ns_for
from station.wiring import BrushConfig

# Float arithmetic in a ramp may end at travel_cm + 1e-12; anything within this counts as
# on the end stop (one nanometre of skin, far below one duty step).
POSITION_TOLERANCE_CM = 1e-7


class BrushArm:
    """A brush on a servo on a hardware PWM channel (implements ``hardware.interfaces.Brush``).

    ``position_cm`` is measured along the skin from the ``min_angle_deg`` end of the
    calibrated travel, so valid targets are ``0..travel_cm``.
    """

    def __init__(
        self,
        *,
        config: BrushConfig,
        pwm: PWMChannel,
        detach_delay_s: float = 0.0,
        clock: Callable[[], int] = time.monotonic_ns,
        background_flush: bool = True,
    ) -> None:
        """``detach_delay_s``: how long ``off()`` keeps the park pulse going before it
        detaches, so the servo can actually swing off the skin (a servo without pulses
        goes limp where it is). 0 detaches at once; the delay runs on a timer thread and
        never blocks the caller. ``clock`` (monotonic ns) paces the duty writes, one per
        PWM frame; ``background_flush`` lets the pacer write a move's last setpoint at its
        frame boundary when no further call comes (tests turn it off and call ``flush``)."""
        expected = period_ns_for(config.frequency_hz)
        if pwm.period_ns != expected:
            raise ValueError(
                f"brush '{config.name}': the PWM channel's period is {pwm.period_ns} ns but "
                f"frequency_hz = {config.frequency_hz} needs {expected} ns; open the channel "
                "with the brush's frequency_hz"
            )
        self.config = config
        self.name = config.name
        self.travel_cm = config.travel_cm
        self._pwm = pwm
        self._pacer = DutyPacer(pwm, frame_ns=expected, clock=clock, background=background_flush)
        self._angle_deg = config.park_angle_deg
        self._closed = False
        self._detach_delay_s = max(0.0, float(detach_delay_s))
        self._lock = threading.Lock()  # start/off/timer only; not on the 1 kHz move path
        self._detach_timer: threading.Timer | None = None

    # -- kinematics ---------------------------------------------------------------------
    def angle_for_position(self, position_cm: float) -> float:
        """Servo angle (degrees) for a position on the skin; ValueError outside the travel."""
        return self._angle_at(self._check_position(position_cm))

    def _angle_at(self, position_cm: float) -> float:
        return self.config.min_angle_deg + math.degrees(position_cm / self.config.radius_cm)

    def position_for_angle(self, angle_deg: float) -> float:
        """Position along the skin for a servo angle (negative or beyond travel off the skin)."""
        return math.radians(angle_deg - self.config.min_angle_deg) * self.config.radius_cm

    def duty_ns_for_angle(self, angle_deg: float) -> int:
        """The pulse width for ``angle_deg``, as an integer nanosecond duty cycle."""
        c = self.config
        pulse_us = c.pulse_min_us + angle_deg / c.servo_range_deg * (
            c.pulse_max_us - c.pulse_min_us
        )
        return round(pulse_us * 1000)

    def speed_to_deg_s(self, speed_cm_s: float) -> float:
        """Brushing speed on the skin (cm/s) as servo angular speed (degrees/s)."""
        return math.degrees(speed_cm_s / self.config.radius_cm)

    def deg_s_to_speed(self, deg_s: float) -> float:
        """Servo angular speed (degrees/s) as brushing speed on the skin (cm/s)."""
        return math.radians(deg_s) * self.config.radius_cm

    @property
    def duty_step_cm(self) -> float:
        """Skin distance of one 1 ns duty-cycle step: the positioning resolution."""
        c = self.config
        deg_per_ns = c.servo_range_deg / ((c.pulse_max_us - c.pulse_min_us) * 1000)
        return math.radians(deg_per_ns) * c.radius_cm

    def _check_position(self, position_cm: float) -> float:
        position = float(position_cm)
        tol = POSITION_TOLERANCE_CM
        if not (math.isfinite(position) and -tol <= position <= self.travel_cm + tol):
            raise ValueError(
                f"brush '{self.name}': position_cm = {position_cm!r} is outside the calibrated "
                f"travel 0..{self.travel_cm:.3f} cm (angles {self.config.min_angle_deg:g}.."
                f"{self.config.max_angle_deg:g} degrees); recalibrate the travel or shorten "
                "the stroke"
            )
        return min(max(position, 0.0), self.travel_cm)

    # -- state --------------------------------------------------------------------------
    @property
    def angle_deg(self) -> float:
        """The commanded servo angle (the park angle until the first move)."""
        return self._angle_deg

    @property
    def position_cm(self) -> float:
        """The commanded position along the skin; below 0 when parked off the skin."""
        return self.position_for_angle(self._angle_deg)

    @property
    def on_skin(self) -> bool:
        """True when attached and the angle lies within the calibrated travel."""
        c = self.config
        return self.attached and c.min_angle_deg <= self._angle_deg <= c.max_angle_deg

    @property
    def attached(self) -> bool:
        """True while pulses go out (the servo holds its position)."""
        return self._pwm.enabled

    # -- the Brush interface -------------------------------------------------------------
    def start(self) -> None:
        """Attach at the park position: set the park pulse first, then enable."""
        with self._lock:
            self._cancel_detach()
            self.park()
            self._pwm.set_enabled(True)

    def set_position_cm(self, position_cm: float) -> None:
        """Move to ``position_cm`` (one duty-cycle write, none when unchanged).

        The servo follows only while attached; before ``start()`` the target is stored.
        """
        self._move(self.angle_for_position(position_cm))

    def set_path_cm(self, position_cm: float) -> None:
        """Move to a point on the brush's whole path: the calibrated travel plus the stretch
        between it and the park angle (off the skin). The engine's timed approach and
        retreat run along that stretch; beyond the park angle or past the far end of the
        travel is refused (ValueError), as in ``set_position_cm``."""
        position = float(position_cm)
        park = self.config.park_cm
        lo, hi = min(0.0, park), max(self.travel_cm, park)
        tol = POSITION_TOLERANCE_CM
        if not (math.isfinite(position) and lo - tol <= position <= hi + tol):
            raise ValueError(
                f"brush '{self.name}': position_cm = {position_cm!r} is off the brush's path "
                f"{lo:.3f}..{hi:.3f} cm (park angle {self.config.park_angle_deg:g} degrees "
                f"through the travel 0..{self.travel_cm:.3f} cm); recalibrate or recompile"
            )
        position = min(max(position, lo), hi)
        self._move(self._angle_at(position))

    def set_angle_deg(self, angle_deg: float) -> None:
        """Move to an angle inside the calibrated travel (for calibration tools)."""
        c = self.config
        if not (math.isfinite(angle_deg) and c.min_angle_deg <= angle_deg <= c.max_angle_deg):
            raise ValueError(
                f"brush '{self.name}': angle_deg = {angle_deg!r} is outside the calibrated "
                f"travel {c.min_angle_deg:g}..{c.max_angle_deg:g} degrees"
            )
        self._move(float(angle_deg))

    def park(self) -> None:
        """Lift the brush clear of the skin: one write to the park angle, at once.

        Deliberately not ramped and not paced: every stop (panel, e-stop, fault, watchdog,
        pause) parks through here immediately, discarding any move still waiting for its
        PWM frame, because stop always wins over smoothness. The ramped way off the skin
        is the lead-out the engine plays at the end of a brush segment."""
        angle = self.config.park_angle_deg
        self._pacer.write_now(self.duty_ns_for_angle(angle))
        self._angle_deg = angle

    def _move(self, angle_deg: float) -> None:
        """Paced: written now if this PWM frame has had no duty write, else the newest
        pending setpoint, written once the frame allows."""
        self._pacer.request(self.duty_ns_for_angle(angle_deg))
        self._angle_deg = angle_deg

    def flush(self) -> bool:
        """Write a move still waiting for its PWM frame, if the frame has come (cheap when
        nothing waits); True when it wrote. A caller that stops moving the brush may call
        it each tick; the pacer's flusher does it otherwise."""
        return self._pacer.flush()

    @property
    def max_write_age_ns(self) -> int:
        """The oldest a position ever was when its duty write went out (the pacer's
        measured figure: a paced move's setpoint can wait for its PWM frame)."""
        return self._pacer.max_age_ns

    @property
    def pending_duty_ns(self) -> int | None:
        """The duty cycle waiting for its PWM frame, or None."""
        return self._pacer.pending

    def off(self) -> None:
        """Park, then detach (no pulses). Never raises: it is called from stop paths.

        With ``detach_delay_s`` > 0 the detach happens that long after the park write
        (on a timer), unless the brush was already attached at park or detached.
        """
        with self._lock:
            was_at_park = self._angle_deg == self.config.park_angle_deg
            with contextlib.suppress(Exception):  # a stop path must go on to detach
                self.park()
            if self._detach_timer is not None:
                return  # a detach is already scheduled; repeated stops must not cut it short
            if self._detach_delay_s > 0 and self._pwm.enabled and not was_at_park:
                timer = threading.Timer(self._detach_delay_s, self._delayed_detach)
                timer.daemon = True
                self._detach_timer = timer
                timer.start()
                return
            self._detach()

    def _delayed_detach(self) -> None:
        with self._lock:
            if self._detach_timer is not None:
                self._detach_timer = None
                self._detach()

    def _cancel_detach(self) -> None:
        if self._detach_timer is not None:
            self._detach_timer.cancel()
            self._detach_timer = None

    def _detach(self) -> None:
        with contextlib.suppress(Exception):
            self._pwm.set_enabled(False)

    def close(self) -> None:
        """Park and detach at once (no delay), then release the PWM channel. Safe twice."""
        if self._closed:
            return
        with self._lock:
            self._cancel_detach()
            with contextlib.suppress(Exception):
                self.park()
            self._detach()
            self._closed = True
        self._pacer.close()
        self._pwm.close()

    def __enter__(self) -> BrushArm:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BrushArm({self.name!r}, angle={self._angle_deg:.2f} deg, attached={self.attached})"
