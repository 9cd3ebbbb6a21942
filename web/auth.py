"""Logging in and out, and the first-run page that creates the first clinician.

There is no default password anywhere: until a clinician account exists every page
(except stopping) leads to ``/setup``, which needs the one-time setup code that ``./run``
and the installer print (station/app/setup_code.py), so a visitor on the network cannot
become the clinician. Login attempts are rate-limited per address so a guessed password
costs minutes, not milliseconds; a name without an account costs the same time as a
wrong password (a dummy verification); logging in starts a fresh session (new cookie,
new CSRF token) and logging out ends the account's sessions server-side.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from station.app import setup_code
from station.errors import Conflict, InvalidInput
from station.i18n import N_
from station.storage.patients import PatientRequired
from web.contract import contract
from web.errors import ApiError
from web.models import LoginIn
from web.responses import LoginOut, LogoutOut
from web.security import (
    ROLES,
    LoginUser,
    actor,
    hash_password,
    login_required_any,
    verify_nobody,
    verify_password,
)

bp = Blueprint("auth", __name__)

OPEN_ENDPOINTS = {
    "auth.setup",
    "static",
    "api.stop",
    "patient.stop_form",
    "api.status",
    "openapi.document",
    "i18n.catalog_json",  # the setup page's scripts need their words, and its switch
    "i18n.catalog_script",
    "i18n.choose",
}


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


def _coord_of(app: Flask) -> Any:
    return app.extensions["station.app.coordinator"]


def _data_dir(app: Flask) -> Path:
    return Path(app.config["DATA_DIR"])


def init(app: Flask, *, limiter: Limiter) -> None:
    """Rate-limit the login routes (call after registering ``bp``); send a fresh station
    to the first-run page."""
    rate = lambda: current_app.config["LOGIN_RATE_LIMIT"]  # noqa: E731
    # The blueprint is registered already: wrap the registered views in place.
    for endpoint in ("auth.login", "auth.api_login", "auth.setup"):
        limited = limiter.limit(rate, methods=["POST"])(app.view_functions[endpoint])
        app.view_functions[endpoint] = cast(Callable[..., Any], limited)

    setup_code.sync(
        data_dir=_data_dir(app), clinician_exists=_coord_of(app).store.users.count("clinician") > 0
    )

    @app.before_request
    def _first_run() -> Any:
        if request.endpoint in OPEN_ENDPOINTS or request.path.startswith("/api/"):
            return None
        if _coord().store.users.count("clinician") == 0:
            return redirect(url_for("auth.setup"))
        return None


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_ALLOWED = "1-64 ASCII letters, digits, '.', '-' or '_', starting with a letter or digit"


def valid_name(name: str) -> str:
    """A user name as typed (spaces around it dropped), or a 422 naming ``name``."""
    name = (name or "").strip()
    if not NAME_PATTERN.fullmatch(name):
        raise ApiError(
            422,
            "invalid",
            f"a user name is {NAME_ALLOWED}; for example carla or pat.m",
            field="name",
            value=name[:80],
            allowed=NAME_ALLOWED,
        )
    return name


def create_user(
    name: str,
    role: str,
    password: str,
    *,
    first_clinician: bool = False,
    patient_id: int | None = None,
) -> LoginUser:
    """A new account; ``first_clinician`` inserts only while no clinician exists (checked
    in the insert's own transaction: parallel first-run requests make one clinician)."""
    if role not in ROLES:
        raise ApiError(
            422, "invalid", "unknown role", field="role", value=role, allowed=list(ROLES)
        )
    users = _coord().store.users
    name = valid_name(name)
    if users.get(name) is not None:
        raise ApiError(
            409, "conflict", f"a user called {name!r} exists already", field="name", value=name
        )
    hashed = hash_password(password, name=name)
    try:
        if first_clinician:
            record = users.create_first_clinician(name, hashed)
        else:
            record = users.create(name, role, hashed, patient_id=patient_id)
    except PatientRequired as exc:  # several patients: a patient account names its own
        raise ApiError(409, "conflict", str(exc), field="patient_id") from None
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc), field="name", value=name) from None
    except InvalidInput as exc:  # an unknown patient record, or one for a clinician
        raise ApiError(422, "invalid", str(exc), field="patient_id", value=patient_id) from None
    return LoginUser.from_record(record)


