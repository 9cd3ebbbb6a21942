"""The station's side of the clinic hub (issue 15): the sync agent (``agent.py``) that
publishes the outbox (``station.storage.outbox``) over MQTT 5 and applies the hub's pushes
(``pushes.py``) through the same validation as a local change; broker and credentials
(``config.py``); adherence days (``adherence.py``). Started by ``station run --hub URL
--station-id ID`` inside the app process (``start_sync``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.errors import ConfigError, Problem
from station.sync.config import station_broker

if TYPE_CHECKING:
    from station.sync.agent import SyncAgent


def start_sync(*, coordinator: Any, hub: str, station_id: str, data_dir: Path) -> SyncAgent:
    """The agent for the app's coordinator: its store, its wiring and clock; a pushed
    plan for the patient the station serves re-arms as a local change does. The MQTT
    client is imported here, not at start-up: a station without a hub (``./run``) does
    not need paho-mqtt installed."""
    try:
        from station.sync.agent import SyncAgent
        from station.sync.pushes import PushApplier
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "--hub",
            [
                Problem(
                    "hub",
                    f"the sync agent needs {exc.name!r}, which is not installed: install the "
                    "station with its hub extra (.venv/bin/pip install -e '.[hub]' -c "
                    "constraints.txt; a Pi install has it)",
                )
            ],
        ) from None
    broker = station_broker(url=hub, data_dir=data_dir, station_id=station_id)
    store = coordinator.store  # the app's one Database; ``for_patient`` scopes a push

    def plan_changed(patient_id: int) -> None:
        if coordinator.patients.active() == patient_id:
            # exactly what the coordinator runs after a local plan change (arm what now
            # comes next, LED and reminders); coordinator.py is at its size limit
            coordinator.rearmed({})

    applier = PushApplier(
        data_dir=data_dir,
        store=store,
        wiring=coordinator.planner.wiring,
        clock=coordinator.planner.now,
        on_plan_changed=plan_changed,
    )
    agent = SyncAgent(store=store, station_id=station_id, broker=broker, applier=applier)
    agent.start()
    return agent
