"""The clinician page's accounts section: list, disable, enable, reset a password.

Disabling an account or resetting its password ends every live session of it (its
session epoch moves on, web/security.py). The last active clinician cannot be disabled
(storage refuses it in the same transaction that would do it). The same actions exist on
the command line: ``station user list|disable|enable|reset-password``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from station.errors import StationError
from web.clinic_audit import note  # who changed what
from web.errors import ApiError
from web.security import LoginUser, hash_password, role_required

bp = Blueprint("accounts", __name__, url_prefix="/clinician/accounts")


@bp.before_request
@role_required("clinician")
def _clinician_only() -> None:
    return None


def _users() -> Any:
    return current_app.extensions["station.app.coordinator"].store.users


@bp.app_context_processor
def _accounts() -> dict[str, Any]:
    """``station_accounts()`` for the clinician page's accounts section (read only when
    the section is rendered)."""

    def station_accounts() -> list[Any]:
        return list(_users().all())

    return {"station_accounts": station_accounts}


def _back() -> Any:
    return redirect(url_for("clinician.overview") + "#accounts-card")


def _is_me(name: str) -> bool:
    return bool(current_user.is_authenticated and current_user.name.lower() == name.lower())


@bp.post("/<name>/disable")
def disable(name: str) -> Any:
    return _set_disabled(name, disabled=True)


@bp.post("/<name>/enable")
def enable(name: str) -> Any:
    return _set_disabled(name, disabled=False)


def _set_disabled(name: str, *, disabled: bool) -> Any:
    try:
        user = _users().set_disabled(name, disabled=disabled)
    except StationError as exc:
        if disabled:
            flash(_("Account not disabled: %(why)s", why=exc), "error")
        else:
            flash(_("Account not enabled: %(why)s", why=exc), "error")
        return _back()
    note(
        "account",
        f"account {user.name} {'disabled' if disabled else 'enabled'}",
        patient_id=user.patient_id,
    )
    if disabled:
        flash(_("Account %(name)s disabled; its sessions have ended.", name=user.name))
    else:
        flash(_("Account %(name)s enabled.", name=user.name))
    return _back()


@bp.post("/<name>/password")
def reset_password(name: str) -> Any:
    password = request.form.get("password", "")
    try:
        if password != request.form.get("confirm", password):
            raise ApiError(422, "invalid", "the two passwords differ", field="confirm")
        user = _users().set_password(name, hash_password(password, name=name))
    except ApiError as exc:
        flash(_("Password not changed: %(why)s", why=exc.message), "error")
    except StationError as exc:
        flash(_("Password not changed: %(why)s", why=exc), "error")
    else:
        if _is_me(user.name):  # keep the clinician who changed their own logged in
            from web.auth import start_session

            start_session(LoginUser.from_record(user))
        note("account", f"password of {user.name} reset", patient_id=user.patient_id)
        flash(_("Password of %(name)s changed; its other sessions have ended.", name=user.name))
    return _back()
