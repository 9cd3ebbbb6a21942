"""The patient's pages: today's session with a big stop button, history, and settings.

The home page works for everyone: without a login it still shows the stop button (a
plain form, so it works even with JavaScript off). Everything else needs a login.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from station.errors import StationError
from web import settings_form, shaping, visibility
from web.errors import ApiError
from web.security import actor, login_required_any, role_required

bp = Blueprint("patient", __name__)


def _coord() -> Any:
    return current_app.extensions["station.app.coordinator"]


@bp.get("/")
def home() -> Any:
    status = visibility.for_visitor(_coord().status(), logged_in=current_user.is_authenticated)
    return render_template("home.html", status=status)


@bp.post("/stop")
def stop_form() -> Any:
    """No login, no CSRF: a stop from any page, any state, always gets through."""
    _coord().stop(reason="user", by=actor())
    flash(_("Stopped. Every output is off."))
    return redirect(url_for("patient.home"))


@bp.get("/history")
@login_required_any
def history() -> Any:
    return render_template("history.html")


@bp.route("/settings", methods=["GET", "POST"])
@role_required("patient", "clinician")
def settings() -> Any:
    errors: dict[str, str] = {}
    data = shaping.get_settings(_coord())
    if request.method == "POST":
        caps = {f["name"]: f["cap"] for f in data["fields"] if f["kind"] == "number"}
        changes, errors = settings_form.parse(request.form.to_dict(), caps=caps)
        if not errors:
            try:
                _coord().update_settings(changes, by=actor())
            except (ApiError, StationError) as exc:  # the core's own check, worded per field
                labels = {f["name"]: f["label"] for f in data["fields"]}
                field, message = settings_form.refusal(exc, labels=labels)
                errors[field] = message
            else:
                flash(_("Settings saved."))
                return redirect(url_for("patient.settings"))
        typed = request.form.to_dict()  # show what was typed, next to its error
        for f in data["fields"]:
            if f["name"] in typed:
                f["value_text"] = typed[f["name"]]
    return render_template("settings.html", data=data, errors=errors), (422 if errors else 200)
