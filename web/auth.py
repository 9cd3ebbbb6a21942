"""Logging in and out, and the first-run page that creates the first clinician.

There is no default password anywhere: until a clinician account exists every page
(except stopping) leads to ``/setup``. Login attempts are rate-limited per address so a
guessed password costs minutes, not milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from web.contract import contract
from web.errors import ApiError
from web.models import LoginIn
from web.responses import LoginOut, LogoutOut
from web.security import (
    ROLES,
    LoginUser,
    actor,
    field,
    hash_password,
    login_required_any,
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
}


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


def init(app: Flask, *, limiter: Limiter) -> None:
    """Rate-limit the login routes (call after registering ``bp``); send a fresh station
    to the first-run page."""
    rate = lambda: current_app.config["LOGIN_RATE_LIMIT"]  # noqa: E731
    # The blueprint is registered already: wrap the registered views in place.
    for endpoint in ("auth.login", "auth.api_login", "auth.setup"):
        limited = limiter.limit(rate, methods=["POST"])(app.view_functions[endpoint])
        app.view_functions[endpoint] = cast(Callable[..., Any], limited)

    @app.before_request
    def _first_run() -> Any:
        if request.endpoint in OPEN_ENDPOINTS or request.path.startswith("/api/"):
            return None
        if _coord().store.users.count("clinician") == 0:
            return redirect(url_for("auth.setup"))
        return None


def _valid_name(name: str) -> str:
    name = (name or "").strip()
    if (
        not (1 <= len(name) <= 64)
        or not name.replace("_", "").replace("-", "").replace(".", "").isalnum()
    ):
        raise ApiError(
            422,
            "invalid",
            "a user name is 1-64 letters, digits, '.', '-' or '_'",
            field="name",
            value=name,
        )
    return name


def create_user(name: str, role: str, password: str) -> LoginUser:
    if role not in ROLES:
        raise ApiError(
            422, "invalid", "unknown role", field="role", value=role, allowed=list(ROLES)
        )
    store = _coord().store
    name = _valid_name(name)
    if store.users.get(name) is not None:
        raise ApiError(
            409, "conflict", f"a user called {name!r} exists already", field="name", value=name
        )
    record = store.users.create(name, role, hash_password(password))
    if isinstance(record, int):
        record = store.users.get_by_id(record)
    return LoginUser.from_record(record)


def _authenticate(name: str, password: str) -> LoginUser | None:
    record = _coord().store.users.get((name or "").strip())
    if record is None or not verify_password(field(record, "password_hash"), password or ""):
        return None
    return LoginUser.from_record(record)


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """First run: create the clinician account (only while none exists)."""
    if _coord().store.users.count("clinician") > 0:
        return redirect(url_for("auth.login"))
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            error = ApiError(422, "invalid", "the two passwords differ", field="confirm")
        else:
            try:
                user = create_user(request.form.get("name", ""), "clinician", password)
            except ApiError as exc:
                error = exc
            else:
                login_user(user)
                flash("Clinician account created. Next: assign a plan and add a patient account.")
                return redirect(url_for("clinician.overview"))
    return render_template("setup.html", error=error), (422 if error else 200)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        user = _authenticate(request.form.get("name", ""), request.form.get("password", ""))
        if user is None:
            error = "Wrong name or password."
        else:
            login_user(user)
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("patient.home")
            return redirect(target)
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
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
    user = _authenticate(body.name, body.password)
    if user is None:
        raise ApiError(401, "unauthenticated", "wrong name or password")
    login_user(user)
    return jsonify({"user": {"name": user.name, "role": user.role}, "csrf_token": generate_csrf()})


@bp.route("/api/logout", methods=["POST"])
@login_required_any
@contract("Log out", ok=LogoutOut)
def api_logout() -> Any:
    who = actor()
    logout_user()
    return jsonify({"logged_out": who})


def whoami() -> dict[str, Any] | None:
    if not current_user.is_authenticated:
        return None
    return {"name": current_user.name, "role": current_user.role}
