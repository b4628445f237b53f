"""Response headers every answer carries, and the synchronizer-token CSRF check for forms.

The CSRF token is random per sign-in session and lives in the signed session cookie; every unsafe
request outside ``/api/`` must echo it (form field ``csrf_token`` or header ``X-CSRF-Token``).
Under ``/api/`` a cookie-authenticated caller must send the header (checked by the session principal
loader); Bearer and ingest-key callers are not cookie-borne, so CSRF does not apply to them.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, request, session

from crashsvc.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class CsrfFailed(ApiError):
    status, code, message = 403, "csrf_failed", "The form or request is missing a valid CSRF token."


def csrf_token() -> str:
    """The session's CSRF token, created on first use (also for the signed-out login form)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def rotate_csrf_token() -> None:
    session["csrf"] = secrets.token_urlsafe(32)


def csrf_valid(sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and sent) and hmac.compare_digest(str(sent).encode(), str(expected).encode())


def check_form_csrf() -> None:
    """Refuse an unsafe request to a page (not ``/api/``) that does not echo the session's token."""
    if request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not csrf_valid(sent):
        raise CsrfFailed()


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def install(app: Flask) -> None:
    app.before_request(check_form_csrf)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
