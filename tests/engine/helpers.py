"""Shared helpers for the engine tests: programs as JSON, a running engine, trace maths."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from station.engine.ipc import EngineClient
from station.engine.process import EngineRuntime
from station.engine.rt import RtOptions
from station.wiring import load_wiring


def program(steps: list[dict[str, Any]], *, stop_threshold: int | None = 7) -> dict[str, Any]:
    """A Program JSON whose steps follow each other; each step dict has duration_ms and
    segments with start offsets relative to the step (``at``)."""
    out, t = [], 0
    for i, st in enumerate(steps):
        segs = []
        for seg in st.get("segments", []):
            seg = dict(seg)
            seg["start_ms"] = t + seg.pop("at", 0)
            segs.append(seg)
        out.append(
            {
                "index": i,
                "kind": st.get("kind", "vibrate"),
                "label": f"step {i}",
                "start_ms": t,
                "duration_ms": st["duration_ms"],
                "segments": segs,
            }
        )
        t += st["duration_ms"]
    return {
        "protocol_id": "test",
        "protocol_version": "1",
        "protocol_hash": "0" * 64,
        "level": "L1",
        "level_index": 0,
        "stop_threshold": stop_threshold,
        "duration_ms": t,
        "steps": out,
    }


def with_leads(seg: dict[str, Any], *, strokes_ms_extra: int = 0) -> dict[str, Any]:
    """A brush segment dict with the lead-in/lead-out the compiler gives it on the default
    wiring (park -> first stroke, last stroke -> park), and ``duration_ms`` = lead-in +
    strokes (+ ``strokes_ms_extra`` of rest after them) + lead-out."""
    import math

    from station.engine.brushpath import Trapezoid, lead_times_ms

    cfg = load_wiring().brush_by_name(seg["actuator"])
    lead_in, lead_out = lead_times_ms(
        stroke_cm=seg["stroke_cm"], strokes=seg["strokes"],
        direction=seg.get("direction", "alternate"), travel_cm=cfg.travel_cm,
        speed_cm_s=seg["speed_cm_s"],
        park_cm=cfg.park_cm, approach_speed_cm_s=cfg.approach_speed_cm_s,
        accel_cm_s2=seg["accel_cm_s2"],
    )  # fmt: skip
    stroke = Trapezoid.for_stroke(length_cm=seg["stroke_cm"], speed_cm_s=seg["speed_cm_s"],
                                  accel_cm_s2=seg["accel_cm_s2"])  # fmt: skip
    strokes_ms = seg["strokes"] * stroke.duration_ms + (seg["strokes"] - 1) * seg["pause_ms"]
    duration = lead_in + math.ceil(strokes_ms) + strokes_ms_extra + lead_out
    return {**seg, "lead_in_ms": lead_in, "lead_out_ms": lead_out, "duration_ms": duration}


def alternating_strokes(strokes: int) -> dict[str, Any]:
    """The brush tests' segment: 6 cm strokes at 10 cm/s (the default approach speed),
    alternating, 100 ms apart, with the default wiring's lead-in and lead-out."""
    return with_leads(
        {"type": "brush", "actuator": "brush", "speed_cm_s": 10, "stroke_cm": 6,
         "strokes": strokes, "pause_ms": 100, "direction": "alternate", "accel_cm_s2": 60}
    )  # fmt: skip


def steady(actuator: str = "forearm", ms: int = 5000, level: float = 0.5) -> dict[str, Any]:
    return program(
        [
            {
                "duration_ms": ms,
                "segments": [
                    {
                        "type": "amplitude",
                        "actuator": actuator,
                        "duration_ms": ms,
                        "level": level,
                        "ramp_up_ms": 20,
                        "ramp_down_ms": 20,
                    }
                ],
            }
        ]
    )


@contextmanager
def running_engine(data_dir: Path, **kw: Any):
    """A real engine on the real simulator backend (hardware.backend.open_hardware)."""
    rt = RtOptions(fifo_priority=50, timer_slack_ns=1)
    runtime = EngineRuntime(
        wiring=load_wiring(),
        simulate=True,
        data_dir=data_dir,
        rt=rt,
        escalate=kw.pop("escalate", lambda: None),
        **kw,
    )
    runtime.start()
    try:
        with EngineClient(runtime.socket_path, timeout=5.0) as client:
            yield runtime, client
    finally:
        runtime.close()


def wait_for_event(runtime: EngineRuntime, event: str, timeout: float = 5.0, **match: Any):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in list(runtime.hub.recent):
            if ev["event"] == event and all(ev.get(k) == v for k, v in match.items()):
                return ev
        time.sleep(0.005)
    raise AssertionError(
        f"no {event} {match} within {timeout} s; saw {[e['event'] for e in runtime.hub.recent]}"
    )


def held_value(records: list, t_ns: int, default: int = 0) -> int:
    """The value last written at or before ``t_ns`` (records sorted by time)."""
    v = default
    for r in records:
        if r.t_ns > t_ns:
            break
        v = r.value
    return v
