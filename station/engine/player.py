"""Plays one compiled program onto the hardware, one tick at a time.

Everything that can be computed before the first tick is: per-step lists of segments by
actuator slot, brush profiles and origins, preallocated setpoint arrays. A tick renders
the current step's segments at the program time, compares each setpoint with the last
one written and writes only what changed (one RTP write per changed code, one effect per
tap, one duty write per brush move). What was delivered per step (peak level, taps,
strokes) is tallied for the ``step_finished`` event.

Brushes follow a ``BrushPath`` planned here before the first tick: each brush segment
opens with a timed, acceleration-limited approach from park and closes with the retreat
to park, so the arm never slews onto or off the skin in one write while playing. Stops
are not the player's business: the engine parks every brush in one write
(``HardwareSet.all_off``), never waiting for a ramp.

A brush that is parked while its path is away from park (a resume after pause parked it
mid-stroke; any program that starts mid-segment) does not jump onto the path: it *catches
up*, moving from where it is toward the rendered setpoint, off the skin by at most the
brush's ``approach_speed_cm_s`` (or the segment's own speed when that is higher) times the
program time since the last tick, on the skin by at most the segment's own speed times
that time (every write while the bristles touch keeps to the prescribed speed), and
follows the path again exactly once it is within one such step. A brush that starts a
segment from park is already on its path (the lead-in begins at park), so the normal
lead-in is unchanged.

On the skin the path itself never moves faster than the segment's speed: strokes are
trapezoids at that speed, and the lead-in/lead-out glide off the skin at the approach
speed but on it at the stroke's speed (``brushpath.Glide``). Strokes in one direction
(``forward``/``backward`` with more than one stroke) would need a return across the skin
between strokes; ``check_program`` refuses them (``brushpath.one_axis_problem``).

RTP amplitude updates are rate-limited and staggered. A DRV2605L applies a new RTP value
about once per drive cycle (an LRA at 150-240 Hz: every 4-7 ms; TI: streaming faster than
every 2-4 ms changes nothing), while every write costs a bus transaction (~120 us at
400 kHz with the host overhead, ~220 us with a mux re-select). So driver ``i`` is written
only on ticks where ``tick % period == i % period``, ``period`` = ``RTP_UPDATE_MS`` in
ticks (4 at 1 kHz), ``i`` its index in the fault poller (the wiring's order; without a
poller, its place among the program's drivers): at most one RTP write per driver per
period, and with up to ``period`` drivers never two drivers' RTP writes in one tick. On
its slot a driver gets the setpoint rendered at that tick, so nothing is lost: a lowered
value (and the final 0 after a ramp down) lands on the driver's next slot, at most
``period - 1`` ticks late, and what is written is exactly the render at the time it is
written. Not rate-limited: ``silence`` (pause: every driver to 0 at once), tap effects
(timed to the tick), brush moves, and stops (``HardwareSet.all_off``, not the player). A
poller with a ``slot(phase, period)`` method is told each tick's slot after the writes, so
it can read STATUS on the same grid. On the simulator the player marks each tick on the
bus (``tick_mark``), so bus time per tick can be measured.

Called only from the engine's loop thread with the hardware lock held. Exceptions from
the hardware propagate: the engine turns them into a fault stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from station.engine.brushpath import BrushPath, brush_position
from station.engine.render import amplitude_level, code_level, rtp_code, taps_due
from station.program import AmplitudeSegment, BrushSegment, Program, TapSegment

UNKNOWN = -1  # a last-written code that forces the next write
# The shortest ramp the engine will play (the protocol schema's own floor, ramp_s >= 0.02):
# a program from any other source still cannot jump to an intensity.
MIN_RAMP_MS = 20
# At most one RTP write per driver this often (see the module docstring).
RTP_UPDATE_MS = 4.0
DEFAULT_RATE_HZ = 1000


def update_period_ticks(rate_hz: float, update_ms: float = RTP_UPDATE_MS) -> int:
    """Ticks between two RTP writes to one driver: ``update_ms`` at ``rate_hz``, >= 1."""
    return max(1, round(update_ms * rate_hz / 1000.0))


@dataclass
class _StepPlan:
    amp: list[tuple[int, AmplitudeSegment]] = field(default_factory=list)
    taps: list[tuple[int, TapSegment]] = field(default_factory=list)
    # (brush slot, its path, catch-up speed in cm/s: see ``Player._catch_up``)
    brush: list[tuple[int, BrushPath, float]] = field(default_factory=list)
    idle_brushes: tuple[int, ...] = ()  # brush slots this step leaves parked


def check_program(program: Program, hw: Any) -> None:
    """Reject a program the hardware cannot play or must not: unknown actuators, a
    segment on the wrong kind of device, a stroke longer than the brush's travel, a brush
    speed or acceleration beyond the device limits in the wiring file, a brush segment
    whose lead-in/lead-out cannot hold the ramped move from/to park, an intensity
    without a ramp. The compiler already keeps to all of these; this is the last layer,
    for a program that reaches the socket from anywhere else. Raises ValueError.
    (Amplitude itself is clamped to the device limit by every haptic driver's write.)"""
    for step in program.steps:
        for seg in step.segments:
            where = f"steps[{step.index}] segment on {seg.actuator!r}"
            if isinstance(seg, BrushSegment):
                if seg.actuator not in hw.brushes:
                    raise ValueError(
                        f"{where}: no brush of that name; brushes: {sorted(hw.brushes)}"
                    )
                _check_brush_limits(seg, hw.brushes[seg.actuator], where)
                problems = plan_brush(seg, hw.brushes[seg.actuator]).problems()
                if problems:
                    raise ValueError(f"{where}: " + "; ".join(problems))
            elif seg.actuator not in hw.haptics:
                raise ValueError(
                    f"{where}: no haptic driver of that name; drivers: {sorted(hw.haptics)}"
                )
            elif isinstance(seg, AmplitudeSegment) and seg.level > 0:
                shortest = min(seg.ramp_up_ms, seg.ramp_down_ms)
                if shortest < MIN_RAMP_MS:
                    raise ValueError(
                        f"{where}: ramp of {shortest} ms; at least {MIN_RAMP_MS} ms up and "
                        "down (no intensity jumps)"
                    )


def plan_brush(seg: BrushSegment, brush: Any) -> BrushPath:
    """Lay ``seg`` out on ``brush`` (its travel, park position and approach speed from the
    wiring). ValueError when the stroke does not fit the travel."""
    cfg = brush.config
    return BrushPath.plan(seg, travel_cm=brush.travel_cm, park_cm=cfg.park_cm,
                          approach_speed_cm_s=cfg.approach_speed_cm_s)  # fmt: skip


def _check_brush_limits(seg: BrushSegment, brush: Any, where: str) -> None:
    cfg = getattr(brush, "config", None)
    if cfg is None:
        return
    if not cfg.min_speed_cm_s <= seg.speed_cm_s <= cfg.max_speed_cm_s:
        raise ValueError(
            f"{where}: speed_cm_s = {seg.speed_cm_s}; this brush allows "
            f"{cfg.min_speed_cm_s}..{cfg.max_speed_cm_s} cm/s (wiring file)"
        )
    if seg.accel_cm_s2 > cfg.max_accel_cm_s2:
        raise ValueError(
            f"{where}: accel_cm_s2 = {seg.accel_cm_s2}; this brush allows at most "
            f"{cfg.max_accel_cm_s2} cm/s^2 (wiring file)"
        )


class Player:
    """Renders ``program`` onto ``hw`` (a ``HardwareSet``); see the module docstring."""

    def __init__(
        self,
        *,
        program: Program,
        hw: Any,
        resume_ramp_ms: float = 250.0,
        poller: Any = None,
        rate_hz: float | None = None,
        rtp_update_ms: float = RTP_UPDATE_MS,
    ) -> None:
        """``poller`` (a ``FaultPoller``) is told of every haptic write, so it can read
        that driver's STATUS while its mux channel is still selected. ``rate_hz`` is the
        loop's tick rate (default: the wiring's ``[engine] rate_hz``); with
        ``rtp_update_ms`` it sets the RTP update period in ticks (0 ms: every tick)."""
        check_program(program, hw)
        self.program = program
        self.hap_names = sorted(
            {
                s.actuator
                for st in program.steps
                for s in st.segments
                if not isinstance(s, BrushSegment)
            }
        )
        self.brush_names = sorted({s.actuator for st in program.steps for s in st.segments
                                   if isinstance(s, BrushSegment)})  # fmt: skip
        self._hap = [hw.haptics[n] for n in self.hap_names]
        self._poller = poller
        self._pidx = [poller.index[n] for n in self.hap_names] if poller is not None else []
        self._brush = [hw.brushes[n] for n in self.brush_names]
        hslot = {n: i for i, n in enumerate(self.hap_names)}
        bslot = {n: i for i, n in enumerate(self.brush_names)}
        self._steps: list[_StepPlan] = []
        for st in program.steps:
            s = _StepPlan()
            for seg in st.segments:
                if isinstance(seg, AmplitudeSegment):
                    s.amp.append((hslot[seg.actuator], seg))
                elif isinstance(seg, TapSegment):
                    s.taps.append((hslot[seg.actuator], seg))
                else:
                    b = bslot[seg.actuator]
                    path = plan_brush(seg, self._brush[b])
                    chase = max(self._brush[b].config.approach_speed_cm_s, seg.speed_cm_s)
                    s.brush.append((b, path, chase))
            used = {b for b, _, _ in s.brush}
            s.idle_brushes = tuple(b for b in range(len(self.brush_names)) if b not in used)
            self._steps.append(s)
        nh, nb = len(self._hap), len(self._brush)
        self._target = [0.0] * nh
        self._last_code = [0] * nh  # start_all leaves RTP at 0
        self._brush_pos: list[float | None] = [None] * nb  # None = parked
        self._park_cm = [br.config.park_cm for br in self._brush]
        self._travel = [br.travel_cm for br in self._brush]
        # False from a park until the arm has caught up with its rendered path again
        self._on_path = [False] * nb
        self._peak = [0] * nh
        self._taps = [0] * nh
        self._strokes = [0] * nb
        self.resume_ramp_ms = resume_ramp_ms
        self._ramp_from_ms: float | None = None
        self.step_index = 0
        self.prev_t_ms = -1.0
        self.writes = 0
        self.rtp_updates = 0
        if rate_hz is None:
            engine_cfg = getattr(getattr(hw, "wiring", None), "engine", None)
            rate_hz = getattr(engine_cfg, "rate_hz", DEFAULT_RATE_HZ)
        self.rtp_period = update_period_ticks(rate_hz, rtp_update_ms)
        # A driver's slot is its index among ALL the station's drivers (the fault poller's
        # order, the wiring's) when known, so slots mean the same driver in every program
        # and a poller can stagger its STATUS reads on the same grid (``rtp_phase``).
        order = self._pidx if poller is not None else list(range(nh))
        self._rtp_slot = [k % self.rtp_period for k in order]
        self._tick = 0
        self.rtp_phase = 0  # the slot of the tick last played
        # The fault poller staggers its STATUS reads on the same grid: told every tick,
        # after the writes, which slot it was (``FaultPoller.slot``).
        self._poller_slot = poller.slot if poller is not None else None
        # simulator only: the bus's per-tick meter (a real bus has no such method)
        self._bus_mark = getattr(getattr(hw, "bus", None), "tick_mark", None)

    # --- step bookkeeping --------------------------------------------------------------
    def step_due(self, t_ms: float) -> bool:
        """True when ``t_ms`` is past the end of the current step (call ``advance``)."""
        return t_ms >= self.program.steps[self.step_index].end_ms

    @property
    def finished(self) -> bool:
        return self.step_index >= len(self.program.steps)

    def delivered(self) -> list[dict[str, Any]]:
        """What the current step delivered so far, per actuator it used."""
        step = self._steps[self.step_index] if not self.finished else _StepPlan()
        out: list[dict[str, Any]] = []
        used = sorted({i for i, _ in step.amp} | {i for i, _ in step.taps})
        for i in used:
            out.append(
                {"actuator": self.hap_names[i], "peak_level": round(code_level(self._peak[i]), 4),
                 "taps": self._taps[i], "strokes": 0}
            )  # fmt: skip
        for i in sorted({i for i, _, _ in step.brush}):
            out.append(
                {"actuator": self.brush_names[i], "peak_level": 0.0, "taps": 0,
                 "strokes": self._strokes[i]}
            )  # fmt: skip
        return out

    def advance(self) -> None:
        """Move to the next step and clear the per-step tallies."""
        self.step_index += 1
        for i in range(len(self._peak)):
            self._peak[i] = 0
            self._taps[i] = 0
        for i in range(len(self._strokes)):
            self._strokes[i] = 0

    # --- the tick ----------------------------------------------------------------------
    def tick(self, t_ms: float) -> None:
        """Render the current step at program time ``t_ms`` and write what changed (RTP:
        only the drivers whose update slot this tick is)."""
        if self._bus_mark is not None:
            self._bus_mark()
        phase = self._tick % self.rtp_period
        self.rtp_phase = phase
        self._tick += 1
        due = self._rtp_slot
        step = self._steps[self.step_index]
        target = self._target
        for i in range(len(target)):
            target[i] = 0.0
        for slot, seg in step.amp:
            if due[slot] != phase:
                continue
            lv = amplitude_level(seg, t_ms)
            if lv > target[slot]:
                target[slot] = lv
        factor = 1.0
        if self._ramp_from_ms is not None:
            factor = (t_ms - self._ramp_from_ms) / self.resume_ramp_ms
            if factor >= 1.0:
                factor = 1.0
                self._ramp_from_ms = None
            elif factor < 0.0:
                factor = 0.0
        last = self._last_code
        for i, h in enumerate(self._hap):
            if due[i] != phase:
                continue  # not this driver's slot: its change lands on its next one
            code = rtp_code(target[i] * factor)
            if code != last[i] and not (code == 0 and last[i] == UNKNOWN):
                h.set_rtp(code)
                last[i] = code
                self.writes += 1
                self.rtp_updates += 1
                if self._poller is not None:
                    self._poller.wrote(self._pidx[i], code)
                if code > self._peak[i]:
                    self._peak[i] = code
        if self._poller_slot is not None:
            self._poller_slot(phase, self.rtp_period)
        prev = self.prev_t_ms
        for slot, tap in step.taps:
            if taps_due(tap, prev, t_ms):
                self._hap[slot].play_effect(tap.effect_id)
                self.writes += 1
                if self._poller is not None:
                    self._poller.effect(self._pidx[slot])
                self._taps[slot] += 1
                # The chip is in effect mode now: a non-zero RTP must be written again,
                # but writing RTP 0 would cut the effect short.
                if last[slot] != 0:
                    last[slot] = UNKNOWN
        for b, path, chase in step.brush:
            st = brush_position(path, t_ms)
            self._strokes[b] = st.strokes_done
            pos = st.position_cm
            if pos is not None and not self._on_path[b]:
                pos = self._catch_up(b, pos, path.seg.speed_cm_s, chase, (t_ms - prev) / 1000.0)
            self._move_brush(b, pos)
        for b in step.idle_brushes:
            self._move_brush(b, None)
        self.prev_t_ms = t_ms

    def _catch_up(
        self, b: int, target_cm: float, skin_speed: float, chase: float, dt_s: float
    ) -> float:
        """Where brush ``b`` goes this tick while it is off its path: ``target_cm`` when
        that is within one step of where the arm is (it is back on the path from now on),
        else one step toward it. On the skin (the calibrated travel) a step is at most
        the segment's own speed (``skin_speed``) times ``dt_s``, so rejoining a stroke
        never brushes faster than prescribed; off the skin it is ``chase`` times ``dt_s``
        and stops at the skin's edge, entered at the stroke speed from the next tick on.
        The arm starts from park (or from its last catch-up point), so it stays between
        park and the path: it never overshoots, and the gap shrinks whenever the path rests
        between strokes (the lead-out, at the latest, brings the path back to the arm)."""
        cur = self._brush_pos[b]
        here = self._park_cm[b] if cur is None else cur
        lo, hi = 0.0, self._travel[b]
        on_skin = lo <= here <= hi
        step = (skin_speed if on_skin else chase) * dt_s
        gap = target_cm - here
        new = target_cm if -step <= gap <= step else here + (step if gap > 0 else -step)
        if not on_skin and (here < lo < new or here > hi > new):
            new = lo if here < lo else hi  # off the skin: stop at its edge this tick
        if new == target_cm:
            self._on_path[b] = True
        return new

    def _move_brush(self, b: int, pos: float | None) -> None:
        """One duty write when the setpoint changed. ``None`` parks in one write: the
        render only asks for it once the lead-out has brought the arm back to park, and
        pause/idle parking is a stop-like path (stop always wins over smoothness). After
        a park the arm must catch up with its path again (``_catch_up``)."""
        if pos == self._brush_pos[b]:
            return
        if pos is None:
            self._brush[b].park()
            self._on_path[b] = False
        else:
            self._brush[b].set_path_cm(pos)
        self._brush_pos[b] = pos
        self.writes += 1

    # --- pause / resume ----------------------------------------------------------------
    def silence(self) -> None:
        """Every output this program uses to zero (RTP 0, brush parked), drivers still
        enabled: what a pause does. Lowering intensity at once is always safe."""
        for i, h in enumerate(self._hap):
            if self._last_code[i] != 0:
                h.set_rtp(0)
                self._last_code[i] = 0
                self.writes += 1
                if self._poller is not None:
                    self._poller.wrote(self._pidx[i], 0)
        for b in range(len(self._brush)):
            self._move_brush(b, None)

    def resume_at(self, t_ms: float) -> None:
        """Ramp every amplitude back in over ``resume_ramp_ms`` from program time
        ``t_ms``: resuming must not jump to the level the program had reached. Brushes
        need nothing here: ``silence`` parked them, so each catches up with its path at
        no more than its approach speed (``_catch_up``)."""
        self._ramp_from_ms = t_ms
