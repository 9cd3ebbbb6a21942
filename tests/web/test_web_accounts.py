"""Accounts, passwords and sessions (issue 13, "First-run and accounts").

The rules come from outside the code: NIST SP 800-63B 5.1.1.2 (at least 8 characters,
long passphrases allowed, refuse passwords from a list of common ones) and OWASP's
session guidance (a new session at login against fixation; logout invalidates the
session on the server; the same answer and the same work for an unknown name as for a
wrong password). A disabled account cannot log in and its live sessions end; the last
active clinician cannot be disabled (nobody could manage the station otherwise).
"""

from __future__ import annotations

import io
import statistics
import time

import pytest

from station.cli import main
from tests.web.conftest import CLIN, PAT, api_login
from web.security import CHEAP_HASH_ENV, hash_password

SESSION = "session"


def _cookie(client) -> str:
    cookie = client.get_cookie(SESSION)
    assert cookie is not None
    return cookie.value


def _copy_of(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie(SESSION, cookie)
    return thief


def _logged_in(client) -> bool:
    return client.get("/api/sessions").status_code == 200


def _csrf_of(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return page.split('name="csrf_token" value="')[1].split('"')[0]


# --- password policy --------------------------------------------------------------------


@pytest.mark.parametrize("password", ["password1", "qwertyuiop", "iloveyou", "12345678"])
def test_common_passwords_are_refused_with_a_reason(password, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    rc = main(["user", "add", "sam", "--role", "patient", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "too common or easy to guess" in err


def test_password_made_of_the_user_name_is_refused(coord) -> None:
    from web.errors import ApiError

    with pytest.raises(ApiError) as exc:
        hash_password("carla2024", name="carla")
    assert exc.value.field == "password" and "easy to guess" in exc.value.message


def test_length_rules_follow_nist(coord) -> None:
    from web.errors import ApiError

    with pytest.raises(ApiError) as short:
        hash_password("Zq8#vL2")  # 7 characters
    assert "at least 8" in short.value.message
    hash_password("Zq8#vL2m")  # 8 unguessable characters are enough
    hash_password("the otter sang " * 8)  # a 120-character passphrase is welcome
    with pytest.raises(ApiError) as long:
        hash_password("x7Kq" * 33)  # 132 characters
    assert "at most 128" in long.value.message


def test_setup_with_a_common_password_creates_nothing(app, coord) -> None:
    from station.app import setup_code

    client = app.test_client()
    data = {
        "csrf_token": _csrf_of(client, "/setup"),
        "code": setup_code.read(coord.data_dir),
        "name": "carla",
        "password": "password123",
        "confirm": "password123",
    }
    r = client.post("/setup", data=data)
    assert r.status_code == 422 and "too common" in r.get_data(as_text=True)
    assert coord.store.users.count() == 0


@pytest.mark.parametrize("name", ["", "bad name", "x" * 65, "-lead", "caf\u00e9", "a/b", "<b>"])
def test_user_names_are_validated_naming_the_field(app, coord, name) -> None:
    from station.app import setup_code

    client = app.test_client()
    data = {
        "csrf_token": _csrf_of(client, "/setup"),
        "code": setup_code.read(coord.data_dir),
        "name": name,
        "password": "correct horse battery",
        "confirm": "correct horse battery",
    }
    r = client.post("/setup", data=data)
    assert r.status_code == 422
    assert "a user name is 1-64 ASCII letters" in r.get_data(as_text=True)
    assert coord.store.users.count() == 0


# --- sessions -----------------------------------------------------------------------------


def test_login_starts_a_new_session_and_csrf_token(app, users) -> None:
    client = app.test_client()
    before = _csrf_of(client)
    planted = _cookie(client)  # what a fixation attacker would have handed the victim
    r = client.post("/login", data={"csrf_token": before, "name": PAT[0], "password": PAT[1]})
    assert r.status_code == 302
    assert _cookie(client) != planted
    after = _csrf_of(client, "/")
    assert after != before
    # The pre-login token no longer passes; the new one does.
    assert client.post("/api/logout", headers={"X-CSRFToken": before}).status_code == 400
    assert client.post("/api/logout", headers={"X-CSRFToken": after}).status_code == 200


def test_logout_ends_a_copied_cookie(app, users) -> None:
    client = app.test_client()
    token = api_login(client, *PAT)
    copy = _copy_of(app, _cookie(client))
    assert _logged_in(copy)
    assert client.post("/api/logout", headers={"X-CSRFToken": token}).status_code == 200
    assert not _logged_in(copy)
    assert copy.get("/api/sessions").status_code == 401


def test_form_logout_ends_a_copied_cookie(app, users) -> None:
    client = app.test_client()
    token = api_login(client, *CLIN)
    copy = _copy_of(app, _cookie(client))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _logged_in(copy)


# --- disable, enable, reset -----------------------------------------------------------------


def test_disabled_account_cannot_log_in_and_its_old_cookie_stops(app, users, clinician) -> None:
    patient = app.test_client()
    api_login(patient, *PAT)
    old = _cookie(patient)
    r = clinician.post(f"/clinician/accounts/{PAT[0]}/disable")
    assert r.status_code == 302
    assert not _logged_in(patient) and not _logged_in(_copy_of(app, old))
    r = app.test_client().post("/api/login", json={"name": PAT[0], "password": PAT[1]})
    assert r.status_code == 401 and "disabled" in r.get_json()["error"]["message"]
    # A wrong password for a disabled account says only "wrong".
    r = app.test_client().post("/api/login", json={"name": PAT[0], "password": "nope-nope"})
    assert r.status_code == 401 and "disabled" not in r.get_json()["error"]["message"]
    assert clinician.post(f"/clinician/accounts/{PAT[0]}/enable").status_code == 302
    api_login(app.test_client(), *PAT)


def test_last_active_clinician_cannot_be_disabled(app, users, clinician, coord) -> None:
    clinician.post(f"/clinician/accounts/{CLIN[0]}/disable")
    assert not coord.store.users.get(CLIN[0]).disabled
    assert _logged_in(clinician)
    with clinician.session_transaction() as sess:
        flashes = sess.get("_flashes", [])
    assert any("last active clinician" in text for _, text in flashes)


def test_reset_password_ends_sessions_and_old_password(app, users, clinician) -> None:
    patient = app.test_client()
    api_login(patient, *PAT)
    new = "a brand new passphrase"
    r = clinician.post(f"/clinician/accounts/{PAT[0]}/password", data={"password": new})
    assert r.status_code == 302
    assert not _logged_in(patient)
    r = app.test_client().post("/api/login", json={"name": PAT[0], "password": PAT[1]})
    assert r.status_code == 401
    api_login(app.test_client(), PAT[0], new)
    # A clinician who changes their own password stays logged in.
    r = clinician.post(f"/clinician/accounts/{CLIN[0]}/password", data={"password": new + "!"})
    assert r.status_code == 302 and _logged_in(clinician)


def test_a_patient_cannot_manage_accounts(app, users, patient, coord) -> None:
    assert patient.post(f"/clinician/accounts/{CLIN[0]}/disable").status_code == 403
    assert not coord.store.users.get(CLIN[0]).disabled


# --- timing ---------------------------------------------------------------------------------


def test_login_time_does_not_tell_which_names_exist(app, coord, monkeypatch) -> None:
    """A wrong password costs one argon2 verification; an unknown (or malformed) name must
    cost the same, not a dictionary miss. argon2 with 8 MiB and one pass (~10 ms here)
    stands in for the production parameters (64 MiB, three passes) to keep this quick."""
    from argon2 import PasswordHasher

    import web.security

    monkeypatch.delenv(CHEAP_HASH_ENV, raising=False)
    slow = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    monkeypatch.setattr(web.security, "_hasher", lambda: slow)
    monkeypatch.setattr(web.security, "_dummy", {})
    coord.store.users.create("known", "patient", hash_password("a slow real hash"))

    names = {"known": "known", "unknown": "nobody-here", "bad": "no such!"}
    times: dict[str, list[float]] = {k: [] for k in names}
    for _ in range(20):  # interleaved, so that the machine's other load hits all alike
        for key, name in names.items():
            client = app.test_client()
            t0 = time.perf_counter()
            r = client.post("/api/login", json={"name": name, "password": "wrong-guess"})
            times[key].append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 401
    known, unknown, bad = (statistics.median(times[k]) for k in names)
    assert known > 2  # the slow parameters are in force (else this test proves nothing)
    assert unknown > 0.5 * known and bad > 0.5 * known, (known, unknown, bad)


# --- command line --------------------------------------------------------------------------


def test_cli_lists_disables_enables_and_resets(tmp_path, capsys, monkeypatch) -> None:
    data = ["--data-dir", str(tmp_path)]

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main([*argv, *data])

    assert run("user", "add", "carla", "--role", "clinician", stdin=CLIN[1] + "\n") == 0
    assert run("user", "add", "pat", "--role", "patient", stdin=PAT[1] + "\n") == 0
    capsys.readouterr()
    assert run("user", "disable", "pat") == 0
    assert run("user", "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.split()[:3] == ["pat", "patient", "disabled"] for line in out)
    assert any(line.split()[:3] == ["carla", "clinician", "active"] for line in out)
    assert run("user", "disable", "carla") == 1
    assert "last active clinician" in capsys.readouterr().err
    assert run("user", "enable", "pat") == 0
    assert run("user", "reset-password", "pat", stdin="password\n") == 1
    assert "too common" in capsys.readouterr().err
    assert run("user", "reset-password", "pat", stdin="new sturdy passphrase\n") == 0
    assert run("user", "disable", "nobody") == 1
    assert "no user named 'nobody'" in capsys.readouterr().err
    assert run("user", "add", "bad name", "--role", "patient", stdin=PAT[1] + "\n") == 1
    assert "a user name is" in capsys.readouterr().err
