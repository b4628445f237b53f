"""Domain errors carry a stable code; ``register_error_handlers`` is the one place they become JSON.

Every error answer has the shape ``{"error": {"code", "message", "fields"?}}``. Codes are part of
the public API (documented in docs/api.md) and never change meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from crashsvc.db import is_transient_database_error


class ApiError(Exception):
    """An error with a stable code that the one error boundary turns into a JSON response."""

    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, Any] | None = None,
        retry_after: int | None = None,
        status: int | None = None,
        code: str | None = None,
    ):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields
        self.retry_after = retry_after
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class InvalidJson(ApiError):
    status, code, message = 400, "invalid_json", "The body is not valid JSON."


class InvalidReport(ApiError):
    status, code, message = 400, "invalid_report", "The report does not match the schema."


class InvalidEnvelope(ApiError):
    status, code, message = 400, "invalid_envelope", "The body is not a valid Sentry envelope."


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "A valid key or token is required."


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "This token or user may not do that."


class OptInRequired(ApiError):
    status, code, message = (
        403,
        "opt_in_required",
        "The report must carry the user's explicit opt-in (opt_in: true).",
    )


class NotFound(ApiError):
    status, code, message = 404, "not_found", "No such resource."


class Conflict(ApiError):
    status, code, message = 409, "conflict", "The resource is in a conflicting state."


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "The body is larger than this server accepts."


class UnsupportedMediaType(ApiError):
    status, code, message = 415, "unsupported_media_type", "This content type or encoding is not supported."


class RateLimited(ApiError):
    status, code, message = 429, "rate_limited", "Too many reports; retry later."


class Unavailable(ApiError):
    status, code, message = 503, "unavailable", "The service cannot accept reports right now; retry later."


# Werkzeug's own HTTP errors get stable codes too, so no path answers HTML.
HTTP_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    411: "length_required",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    429: "rate_limited",
    431: "headers_too_large",
}


def error_response(
    status: int, code: str, message: str, fields: dict[str, Any] | None = None, retry_after: int | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


HTML_ERROR_RENDERER = "crashsvc.html_errors"


def register_html_error_renderer(app: Flask, renderer: Callable[[int, str, str], Response | None]) -> None:
    """Let the web UI answer errors on its pages with HTML; ``renderer`` returns None for non-pages."""
    app.extensions[HTML_ERROR_RENDERER] = renderer


def _html_error(app: Flask, status: int, code: str, message: str) -> Response | None:
    renderer = app.extensions.get(HTML_ERROR_RENDERER)
    return renderer(status, code, message) if renderer is not None else None


def register_error_handlers(app: Flask) -> None:
    """Turn every error into the documented JSON shape (HTML pages are handled by the web UI)."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        page = _html_error(app, error.status, error.code, error.message)
        if page is not None:
            return page
        return error_response(error.status, error.code, error.message, error.fields, error.retry_after)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = HTTP_STATUS_CODES.get(status, "http_error")
        page = _html_error(app, status, code, error.description or code)
        if page is not None:
            return page
        if _wants_html() and status in (404, 405):
            return error  # no web UI installed: werkzeug's own page
        return error_response(status, code, error.description or code)

    @app.errorhandler(SQLAlchemyError)
    def handle_database_error(error: SQLAlchemyError) -> Response:
        if not is_transient_database_error(error):
            return handle_unexpected(error)
        # An outage or a dropped connection is nobody's bad input: 503 and a retry, like ingestion
        # when Redis is down, never a 500. Only the type is logged (the text may quote values).
        app.logger.warning(
            "database_unavailable", extra={"error_type": type(error).__name__, "path": request.path}
        )
        return handle_api_error(Unavailable("The database is unreachable; retry later.", retry_after=5))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        # The message of an unexpected error may quote a payload: log only its type, never its text.
        app.logger.error("unhandled_error", extra={"error_type": type(error).__name__, "path": request.path})
        page = _html_error(app, 500, "internal_error", "Internal error.")
        return page if page is not None else error_response(500, "internal_error", "Internal error.")


def _wants_html() -> bool:
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")
