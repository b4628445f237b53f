"""Administration pages: app settings (key, DSN, retention, members, symbols), users, API tokens."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from crashsvc import management
from crashsvc.api.serializers import dsn_for
from crashsvc.auth import ALL_SCOPES
from crashsvc.db import db_session
from crashsvc.errors import ApiError
from crashsvc.models import User
from crashsvc.symbols.catalog import list_symbol_files
from crashsvc.web import optional
from crashsvc.web.access import app_for_page, current_user, login_required, require_site_admin
from crashsvc.web.overview_data import overview

bp = Blueprint("web_admin", __name__)


def _settings_url(app_id: int) -> str:
    return url_for("web_admin.app_settings", app_id=app_id)


@bp.get("/apps/<int:app_id>/settings")
@login_required
def app_settings(app_id: int):
    app, role = app_for_page(app_id, "admin")
    session = db_session()
    settings = current_app.extensions["crashsvc"].settings
    return render_template(
        "admin/app_settings.html",
        app=app,
        app_tabs={"app": app, "role": role, "active": "settings"},
        dsn=dsn_for(app, settings.public_url),
        default_retention=settings.default_retention_days,
        members=management.list_members(session, app_id),
        roles=("viewer", "developer", "admin"),
        symbol_files=list_symbol_files(session, app_id, limit=100),
        missing_symbols=_missing_symbols(app_id),
        audit=optional.audit_events(session, app_id),
        as_mapping=optional.as_mapping,
    )


def _missing_symbols(app_id: int) -> list | None:
    """From the overview snapshot (the summary scans a month of reports); None while it is computed."""
    data = overview(app_id)
    return data["missing_symbols"] if data is not None else None


def _apply(app_id: int, action, success: str):
    """Run a management action; its error code becomes a flash message on the settings page."""
    session = db_session()
    try:
        action(session)
        session.commit()
        flash(success, "success")
    except ApiError as error:
        session.rollback()
        flash(error.message, "error")
    return redirect(_settings_url(app_id))


@bp.post("/apps/<int:app_id>/settings/retention")
@login_required
def update_retention(app_id: int):
    app, _ = app_for_page(app_id, "admin")
    changes = {"retention_days": request.form.get("retention_days", "")}
    if request.form.get("name"):
        changes["name"] = request.form["name"]
    return _apply(
        app_id, lambda s: management.update_app(s, app, changes, by=current_user()), "App settings saved."
    )


@bp.post("/apps/<int:app_id>/settings/rotate-key")
@login_required
def rotate_key(app_id: int):
    app, _ = app_for_page(app_id, "admin")
    return _apply(
        app_id,
        lambda s: management.rotate_ingest_key(s, app, by=current_user()),
        "New ingest key issued; the old key stops working within seconds.",
    )


@bp.post("/apps/<int:app_id>/members")
@login_required
def set_member(app_id: int):
    app, _ = app_for_page(app_id, "admin")
    email, role = request.form.get("email", ""), request.form.get("role", "viewer")
    return _apply(
        app_id, lambda s: management.set_member(s, app, email, role, by=current_user()), "Member saved."
    )


@bp.post("/apps/<int:app_id>/members/<int:user_id>/remove")
@login_required
def remove_member(app_id: int, user_id: int):
    app, _ = app_for_page(app_id, "admin")
    return _apply(
        app_id, lambda s: management.remove_member(s, app, user_id, by=current_user()), "Member removed."
    )


@bp.post("/apps")
@login_required
def create_app():
    require_site_admin()
    session = db_session()
    try:
        app = management.create_app_row(
            session, request.form.get("name", ""), request.form.get("retention_days"), by=current_user()
        )
        session.commit()
    except ApiError as error:
        session.rollback()
        flash(error.message, "error")
        return redirect(url_for("web_auth.index"))
    flash(f"App {app.name} created. Give its DSN to your SDK.", "success")
    return redirect(_settings_url(app.id))


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def users():
    require_site_admin()
    session = db_session()
    created = None
    if request.method == "POST":
        try:
            user, generated = management.create_user(
                session,
                request.form.get("email", ""),
                request.form.get("password") or None,
                is_admin=request.form.get("is_admin") == "on",
                by=current_user(),
            )
            session.commit()
            created = {"email": user.email, "password": generated}  # shown once, never stored in clear
        except ApiError as error:
            session.rollback()
            flash(error.message, "error")
    services = current_app.extensions["crashsvc"]
    return render_template(
        "admin/users.html",
        users=session.scalars(select(User).order_by(User.email)).all(),
        created=created,
        dead_letters=optional.dead_letters(services),
        audit=optional.audit_events(session, None),
        as_mapping=optional.as_mapping,
    )


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    session = db_session()
    user = current_user()
    new_token = None
    if request.method == "POST":
        try:
            scopes = management.parse_scopes(request.form.getlist("scopes"), ALL_SCOPES)
            _, new_token = management.create_token(session, user, request.form.get("name", ""), scopes)
            session.commit()
        except ApiError as error:
            session.rollback()
            flash(error.message, "error")
    return render_template(
        "admin/tokens.html",
        tokens=management.list_tokens(session, user),
        new_token=new_token,
        scopes=sorted(ALL_SCOPES),
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    session = db_session()
    management.revoke_token(session, current_user(), token_id)
    session.commit()
    flash("Token revoked.", "success")
    return redirect(url_for("web_admin.tokens"))
