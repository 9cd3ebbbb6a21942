"""The station's local web page and JSON API (Flask), served by waitress.

The app never touches hardware: everything that moves goes through the coordinator, which
talks to the engine process over its Unix socket. ``create_app`` takes the coordinator as
an argument so that tests can hand in one wired to a scripted engine.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect, generate_csrf

from web.errors import ApiError, register_error_handlers
from web.security import LoginUser, load_secret_key

DEFAULTS: dict[str, Any] = {
    "SIMULATE": True,
    "STATION_CONFIG": None,
    "MAX_CONTENT_LENGTH": 256 * 1024,
    "LOGIN_RATE_LIMIT": "10 per minute",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "SSE_MAX_SECONDS": 300,
    "SSE_HEARTBEAT_SECONDS": 15,
    "JSON_SORT_KEYS": False,
}


def create_app(config: dict[str, Any] | None = None, *, coordinator: Any = None) -> Flask:
    """Build the app; ``config`` needs ``DATA_DIR`` unless a coordinator is given."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    if coordinator is None:
        from station.app.coordinator import Coordinator

        data_dir = Path(app.config["DATA_DIR"])
        coordinator = Coordinator(
            data_dir=data_dir,
            simulate=bool(app.config["SIMULATE"]),
            config_path=app.config.get("STATION_CONFIG"),
        )
        coordinator.start_background()
    app.config.setdefault("DATA_DIR", str(coordinator.data_dir))
    app.extensions["station.app.coordinator"] = coordinator
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(Path(app.config["DATA_DIR"]))

    @app.before_request
    def _well_formed() -> None:
        """Registered before CSRF: a multipart part without a name would crash the CSRF
        check (found by the API fuzz run); refuse it as a bad request instead."""
        if request.mimetype == "multipart/form-data" and (
            None in request.form or None in request.files
        ):
            raise ApiError(400, "invalid", "every multipart part needs a name")

    csrf = CSRFProtect(app)
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri="memory://",
        default_limits=[],
        headers_enabled=True,
    )
    app.extensions["station.limiter"] = limiter

    login = LoginManager(app)
    login.login_view = "auth.login"
    login.session_protection = "strong"

    @login.user_loader
    def _load(user_id: str) -> LoginUser | None:
        try:
            record = coordinator.store.users.get_by_id(int(user_id))
        except Exception:  # a deleted user or a bad cookie is simply "not logged in"
            return None
        return LoginUser.from_record(record) if record is not None else None

    from web import api, auth, clinician, openapi, patient, sim

    app.register_blueprint(auth.bp)
    auth.init(app, limiter=limiter)
    app.register_blueprint(patient.bp)
    app.register_blueprint(clinician.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(sim.bp)
    app.register_blueprint(openapi.bp)
    # Stopping must always work: no login, no CSRF token (a stale page must still stop).
    csrf.exempt(api.stop)
    csrf.exempt(patient.stop_form)
    csrf.exempt(auth.api_login)
    register_error_handlers(app)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"csrf_token": generate_csrf, "simulate": coordinator.simulate}

    @app.after_request
    def _headers(resp):  # type: ignore[no-untyped-def]
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        )
        return resp

    return app


def coordinator_of(app: Flask) -> Any:
    return app.extensions["station.app.coordinator"]
