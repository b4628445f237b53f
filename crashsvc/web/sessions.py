"""Sign-in sessions: a random id in the signed cookie, the user it belongs to in Redis.

Keeping the session server-side means signing out (or an admin removing a user) ends it at once,
which a cookie-only session cannot do. Redis holds ``sha256(id) → user id`` with a TTL; the cookie
never carries the user id itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets

from flask import current_app, g, request, session
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from crashsvc.auth import ALL_SCOPES, Principal
from crashsvc.models import User
from crashsvc.web.security import CSRF_HEADER, SAFE_METHODS, CsrfFailed, csrf_valid, rotate_csrf_token

SESSION_TTL_SECONDS = 12 * 3600
_KEY_PREFIX = "crashsvc:websession:"


def _key(session_id: str) -> str:
    return _KEY_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


def _redis():
    return current_app.extensions["crashsvc"].redis


def start_session(user: User) -> None:
    """A fresh session id and CSRF token at sign-in (nothing from before sign-in carries over)."""
    session.clear()
    session_id = secrets.token_urlsafe(32)
    _redis().set(_key(session_id), str(user.id), ex=SESSION_TTL_SECONDS)
    session["sid"] = session_id
    session.permanent = True
    rotate_csrf_token()


def end_session() -> None:
    session_id = session.get("sid")
    if session_id:
        # If Redis is unreachable the cookie is still cleared below and the entry expires on its own.
        with contextlib.suppress(RedisError):
            _redis().delete(_key(session_id))
    session.clear()


def signed_in_user(db: Session) -> User | None:
    """The user of this request's session cookie, or None (cached for the request)."""
    if "web_user" in g:
        return g.web_user
    g.web_user = None
    session_id = session.get("sid")
    if isinstance(session_id, str) and session_id:
        try:
            user_id = _redis().get(_key(session_id))
        except RedisError:
            user_id = None
        if user_id is not None:
            g.web_user = db.get(User, int(user_id))
    return g.web_user


def principal_from_session(db: Session) -> Principal | None:
    """Principal loader for the JSON API: a signed-in browser, with CSRF for unsafe methods."""
    user = signed_in_user(db)
    if user is None:
        return None
    if request.method not in SAFE_METHODS and not csrf_valid(request.headers.get(CSRF_HEADER)):
        raise CsrfFailed("A signed-in browser must send the X-CSRF-Token header on this request.")
    return Principal(user=user, scopes=ALL_SCOPES)


def client_fingerprint(secret: bytes, value: str) -> str:
    """A keyed hash for short-lived counter keys: the raw value is never stored."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]
