"""``station hub run``: N ingest worker processes and the hub's page (waitress) in this one.

Workers are processes, not threads: each has its own paho network loop and database
connection, and the broker's shared subscription spreads records over them. They end when
this process ends (SIGTERM is passed on; a SIGKILLed parent is noticed within a second).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

from station.hub.ingest import worker_main

log = logging.getLogger("station.hub")


def start_workers(
    *, broker_url: str, data_dir: Path, database: str | None, workers: int, name: str = "hub"
) -> list[Any]:
    ctx = multiprocessing.get_context("spawn")
    procs = []
    for index in range(workers):
        proc = ctx.Process(
            target=worker_main,
            kwargs={
                "broker_url": broker_url,
                "data_dir": str(data_dir),
                "database": database,
                "index": index,
                "name": name,
                "parent": os.getpid(),
            },
            name=f"{name}-worker-{index}",
            daemon=False,
        )
        proc.start()
        procs.append(proc)
    return procs


def stop_workers(procs: list[Any], *, timeout: float = 10.0) -> None:
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()


def run(
    *,
    broker_url: str,
    data_dir: Path,
    database: str | None,
    host: str,
    port: int,
    workers: int,
) -> int:
    from waitress.server import create_server

    from station.hub.broker import parse_broker
    from station.hub.store import HubStore
    from web.hub import create_hub_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    broker = parse_broker(broker_url, data_dir=data_dir)  # refuse a bad URL before starting
    store = HubStore.open(database=database, data_dir=data_dir)
    app = create_hub_app({"DATA_DIR": str(data_dir)}, store=store, broker=broker)
    procs = start_workers(
        broker_url=broker_url, data_dir=data_dir, database=database, workers=workers
    )
    server = create_server(app, host=host, port=port, threads=4)

    def _stop(*_a: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(
        f"hub: page on http://{host}:{server.effective_port}/ ; {workers} ingest worker(s) "
        f"on {broker.host}:{broker.port}",
        flush=True,
    )
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        stop_workers(procs)
        app.extensions["hub.pusher"].close()
        store.close()
    return 0
