"""Credentials: app ingest keys, users' passwords (argon2) and API tokens (Bearer, scoped)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import g, request
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crashsvc.db import is_transient_database_error
from crashsvc.errors import Forbidden, NotFound, Unauthorized
from crashsvc.models import ApiToken, App, Membership, User
from crashsvc.models.base import utcnow

TOKEN_PREFIX = "csvc_"
_password_hasher = PasswordHasher()


def new_ingest_key() -> str:
    return secrets.token_hex(16)


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class IngestApp:
    """What the edge needs to know about an app, cached briefly so ingestion skips the database."""

    id: int
    rate_limit_per_minute: int | None


class IngestKeyCache:
    """ingest key → app, for ``ttl`` seconds. A rotated key stops working within ``ttl``."""

    def __init__(self, ttl: float = 10.0):
        self.ttl = ttl
        self._entries: dict[str, tuple[float, IngestApp | None]] = {}

    def lookup(self, session_factory: Callable[[], Session], key: str) -> IngestApp | None:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        try:
            with session_factory() as session:
                row = session.execute(
                    select(App.id, App.rate_limit_per_minute).where(App.ingest_key == key)
                ).first()
        except SQLAlchemyError as error:
            # Ingestion only needs Redis: during a database outage a key that was valid moments
            # ago stays valid (stale, not refreshed), so SDKs keep reporting and nothing waits.
            if entry is not None and is_transient_database_error(error):
                return entry[1]
            raise
        found = IngestApp(row.id, row.rate_limit_per_minute) if row else None
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (now + self.ttl, found)
        return found


def keys_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# -- Bearer tokens and signed-in users ------------------------------------------------------------
@dataclass
class Principal:
    """Who is calling: a user, and (for API calls) the token's scopes."""

    user: User
    scopes: frozenset[str]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


ALL_SCOPES = frozenset({"read", "write", "symbols"})


def principal_from_bearer(session: Session) -> Principal | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip()
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    api_token, user = row
    session.execute(update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=utcnow()))
    session.commit()
    return Principal(user=user, scopes=frozenset(api_token.scope_set))


PrincipalLoader = Callable[[Session], Principal | None]
_principal_loaders: list[PrincipalLoader] = [principal_from_bearer]


def register_principal_loader(loader: PrincipalLoader) -> None:
    """Let the web UI add session-cookie sign-in as another way to be a principal."""
    if loader not in _principal_loaders:
        _principal_loaders.append(loader)


def current_principal(session: Session) -> Principal | None:
    if "principal" not in g:
        g.principal = None
        for loader in _principal_loaders:
            principal = loader(session)
            if principal is not None:
                g.principal = principal
                break
    return g.principal


def require_scope(scope: str) -> Callable:
    """Decorator for API views: a valid principal with ``scope``, else 401/403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from crashsvc.db import db_session

            principal = current_principal(db_session())
            if principal is None:
                raise Unauthorized("A valid Bearer token is required.")
            if not principal.has_scope(scope):
                raise Forbidden(f"This token lacks the {scope!r} scope.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


ROLE_RANK = {"viewer": 1, "developer": 2, "admin": 3}


def app_role(session: Session, user: User, app_id: int) -> str | None:
    """The user's role in the app (admins are admin everywhere), None if not a member."""
    if user.is_admin:
        exists = session.get(App, app_id) is not None
        return "admin" if exists else None
    membership = session.get(Membership, (user.id, app_id))
    return membership.role if membership else None


def require_app_role(session: Session, principal: Principal, app_id: int, role: str = "viewer") -> App:
    """The app if the principal may act on it with at least ``role``; 404 hides apps of others."""
    have = app_role(session, principal.user, app_id)
    if have is None:
        raise NotFound("No such app.")
    if ROLE_RANK[have] < ROLE_RANK[role]:
        raise Forbidden(f"This needs the {role!r} role in the app.")
    return session.get(App, app_id)


def visible_app_ids(session: Session, user: User) -> list[int]:
    if user.is_admin:
        return list(session.scalars(select(App.id).order_by(App.id)))
    return list(session.scalars(select(Membership.app_id).where(Membership.user_id == user.id)))
