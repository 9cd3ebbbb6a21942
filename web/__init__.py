"""The station's local web page and JSON API (Flask), served by waitress.

The app never touches hardware: everything that moves goes through the coordinator, which
talks to the engine process over its Unix socket. ``create_app`` takes the coordinator as
an argument so that tests can hand in one wired to a scripted engine.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect, generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from web.errors import ApiError, register_error_handlers
from web.jsonbody import StationJSONProvider
from web.security import LoginUser, load_secret_key, load_user

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
    "SSE_PER_USER": 3,  # open event streams per account (a phone, a tablet, a reload)
    "JSON_SORT_KEYS": False,
    # How many reverse proxies in front may be trusted to say who the client is
    # (X-Forwarded-For/-Proto). 0 unless `station app --behind-proxy` (the installed unit,
    # behind HAProxy): directly reachable, as under ./run, a client could claim any address.
    "TRUSTED_PROXIES": 0,
}


def create_app(config: dict[str, Any] | None = None, *, coordinator: Any = None) -> Flask:
    """Build the app; ``config`` needs ``DATA_DIR`` unless a coordinator is given."""
    app = Flask(__name__)
    app.json = StationJSONProvider(app)
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
    trusted = app.config["TRUSTED_PROXIES"]
    if type(trusted) is not int or not 0 <= trusted <= 3:
        raise ValueError(f"TRUSTED_PROXIES = {trusted!r}: a whole number of proxies, 0 to 3")
    if trusted:  # per-address limits (login, Flask-Limiter) then see the real client
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)  # type: ignore[method-assign]

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

    @app.before_request
    def _visitor_identity() -> None:
        """Flask-Login's strong protection takes a session without ``_id`` (a visitor's,
        which holds only the CSRF token) for a stolen one on EVERY request and rewrites
        its cookie each time; a status poll in flight then wrote back the cookie that the
        page's STOP had just given its flash, and the flash was lost (found by the axe
        walk). The visitor's session gets its identity once, as a login's does."""
        if session and "_user_id" not in session and "_id" not in session:
            session["_id"] = login._session_identifier_generator()

    @login.user_loader
    def _load(user_id: str) -> LoginUser | None:
        try:  # disabled, logged out (older session epoch), deleted: "not logged in"
            return load_user(user_id, users=coordinator.store.users)
        except Exception:  # a bad cookie is simply "not logged in"
            return None

    from web import (
        accounts,
        api,
        auth,
        bodymap,
        clinician,
        discrimination,
        guided,
        journal,
        openapi,
        outcomes,
        patient,
        patients,
        ranking,
        sim,
        thresholds,
    )

    app.register_blueprint(auth.bp)
    auth.init(app, limiter=limiter)
    app.register_blueprint(patient.bp)
    app.register_blueprint(patients.bp)  # several patients: also scopes every request
    app.register_blueprint(clinician.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(guided.bp)
    app.register_blueprint(journal.bp)
    app.register_blueprint(ranking.bp)
    app.register_blueprint(sim.bp)
    app.register_blueprint(thresholds.bp)
    app.register_blueprint(bodymap.bp)  # issue 16: the sensitive zone's body map
    app.register_blueprint(outcomes.bp)  # issue 16: outcome measures on a schedule
    app.register_blueprint(discrimination.bp)  # issue 16: discrimination training
    app.register_blueprint(openapi.bp)
    from web.i18n import init_i18n

    init_i18n(app)  # issue 14: the page's language (Flask-Babel), /language, /i18n/<tag>.js
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
