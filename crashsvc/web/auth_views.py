"""Sign in with e-mail and password, sign out, and the start page that lists the user's apps."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import select

from crashsvc.auth import hash_password, verify_password
from crashsvc.db import db_session
from crashsvc.models import User
from crashsvc.web.access import current_user, login_required, safe_next, visible_apps
from crashsvc.web.sessions import end_session, signed_in_user, start_session
from crashsvc.web.throttle import login_throttle

bp = Blueprint("web_auth", __name__)
_dummy_hash: list[str] = []


def _unknown_user_hash() -> str:
    """Verified against when the e-mail is unknown, so both cases take the same time."""
    if not _dummy_hash:
        _dummy_hash.append(hash_password("not a password of anyone"))
    return _dummy_hash[0]


def _login_page(error: str | None, status: int, email: str = ""):
    next_path = safe_next(request.values.get("next"))
    return render_template("login.html", error=error, email=email, next_path=next_path), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    session = db_session()
    if request.method == "GET":
        if signed_in_user(session) is not None:
            return redirect(url_for("web_auth.index"))
        return _login_page(None, 200)
    email = request.form.get("email", "").strip().lower()[:320]
    password = request.form.get("password", "")[:1024]
    throttle = login_throttle()
    try:
        wait = throttle.blocked_for(email)
    except RedisError:
        return _login_page("Sign-in is unavailable right now; try again shortly.", 503, email)
    if wait:
        minutes = max(1, round(wait / 60))
        return _login_page(f"Too many failed attempts. Try again in about {minutes} minute(s).", 429, email)
    user = session.scalars(select(User).where(User.email == email)).first() if email else None
    valid = verify_password(user.password_hash if user else _unknown_user_hash(), password)
    if user is None or not valid:
        throttle.record_failure(email)
        return _login_page("Wrong e-mail or password.", 401, email)
    throttle.record_success(email)
    start_session(user)
    return redirect(safe_next(request.form.get("next")) or url_for("web_auth.index"))


@bp.post("/logout")
def logout():
    end_session()
    return redirect(url_for("web_auth.login"))


@bp.get("/")
@login_required
def index():
    apps = visible_apps(current_user())
    if len(apps) == 1:
        return redirect(url_for("web_apps.overview_page", app_id=apps[0].id))
    return render_template("apps.html", apps=apps)
