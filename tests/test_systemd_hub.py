"""The clinic hub's units (station-hub.service, station-hub-broker.service): verified by
systemd-analyze like every unit (tests/test_systemd_units.py), hardened like the station's
app, and running commands the CLI and Mosquitto accept."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from station.cli import build_parser
from tests.test_systemd_units import (
    INSTALLED_STATION,
    _environment,
    render,
    shipped,
    unit,
    verify,
    words,
)

HARDENING = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
}


@pytest.mark.parametrize("name", ["station-hub.service", "station-hub-broker.service"])
def test_hub_units_are_hardened_like_the_app(name):
    svc = unit(name)["Service"]
    app = unit("station-app.service")["Service"]
    for key, value in HARDENING.items():
        assert svc.get(key) == [value] == app.get(key), key
    assert set(words(svc, "RestrictAddressFamilies")) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert svc["Restart"] == ["on-failure"]
    assert all(p.startswith("/var/lib/station-hub") for p in words(svc, "ReadWritePaths"))


def test_hub_runs_unprivileged_and_survives_broker_restarts():
    hub = unit("station-hub.service")
    assert hub["Service"]["User"] == ["station-hub"]
    assert "station-hub-broker.service" in words(hub["Unit"], "Wants")
    for strong in ("Requires", "BindsTo", "PartOf"):
        assert "station-hub-broker.service" not in words(hub["Unit"], strong)


def _expand(line: str, env: dict[str, str]) -> list[str]:
    """systemd's rules: "${X}" is one word, a bare "$X" word splits (empty: no word)."""
    out: list[str] = []
    for word in shlex.split(line):
        if word.startswith("${") and word.endswith("}"):
            out.append(env.get(word[2:-1], ""))
        elif word.startswith("$"):
            out += env.get(word[1:], "").split()
        else:
            out.append(word)
    return out


@pytest.mark.parametrize("database", ["", "--database postgresql://hub@127.0.0.1/hub"])
def test_hub_command_is_one_the_cli_accepts(database):
    svc = unit("station-hub.service")["Service"]
    env = {**_environment(svc), "HUB_DATABASE_ARGS": database}
    (line,) = svc["ExecStart"]
    argv = _expand(line, env)
    assert argv[0] == INSTALLED_STATION
    args = build_parser().parse_args(argv[1:])
    assert args.hub_command == "run" and args.broker == "mqtts://localhost:8883"
    assert args.workers == 2 and args.host == "127.0.0.1"
    assert args.database == (database.split()[1] if database else None)


def test_broker_unit_runs_the_config_station_hub_init_writes(tmp_path):
    """The unit starts the config `station hub init` writes for /var/lib/station-hub, and
    Mosquitto accepts such a config (it has no check-only flag: started on the written
    config, it must stay up; a refused config ends it at once)."""
    from pathlib import Path

    from station.hub import brokerconf
    from tests.procs import free_port

    svc = unit("station-hub-broker.service")["Service"]
    argv = shlex.split(svc["ExecStart"][0])
    assert argv[:2] == ["/usr/sbin/mosquitto", "-c"]
    assert Path(argv[2]) == brokerconf.Layout(Path("/var/lib/station-hub")).conf
    assert svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (./test installs it)")
    layout = brokerconf.init(
        data_dir=tmp_path,
        hostnames=["localhost"],
        bind="127.0.0.1",
        port=free_port(),
        run_as="root",
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(layout.conf)], stderr=subprocess.PIPE)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(1.5)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("station-hub.service", "ProtectSystem=strict", "ProtectSystem=strikt"),
        ("station-hub.service", "UMask=0027", "UMaks=0027"),
        ("station-hub-broker.service", "Type=notify", "Type=notfy"),
    ],
)
def test_the_check_catches_a_broken_hub_unit(tmp_path, name, old, new):
    texts = shipped()
    assert name in texts and old in texts[name]
    texts[name] = texts[name].replace(old, new)
    code, complaints = verify(render(tmp_path, texts)[0])
    assert code != 0 or complaints
