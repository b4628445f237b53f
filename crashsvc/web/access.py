"""Who is looking at a page and what they may do: sign-in required, roles per app, 404 for others' apps."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, url_for
from sqlalchemy import select

from crashsvc.auth import ROLE_RANK, app_role
from crashsvc.db import db_session
from crashsvc.errors import Forbidden, NotFound
from crashsvc.models import App, User
from crashsvc.web.sessions import signed_in_user


def current_user() -> User:
    """The signed-in user of a ``login_required`` view."""
    return g.web_user


def login_required(view: Callable) -> Callable:
    """Pages: a signed-in user, else a redirect to the login page (back here afterwards)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if signed_in_user(db_session()) is None:
            target = request.full_path if request.method == "GET" else None
            return redirect(url_for("web_auth.login", next=target.rstrip("?") if target else None))
        return view(*args, **kwargs)

    return wrapper


def app_for_page(app_id: int, role: str = "viewer") -> tuple[App, str]:
    """The app and the user's role in it; 404 when not a member (ids of others' apps tell nothing)."""
    session = db_session()
    have = app_role(session, current_user(), app_id)
    if have is None:
        raise NotFound("No such app.")
    if ROLE_RANK[have] < ROLE_RANK[role]:
        raise Forbidden(f"This needs the {role} role in the app.")
    g.current_app_id = app_id
    return session.get(App, app_id), have


def may(role_held: str | None, role_needed: str) -> bool:
    return role_held is not None and ROLE_RANK[role_held] >= ROLE_RANK[role_needed]


def require_site_admin() -> None:
    if not current_user().is_admin:
        raise Forbidden("Only administrators can do this.")


def visible_apps(user: User) -> list[App]:
    from crashsvc.auth import visible_app_ids

    session = db_session()
    ids = visible_app_ids(session, user)
    return list(session.scalars(select(App).where(App.id.in_(ids)).order_by(App.name))) if ids else []


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
