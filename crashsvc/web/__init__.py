"""The triage web UI: server-rendered pages, session sign-in, CSRF and security headers.

``register(app)`` is the feature registrar (see ``crashsvc/features.py``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, Response, g, make_response, render_template, request
from jinja2 import TemplateError
from werkzeug.exceptions import HTTPException

from crashsvc.auth import register_principal_loader
from crashsvc.errors import register_html_error_renderer
from crashsvc.web import security
from crashsvc.web.sessions import SESSION_TTL_SECONDS, principal_from_session

# Holds the UI's templates and static files (the page blueprints only hold views).
static_bp = Blueprint(
    "web_static", __name__, static_folder="static", static_url_path="/static/web", template_folder="templates"
)
ERROR_TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    429: "Too many requests",
    500: "Internal error",
}


def register(app: Flask) -> None:
    from crashsvc.web import admin_views, apps_views, auth_views, groups_views, reports_views

    app.config.update(
        SESSION_COOKIE_NAME="crashsvc_session",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=SESSION_TTL_SECONDS),
    )
    security.install(app)
    register_principal_loader(principal_from_session)
    for blueprint in (
        static_bp,
        auth_views.bp,
        apps_views.bp,
        groups_views.bp,
        reports_views.bp,
        admin_views.bp,
    ):
        app.register_blueprint(blueprint)
    register_html_error_renderer(app, render_error_page)
    app.context_processor(_template_context)
    from crashsvc.web import filters, stack

    filters.install(app)
    stack.install(app)


def _template_context() -> dict:
    from crashsvc.web.access import visible_apps

    user = g.get("web_user")
    return {
        "web_user": user,
        "current_app_id": g.get("current_app_id"),
        "nav_apps": (lambda: visible_apps(user)) if user else (lambda: []),
    }


def _is_page_request() -> bool:
    if (request.blueprint or "").startswith("web_"):
        return True
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


def render_error_page(status: int, code: str, message: str) -> Response | None:
    """HTML error pages for the UI's own URLs (and browsers on unknown ones); None for API callers."""
    if not _is_page_request():
        return None
    try:
        body = render_template(
            "error.html", status=status, code=code, message=message, title=ERROR_TITLES.get(status, "Error")
        )
    except (HTTPException, TemplateError):
        return None  # an error while rendering the error page: fall back to the JSON answer
    return make_response(body, status)
