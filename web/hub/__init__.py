"""The clinic hub's web page and JSON API (its own Flask app, not the station's), served by
waitress from ``station hub run``. Clinician accounts only (``station hub user add``).
Login, CSRF and the error shape are the station's (web/security.py, web/contract.py,
web/errors.py); the data comes from station/hub/ (queries, alarms, export, pusher).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect, generate_csrf

from web.errors import register_error_handlers
from web.security import LoginUser, load_secret_key, load_user

DEFAULTS: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 512 * 1024,
    "LOGIN_RATE_LIMIT": "10 per minute",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "JSON_SORT_KEYS": False,
}


def create_hub_app(
    config: dict[str, Any] | None = None, *, store: Any, broker: Any = None, pusher: Any = None
) -> Flask:
    """``store``: a HubStore; ``pusher`` (or a ``broker`` to make one) sends pushes."""
    from station.hub.store import UserStoreAdapter

    app = Flask(__name__, template_folder="templates")
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(Path(app.config["DATA_DIR"]))
    if pusher is None and broker is not None:
        from station.hub.pusher import Pusher

        pusher = Pusher(broker=broker, store=store)
    app.extensions["hub.store"] = store
    app.extensions["hub.pusher"] = pusher
    csrf = CSRFProtect(app)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", default_limits=[])
    login = LoginManager(app)
    login.login_view = "hub.login_page"
    login.session_protection = "strong"
    users = UserStoreAdapter(store)

    @login.user_loader
    def _load(user_id: str) -> LoginUser | None:
        try:
            return load_user(user_id, users=users)
        except Exception:
            return None

    from web.hub import api, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    csrf.exempt(api.api_login)
    limiter.limit(lambda: app.config["LOGIN_RATE_LIMIT"], methods=["POST"])(api.api_login)
    limiter.limit(lambda: app.config["LOGIN_RATE_LIMIT"], methods=["POST"])(pages.login_page)
    register_error_handlers(app)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"csrf_token": generate_csrf}

    @app.after_request
    def _headers(resp):  # type: ignore[no-untyped-def]
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'"
        )
        return resp

    return app