WRONG = N_("Wrong name or password.")
DISABLED = N_("This account is disabled; ask the clinician to enable it.")


def _authenticate(name: str, password: str) -> tuple[LoginUser | None, str]:
    """The user, or None and why. Every path runs one argon2 verification, so the time
    taken does not tell whether a name exists; "disabled" is told only to someone who
    knows the password."""
    name = (name or "").strip()
    password = password or ""
    # Looked up whatever its characters (an account made before names were checked still
    # logs in); only a name no account can have skips the lookup, never the verification.
    record = _coord().store.users.get(name) if 0 < len(name) <= 200 else None
    if record is None:
        verify_nobody(password)
        return None, WRONG
    if not verify_password(record.password_hash, password):
        return None, WRONG
    if record.disabled:
        return None, DISABLED
    return LoginUser.from_record(record), ""


def start_session(user: LoginUser) -> None:
    """Log in with a fresh session: whatever the cookie held before (a planted session,
    an old CSRF token) is dropped, so the session and its CSRF token are new."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    login_user(user)


def end_session() -> None:
    """Log out here and everywhere: the account's session epoch moves on, so a copy of
    this cookie (or any other of the account's cookies) no longer logs anyone in."""
    if current_user.is_authenticated:
        _coord().store.users.end_sessions(current_user.user_id)
    logout_user()
    session.clear()


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """First run: create the clinician account (only while none exists, only with the
    one-time setup code)."""
    data_dir = _data_dir(current_app)
    if _coord().store.users.count("clinician") > 0:
        setup_code.spend(data_dir)
        return redirect(url_for("auth.login"))
    setup_code.ensure(data_dir)
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if not setup_code.matches(data_dir, request.form.get("code", "")):
            error = ApiError(
                403,
                "forbidden",
                "the setup code is missing or wrong: ./run and the installer print it, "
                "and `station setup-code` on the station shows it",
                field="code",
            )
        elif password != request.form.get("confirm", ""):
            error = ApiError(422, "invalid", "the two passwords differ", field="confirm")
        else:
            try:
                user = create_user(
                    request.form.get("name", ""), "clinician", password, first_clinician=True
                )
            except ApiError as exc:
                error = exc
            else:
                setup_code.spend(data_dir)
                start_session(user)
                flash(_("Clinician account created. Next: assign a plan and add a patient "
                        "account."))  # fmt: skip
                return redirect(url_for("clinician.overview"))
    return render_template("setup.html", error=error), (error.status if error else 200)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        user, why = _authenticate(request.form.get("name", ""), request.form.get("password", ""))
        if user is None:
            error = _(why)  # the page's language; the API's answer stays English
        else:
            start_session(user)
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("patient.home")
            return redirect(target)
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    end_session()
    return redirect(url_for("patient.home"))


@bp.route("/api/login", methods=["POST"])
@contract(
    "Log in; returns the csrf_token to send as X-CSRFToken",
    body=LoginIn,
    ok=LoginOut,
    errors=(401, 429),
    csrf=False,
    json_only=True,
)
def api_login(body: LoginIn) -> Any:
    """JSON login; returns the CSRF token the client sends back as ``X-CSRFToken``.

    Exempt from CSRF (there is no session yet) but only JSON is accepted, which a
    cross-site form cannot send without a CORS preflight the station never grants.
    """
    user, why = _authenticate(body.name, body.password)
    if user is None:
        raise ApiError(401, "unauthenticated", why[0].lower() + why[1:].rstrip("."))
    start_session(user)
    return jsonify({"user": {"name": user.name, "role": user.role}, "csrf_token": generate_csrf()})


@bp.route("/api/logout", methods=["POST"])
@login_required_any
@contract("Log out", ok=LogoutOut)
def api_logout() -> Any:
    who = actor()
    end_session()
    return jsonify({"logged_out": who})


def whoami() -> dict[str, Any] | None:
    if not current_user.is_authenticated:
        return None
    return {"name": current_user.name, "role": current_user.role}
