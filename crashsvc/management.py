"""Managing apps, members, users and API tokens: the operations the admin UI and the JSON API share.

Plain functions over a session that raise ``ApiError`` with stable codes; callers commit.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crashsvc.audit import record_audit_event
from crashsvc.auth import hash_password, hash_token, new_api_token, new_ingest_key
from crashsvc.errors import ApiError, Conflict, Forbidden, NotFound
from crashsvc.models import ApiToken, App, Membership, User
from crashsvc.models.apps import ROLES
from crashsvc.models.base import utcnow
from crashsvc.models.users import SCOPES

MIN_PASSWORD_LENGTH = 8
MAX_RETENTION_DAYS = 3650


def _audit(session: Session, action: str, by: User | None, app_id: int | None, **detail: Any) -> None:
    """Admin changes go to the audit log: who, which app, what changed (ids and settings, no secrets)."""
    if by is not None:
        record_audit_event(session, action, f"user:{by.id}", app_id=app_id, detail=detail, user_id=by.id)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(message, code="invalid_field", fields={field: message})


def parse_retention(value: Any) -> int | None:
    """Retention in days (1..3650), or None for the server default; '' means None."""
    if value in (None, ""):
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise _invalid("retention_days", "Must be a whole number of days.") from None
    if isinstance(value, bool) or not 1 <= days <= MAX_RETENTION_DAYS:
        raise _invalid("retention_days", f"Must be between 1 and {MAX_RETENTION_DAYS} days.")
    return days


def create_app_row(session: Session, name: str, retention_days: Any = None, *, by: User | None = None) -> App:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise _invalid("name", "Give the app a name of 1 to 200 characters.")
    if session.scalars(select(App).where(App.name == name)).first():
        raise Conflict(f"An app named {name!r} exists.", code="app_exists")
    app = App(name=name, ingest_key=new_ingest_key(), retention_days=parse_retention(retention_days))
    session.add(app)
    session.flush()
    _audit(session, "app.create", by, app.id, name=name, retention_days=app.retention_days)
    return app


def update_app(session: Session, app: App, changes: dict[str, Any], *, by: User | None = None) -> App:
    """Change name and/or retention; unknown fields are refused so typos do not pass silently."""
    unknown = set(changes) - {"name", "retention_days"}
    if unknown:
        raise ApiError(
            "Only name and retention_days can be changed.",
            code="invalid_field",
            fields={field: "Unknown field." for field in sorted(unknown)},
        )
    if "retention_days" in changes:
        app.retention_days = parse_retention(changes["retention_days"])
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name or len(name) > 200:
            raise _invalid("name", "Give the app a name of 1 to 200 characters.")
        clash = session.scalars(select(App).where(App.name == name, App.id != app.id)).first()
        if clash:
            raise Conflict(f"An app named {name!r} exists.", code="app_exists")
        app.name = name
    session.flush()
    _audit(session, "app.update", by, app.id, name=app.name, retention_days=app.retention_days)
    return app


def rotate_ingest_key(session: Session, app: App, *, by: User | None = None) -> App:
    """A new ingest key; the edge's key cache lets the old one work for at most ~10 s more."""
    app.ingest_key = new_ingest_key()
    session.flush()
    _audit(session, "app.rotate_key", by, app.id)
    return app


def list_members(session: Session, app_id: int) -> list[tuple[User, str]]:
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.app_id == app_id)
        .order_by(User.email)
    ).all()
    return [(user, role) for user, role in rows]


def set_member(session: Session, app: App, email: str, role: str, *, by: User | None = None) -> Membership:
    if role not in ROLES:
        raise _invalid("role", f"Role must be one of {', '.join(ROLES)}.")
    user = session.scalars(select(User).where(User.email == (email or "").strip().lower())).first()
    if user is None:
        raise NotFound("No user with that e-mail; create the user first.", code="unknown_user")
    membership = session.get(Membership, (user.id, app.id)) or Membership(user_id=user.id, app_id=app.id)
    membership.role = role
    session.add(membership)
    session.flush()
    _audit(session, "member.set", by, app.id, user_id=user.id, role=role)
    return membership


def remove_member(session: Session, app: App, user_id: int, *, by: User | None = None) -> None:
    membership = session.get(Membership, (user_id, app.id))
    if membership is None:
        raise NotFound("That user is not a member of this app.")
    session.delete(membership)
    session.flush()
    _audit(session, "member.remove", by, app.id, user_id=user_id)


def create_user(
    session: Session,
    email: str,
    password: str | None = None,
    is_admin: bool = False,
    *,
    by: User | None = None,
) -> tuple[User, str | None]:
    """A new user; without a password one is generated and returned once (to hand to the person)."""
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 320 or any(ch.isspace() for ch in email):
        raise _invalid("email", "Give a valid e-mail address.")
    if session.scalars(select(User).where(User.email == email)).first():
        raise Conflict("A user with that e-mail exists.", code="user_exists")
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _invalid("password", f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    user = User(email=email, password_hash=hash_password(password), is_admin=bool(is_admin))
    session.add(user)
    session.flush()
    _audit(session, "user.create", by, None, user_id=user.id, is_admin=user.is_admin)
    return user, generated


def parse_scopes(value: Any, allowed: frozenset[str]) -> list[str]:
    """Scopes from a list or a comma-separated string; never more than the caller holds."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    scopes = sorted({str(item).strip() for item in items if str(item).strip()})
    if not scopes:
        raise _invalid("scopes", f"Choose at least one of {', '.join(SCOPES)}.")
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise _invalid("scopes", f"Unknown scope(s): {', '.join(unknown)}.")
    if not set(scopes) <= allowed:
        raise Forbidden("A token cannot grant scopes its creator does not hold.")
    return scopes


def create_token(session: Session, user: User, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """A new API token for ``user``; the secret is returned once and only its hash is kept."""
    name = (name or "").strip()[:200]
    token = new_api_token()
    row = ApiToken(
        user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:12], scopes=",".join(scopes)
    )
    session.add(row)
    session.flush()
    return row, token


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such token.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    return row
