"""The journeys run on the web tests' fixtures: the REAL engine on the simulator (one per
module), a coordinator with its own data directory and simulated clock, and logged-in
API clients (``tests.web.conftest``).

One difference: the engine's stall watchdog bound is the wiring's largest (2 s, not the
default 50 ms). A journey plays some hundred sessions; on a machine loaded well past its
cores the 50 ms watchdog rightly stops one now and then (the loop thread was not
scheduled in time), which ends that session early and changes the progression the test
checks. What the watchdog does is tested on its own (tests/engine/test_watchdog_*.py);
here it must not decide the therapy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from station.engine.process import EngineRuntime
from station.engine.rt import RtOptions
from station.wiring import load_wiring
from tests.web.conftest import app, clinician, coord, link, patient, users  # noqa: F401

JOURNEY_WATCHDOG_MS = 2000


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Iterator[EngineRuntime]:
    wiring = load_wiring()
    relaxed = wiring.engine.model_copy(update={"watchdog_ms": JOURNEY_WATCHDOG_MS})
    runtime = EngineRuntime(
        wiring=wiring.model_copy(update={"engine": relaxed}),
        simulate=True,
        data_dir=tmp_path_factory.mktemp("engine"),
        rt=RtOptions(fifo_priority=None, timer_slack_ns=None),
        escalate=lambda: None,
    ).start()
    yield runtime
    runtime.close()
