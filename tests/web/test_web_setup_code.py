"""The first clinician needs the one-time setup code (issue 13, "First-run and accounts").

Found by an attacker on the same network: on a fresh station any visitor to /setup
became the clinician, and 10 parallel requests made 10 clinicians. What must hold (the
issue's "Done when"): /setup without the code, or with a wrong one, creates nothing;
ten parallel requests with the right code make exactly one clinician; the code is then
spent; ./run, the installer and `station setup-code` give the code out.
"""

from __future__ import annotations

import io
import stat
import threading

from station.app import setup_code
from station.cli import main
from station.install.installer import DATA_DIR, install
from tests import installkit
from tests.installkit import make_host

root, source = installkit.root, installkit.source  # the fixtures

GOOD = "correct horse battery staple"


def _form(client, **fields):
    page = client.get("/setup", follow_redirects=True).get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    return {"csrf_token": token, "name": "carla", "password": GOOD, "confirm": GOOD, **fields}


def test_a_fresh_station_has_a_private_code_and_the_page_asks_for_it(app, coord) -> None:
    code = setup_code.read(coord.data_dir)
    assert code and len(setup_code.normalise(code)) == 16  # ~80 bits, Crockford base32
    mode = stat.S_IMODE(setup_code.path(coord.data_dir).stat().st_mode)
    assert mode == 0o600  # readable only by the station's user, like the session key
    page = app.test_client().get("/setup").get_data(as_text=True)
    assert 'name="code"' in page and "setup-code" in page
    assert code not in page  # the page never shows the code itself


def test_setup_without_the_code_or_with_a_wrong_one_creates_nothing(app, coord) -> None:
    client = app.test_client()
    right = setup_code.read(coord.data_dir)
    assert right is not None
    wrong = right[:-1] + ("0" if right[-1] != "0" else "1")
    for fields in ({}, {"code": ""}, {"code": wrong}, {"code": right + "X"}):
        r = client.post("/setup", data=_form(client, **fields))
        assert r.status_code == 403, fields
        assert "setup code is missing or wrong" in r.get_data(as_text=True)
        assert coord.store.users.count() == 0
    assert setup_code.read(coord.data_dir) == right  # refusals do not spend it


def test_the_right_code_creates_the_clinician_and_is_spent(app, coord) -> None:
    client = app.test_client()
    code = setup_code.read(coord.data_dir)
    assert code is not None
    typed = code.lower().replace("-", " ")  # as typed on a phone: case and dashes ignored
    r = client.post("/setup", data=_form(client, code=typed))
    assert r.status_code == 302 and r.headers["Location"].endswith("/clinician/")
    assert coord.store.users.count("clinician") == 1
    assert setup_code.read(coord.data_dir) is None
    # The spent code creates nobody else.
    other = app.test_client()
    r = other.post("/setup", data=_form(other, code=code, name="eve"))
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert coord.store.users.get("eve") is None


def test_ten_parallel_setups_with_the_code_make_exactly_one_clinician(app, coord) -> None:
    code = setup_code.read(coord.data_dir)
    clients = [app.test_client() for _ in range(10)]
    forms = [_form(c, code=code, name=f"clin{i}") for i, c in enumerate(clients)]
    gate = threading.Barrier(10)
    results: list[tuple[int, str]] = []

    def attempt(i: int) -> None:
        gate.wait()
        r = clients[i].post("/setup", data=forms[i])
        results.append((r.status_code, r.headers.get("Location", "")))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 10
    assert coord.store.users.count() == 1 and coord.store.users.count("clinician") == 1
    made = [r for r in results if r[0] == 302 and r[1].endswith("/clinician/")]
    assert len(made) == 1, results
    # Every other request was refused (409) or, arriving later, sent to the login page.
    assert all(
        s == 409 or (s == 302 and "/login" in loc) for s, loc in results if (s, loc) not in made
    )


def test_cli_shows_the_code_and_says_when_there_is_none(tmp_path, capsys, monkeypatch) -> None:
    data = tmp_path / "d"
    assert main(["setup-code", "--data-dir", str(data)]) == 0
    shown = capsys.readouterr().out.strip()
    assert shown == setup_code.read(data)
    assert main(["setup-code", "--data-dir", str(data)]) == 0  # the same code, not a new one
    assert capsys.readouterr().out.strip() == shown
    # A clinician made on the command line spends it.
    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD + "\n"))
    assert main(["user", "add", "carla", "--role", "clinician", "--data-dir", str(data)]) == 0
    assert setup_code.read(data) is None
    assert main(["setup-code", "--data-dir", str(data)]) == 1
    assert "a clinician account exists" in capsys.readouterr().err


def test_the_installer_prints_the_code_and_keeps_it_private(root, source, capsys) -> None:
    assert install(make_host(root, source), assume_yes=True, ask=None) == 0
    out = capsys.readouterr().out
    code = setup_code.read(root / DATA_DIR.lstrip("/"))
    assert code is not None and f"one-time setup code: {code}" in out
    path = setup_code.path(root / DATA_DIR.lstrip("/"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A second install prints the same code and changes nothing.
    assert install(make_host(root, source), assume_yes=True, ask=None) == 0
    out = capsys.readouterr().out
    assert f"one-time setup code: {code}" in out and "nothing to change" in out


def test_codes_are_new_each_time_and_compared_exactly(tmp_path) -> None:
    codes = {setup_code.new_code() for _ in range(200)}
    assert len(codes) == 200
    code = setup_code.ensure(tmp_path)
    assert setup_code.matches(tmp_path, code)
    assert not setup_code.matches(tmp_path, "")
    assert not setup_code.matches(tmp_path, code[:-2])
    setup_code.spend(tmp_path)
    assert not setup_code.matches(tmp_path, code)
