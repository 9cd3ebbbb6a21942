"""The patient's pages: today's session with a big stop button, history, and settings.

The home page works for everyone: without a login it still shows the stop button (a
plain form, so it works even with JavaScript off). Everything else needs a login.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from station.errors import StationError
from web import shaping
from web.errors import ApiError, from_station_error
from web.security import actor, login_required_any, role_required

bp = Blueprint("patient", __name__)


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


@bp.get("/")
def home() -> Any:
    return render_template("home.html", status=_coord().status())


@bp.post("/stop")
def stop_form() -> Any:
    """No login, no CSRF: a stop from any page, any state, always gets through."""
    _coord().stop(reason="user", by=actor())
    flash("Stopped. Every output is off.")
    return redirect(url_for("patient.home"))


@bp.get("/history")
@login_required_any
def history() -> Any:
    return render_template("history.html")


@bp.route("/settings", methods=["GET", "POST"])
@role_required("patient", "clinician")
def settings() -> Any:
    error = None
    if request.method == "POST":
        changes: dict[str, Any] = {}
        for key, raw in request.form.items():
            if key == "csrf_token" or raw == "":
                continue
            try:
                changes[key] = float(raw) if key != "reminder_times" else raw
            except ValueError:
                error = ApiError(422, "invalid", f"{key} must be a number", field=key, value=raw)
                break
        if error is None:
            if "reminder_times" in changes:
                changes["reminder_times"] = [
                    t.strip() for t in str(changes["reminder_times"]).split(",") if t.strip()
                ]
            try:
                _coord().update_settings(changes, by=actor())
            except ApiError as exc:
                error = exc
            except StationError as exc:  # carries field, value and allowed (the cap)
                error = from_station_error(exc)
            else:
                flash("Settings saved.")
                return redirect(url_for("patient.settings"))
    data = shaping.get_settings(_coord())
    return render_template("settings.html", data=data, error=error), (422 if error else 200)
