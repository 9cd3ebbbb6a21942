"""`station hub station add` tells a broker running here to re-read its password file:
a station added while Mosquitto runs can connect at once, with no SIGHUP by hand. Before
the reload it could not (Mosquitto reads the password file at start and on SIGHUP only),
which the second test shows with the reload left out."""

from __future__ import annotations

import json

import pytest

from station.cli import main
from station.hub import brokerconf
from station.hub.reload import brokers_using
from tests.hub.hubkit import can_connect

pytestmark = pytest.mark.slow


def _station_broker(broker, station_id: str):
    creds = json.loads((broker.data_dir / "stations" / f"{station_id}.json").read_text())
    return broker.hub_broker().with_credentials(
        username=creds["username"], password=creds["password"]
    )


def test_station_add_reloads_the_local_broker(broker, capsys):
    conf = brokerconf.Layout(broker.data_dir).conf
    assert brokers_using(conf) == [broker.proc.pid]
    assert main(["hub", "station", "add", "ward-7", "--data-dir", str(broker.data_dir)]) == 0
    out = capsys.readouterr().out
    assert f"pid {broker.proc.pid}" in out, out
    assert can_connect(_station_broker(broker, "ward-7"))


def test_without_the_reload_a_new_station_is_refused(broker):
    brokerconf.add_station(data_dir=broker.data_dir, station_id="ward-8")  # no SIGHUP
    assert not can_connect(_station_broker(broker, "ward-8"))


def test_no_local_broker_says_how_to_reload(tmp_path, capsys):
    brokerconf.init(data_dir=tmp_path, hostnames=["localhost"], port=18883, run_as="root")
    assert brokers_using(brokerconf.Layout(tmp_path).conf) == []
    assert main(["hub", "station", "add", "ward-9", "--data-dir", str(tmp_path)]) == 0
    assert "systemctl reload station-hub-broker" in capsys.readouterr().out
