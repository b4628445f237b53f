"""The application factory: ``create_app(overrides)`` builds everything; nothing happens at import."""

from __future__ import annotations

from typing import Any

from flask import Flask

from config.settings import load_settings
from crashsvc.errors import register_error_handlers
from crashsvc.jsonlog import configure_logging
from crashsvc.services import Services


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    settings = load_settings(overrides)
    configure_logging(settings.log_level)
    app = Flask(__name__)
    services = Services(settings)
    app.config.update(
        SECRET_KEY=services.secrets.secret_key,
        MAX_CONTENT_LENGTH=None,  # the ingest endpoints enforce their own limits while reading
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        JSON_SORT_KEYS=False,
    )
    app.extensions["crashsvc"] = services
    services.db.init_app(app)
    register_error_handlers(app)

    from crashsvc import health
    from crashsvc.api import openapi, reports
    from crashsvc.ingest import native, sentry

    for blueprint in (native.bp, sentry.bp, reports.bp, openapi.bp, health.bp):
        app.register_blueprint(blueprint)
    _register_optional_blueprints(app)
    return app


def _register_optional_blueprints(app: Flask) -> None:
    """Blueprints of features that live in their own packages (web UI, symbols, purge, ...)."""
    from crashsvc import features

    for register in features.REGISTRARS:
        register(app)
